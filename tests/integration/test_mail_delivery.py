"""E-mail delivery over a real SMTP server (aiosmtpd) and the real PostgreSQL: STARTTLS and a password,
one send per e-mail, backoff on temporary failures, failures reported and retried by operations."""

from __future__ import annotations

import json
import ssl
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import SecretStr
from sqlalchemy import select

from workflow.adapters.clocks import FileClock
from workflow.adapters.email_message import Rendered, build_message
from workflow.adapters.mail_sink import MailSink
from workflow.adapters.mailroom import FAILED, PENDING, SENT, Mailroom, deliver_due, retry_failed
from workflow.adapters.smtp import MailDeliveryError, SmtpMailer
from workflow.bootstrap import Deps
from workflow.persistence.orm import EmailRow, OutboxRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

pytestmark = pytest.mark.integration

REJECTION = {"gestionnaire_name": "Sophie MARTIN", "registration_id": "r-1",
             "errors": [{"field": "client.siret", "message": "Le SIRET 123 est invalide."}]}


def queue(deps: Deps, *, recipient: str = "formation@valdemarne.fr", occurrence: str = "1",
          kind: str = "rejection", context: dict[str, Any] | None = None,
          attachments: list[dict[str, Any]] | None = None) -> bool:
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        queued = deps.mail.enqueue(uow, registration_id="r-1", kind=kind, recipient=recipient, occurrence=occurrence,
                                   context=context or REJECTION, attachments=attachments)
        uow.commit()
    return queued


def rows(deps: Deps) -> list[EmailRow]:
    with deps.sessions() as session:
        return list(session.scalars(select(EmailRow).order_by(EmailRow.id)))


def published(deps: Deps, routing_key: str) -> list[dict[str, Any]]:
    with deps.sessions() as session:
        bodies = session.scalars(select(OutboxRow.body).where(OutboxRow.routing_key == routing_key)).all()
    return [json.loads(b)["payload"] for b in bodies]


def test_an_e_mail_is_queued_once_sent_once_and_reads_as_the_template_says(deps: Deps, smtp: MailSink) -> None:
    assert queue(deps)
    assert not queue(deps), "the same idempotency key queues nothing more"
    report = deliver_due(deps.sessions, deps.clock, deps.mail)
    again = deliver_due(deps.sessions, deps.clock, deps.mail)

    assert len(report.sent) == 1
    assert again.sent == []
    [message] = smtp.received
    [row] = rows(deps)
    assert message["To"] == "formation@valdemarne.fr"
    assert message["Subject"] == "Votre formulaire d'inscription est à corriger"
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("IPP Formation - Institut de la Performance Publique",
                                                       "ipp@ipp.fr")
    assert message["Message-ID"] == row.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "client.siret : Le SIRET 123 est invalide." in text.get_content()
    assert "<code>client.siret</code>" in html.get_content()
    assert (row.status, row.attempts, row.last_error) == (SENT, 1, None)
    assert published(deps, "email.sent") == [{
        "kind": "rejection", "recipient": "formation@valdemarne.fr", "subject": message["Subject"],
        "message_id": row.message_id, "attempts": 1}]


INVOICE_CONTEXT = {
    "gestionnaire_name": "S", "client_name": "D", "invoice_number": "2023-000001", "issued_on": "1er septembre",
    "total": "1 190,00 €", "is_agreement": True, "payment_terms": "Payable à réception.", "replaces": None,
    "session": {"title": "T", "date": "d", "starts": "9h30", "ends": "17h00", "parts": []}}


def test_the_invoice_e_mail_carries_the_pdf_from_the_document_store(deps: Deps, smtp: MailSink) -> None:
    deps.documents.write("facture-2023-000001.pdf", b"%PDF-1.7 the invoice")
    queue(deps, kind="invoice", occurrence="2023-000001", context=INVOICE_CONTEXT,
          attachments=[{"type": "invoice", "number": "2023-000001"}])
    deliver_due(deps.sessions, deps.clock, deps.mail)
    [message] = smtp.received
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "facture-2023-000001.pdf"
    assert attachment.get_content() == b"%PDF-1.7 the invoice"


@pytest.mark.parametrize("spec", [
    {"type": "document", "path": "/proc/self/environ", "filename": "facture-2023-000001.pdf"},
    {"type": "document", "path": "/etc/passwd", "filename": "../../../../etc/passwd"},
    {"type": "invoice", "number": "../../etc/passwd"},
])
def test_no_attachment_spec_opens_a_file_outside_the_document_store(deps: Deps, smtp: MailSink,
                                                                    spec: dict[str, Any]) -> None:
    queue(deps, kind="invoice", occurrence="2023-000001", context=INVOICE_CONTEXT, attachments=[spec])
    deliver_due(deps.sessions, deps.clock, deps.mail)
    assert smtp.received == [], "no store document of that name: nothing is sent, least of all another file"
    [row] = rows(deps)
    assert "store" in (row.last_error or "")


def test_a_link_in_the_store_pointing_outside_is_refused(deps: Deps, smtp: MailSink) -> None:
    deps.documents.folder.mkdir(parents=True, exist_ok=True)
    (deps.documents.folder / "facture-2023-000001.pdf").symlink_to("/etc/passwd")
    queue(deps, kind="invoice", occurrence="2023-000001", context=INVOICE_CONTEXT,
          attachments=[{"type": "invoice", "number": "2023-000001"}])
    deliver_due(deps.sessions, deps.clock, deps.mail)
    assert smtp.received == []


def test_a_temporary_refusal_is_retried_after_the_backoff_delay_then_sent(
        deps: Deps, smtp: MailSink, clock: FileClock) -> None:
    queue(deps)
    smtp.handler.refuse_with = "451 4.3.0 Temporary failure, try later"
    first = deliver_due(deps.sessions, deps.clock, deps.mail)
    [row] = rows(deps)
    assert first.retried == [row.idempotency_key]
    assert (row.status, row.attempts) == (PENDING, 1)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=deps.settings.mail_retry_base_seconds)
    assert "451" in (row.last_error or "")

    smtp.handler.refuse_with = None
    assert deliver_due(deps.sessions, deps.clock, deps.mail).sent == [], "not before its retry time"
    clock.set(clock.now() + timedelta(seconds=61))
    assert deliver_due(deps.sessions, deps.clock, deps.mail).sent == [row.idempotency_key]
    assert len(smtp.received) == 1
    assert rows(deps)[0].attempts == 2


def test_a_permanent_refusal_is_reported_at_once_and_operations_can_send_it_again(deps: Deps, smtp: MailSink) -> None:
    queue(deps)
    smtp.handler.refuse_with = "550 5.1.1 Mailbox unknown"
    report = deliver_due(deps.sessions, deps.clock, deps.mail)
    [row] = rows(deps)
    assert report.failed == [row.idempotency_key]
    assert (row.status, row.attempts) == (FAILED, 1)
    [failed] = published(deps, "email.failed")
    assert failed["permanent"] is True
    assert "550" in failed["error"]

    smtp.handler.refuse_with = None
    assert retry_failed(deps.sessions, deps.clock) == 1
    assert deliver_due(deps.sessions, deps.clock, deps.mail).sent == [row.idempotency_key]
    assert rows(deps)[0].status == SENT


def test_a_server_down_is_retried_until_the_budget_is_spent_then_reported_never_dropped(
        deps: Deps, settings: Settings, clock: FileClock) -> None:
    closed = settings.model_copy(update={"smtp_port": _closed_port(), "mail_max_attempts": 3})
    mailroom = Mailroom(closed, deps.seller, deps.schedule)
    queue(deps)
    for _ in range(3):
        deliver_due(deps.sessions, deps.clock, mailroom)
        clock.set(clock.now() + timedelta(hours=7))
    [row] = rows(deps)
    assert (row.status, row.attempts) == (FAILED, 3)
    assert "Connection refused" in (row.last_error or "") or "Errno 111" in (row.last_error or "")
    [failed] = published(deps, "email.failed")
    assert failed["permanent"] is False


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- TLS and credentials -----------------------------------------------------------------------------------


def _message() -> EmailMessage:
    from datetime import UTC, datetime

    return build_message(Rendered("Essai", "texte", "<p>html</p>"), sender_name="IPP", sender_address="ipp@ipp.fr",
                         recipient="a@b.fr", message_id="<x@ipp.fr>", sent_at=datetime(2023, 9, 1, tzinfo=UTC),
                         attachments=[])


def server_tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A throw-away CA (written where the client can trust it) and a server certificate for 127.0.0.1."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


@pytest.fixture
def tls_sink(tmp_path: Path) -> tuple[MailSink, Path]:
    server_context, ca_file = server_tls(tmp_path)
    return MailSink(port=0, tls_context=server_context, credentials=("regflow", "s3cret")), ca_file


def test_starttls_with_a_password_delivers_and_the_server_certificate_is_checked(
        tls_sink: tuple[MailSink, Path]) -> None:
    sink, ca_file = tls_sink
    with sink:
        base = Settings(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="starttls",
                        smtp_username="regflow", smtp_password="s3cret", smtp_ca_file=ca_file)
        with SmtpMailer(base) as mailer:
            mailer.send(_message())
        assert [m["Subject"] for m in sink.received] == ["Essai"]

        with pytest.raises(MailDeliveryError, match="authentication failed") as wrong_password, \
                SmtpMailer(base.model_copy(update={"smtp_password": SecretStr("wrong")})) as mailer:
            mailer.send(_message())
        assert not wrong_password.value.permanent, "a misconfigured relay is fixed, then the e-mail goes"

        with pytest.raises(MailDeliveryError, match="CERTIFICATE_VERIFY_FAILED"), \
                SmtpMailer(base.model_copy(update={"smtp_ca_file": None})) as mailer:
            mailer.send(_message())

        with pytest.raises(MailDeliveryError, match="AUTH extension not supported"), \
                SmtpMailer(base.model_copy(update={"smtp_security": "none"})) as mailer:
            mailer.send(_message())
    assert len(sink.received) == 1


def test_implicit_tls_delivers_with_the_certificate_checked(tmp_path: Path) -> None:
    server_context, ca_file = server_tls(tmp_path)
    with MailSink(port=0, tls_context=server_context, implicit_tls=True) as sink:
        base = Settings(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="tls", smtp_ca_file=ca_file)
        with SmtpMailer(base) as mailer:
            mailer.send(_message())
        with pytest.raises(MailDeliveryError, match="CERTIFICATE_VERIFY_FAILED"), \
                SmtpMailer(base.model_copy(update={"smtp_ca_file": None})) as mailer:
            mailer.send(_message())
    assert [m["Subject"] for m in sink.received] == ["Essai"]


def test_operations_list_the_failed_e_mails_and_send_them_again_from_the_command_line(
        deps: Deps, settings: Settings, smtp: MailSink, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from regflow.cli import main

    for name, value in (("REGFLOW_DATABASE_URL", settings.database_url), ("REGFLOW_CLOCK", settings.clock),
                        ("REGFLOW_SMTP_PORT", str(smtp.port))):
        monkeypatch.setenv(name, value)
    queue(deps)
    smtp.handler.refuse_with = "550 5.1.1 Mailbox unknown"
    deliver_due(deps.sessions, deps.clock, deps.mail)
    assert main(["emails", "--status", "failed"]) == 0
    listed = capsys.readouterr().out
    assert "failed  1x  rejection            formation@valdemarne.fr" in listed
    assert "[SMTP 550: 5.1.1 Mailbox unknown]" in listed
    assert main(["emails", "retry", "--all-failed"]) == 0
    assert capsys.readouterr().out.startswith("1 failed e-mail(s) back to pending")
    smtp.handler.refuse_with = None
    deliver_due(deps.sessions, deps.clock, deps.mail)
    assert main(["emails", "--status", "sent"]) == 0
    assert "sent    1x  rejection" in capsys.readouterr().out


def test_an_e_mail_claimed_by_a_sender_that_died_is_left_alone_until_its_lease_expires(
        deps: Deps, smtp: MailSink) -> None:
    """Another replica must not send an e-mail that a live sender may be sending right now."""
    import time

    from workflow.adapters.mailroom import _claim_due

    queue(deps)
    claimed = _claim_due(deps.sessions, deps.clock, deps.mail, lease_seconds=1.5, count=5)  # then the sender dies
    assert len(claimed) == 1

    assert deliver_due(deps.sessions, deps.clock, deps.mail).sent == [], "leased: the others keep off"
    time.sleep(1.6)
    assert len(deliver_due(deps.sessions, deps.clock, deps.mail).sent) == 1, "lease expired: sent once"
    assert len(smtp.received) == 1
    [row] = rows(deps)
    assert (row.status, row.lease_until) == (SENT, None)


def test_a_batch_stopped_by_a_temporary_refusal_gives_its_other_e_mails_back_at_once(
        deps: Deps, smtp: MailSink) -> None:
    """E-mails are claimed in batches: the ones behind a refused one are released, not left leased for minutes."""
    for occurrence in ("1", "2", "3"):
        queue(deps, occurrence=occurrence)
    smtp.handler.refuse_with = "451 4.3.0 Temporary failure, try later"
    report = deliver_due(deps.sessions, deps.clock, deps.mail)
    first, *others = rows(deps)
    assert report.retried == [first.idempotency_key]
    assert report.sent == []
    assert [(row.status, row.attempts, row.lease_until) for row in others] == [(PENDING, 0, None)] * 2

    smtp.handler.refuse_with = None
    assert deliver_due(deps.sessions, deps.clock, deps.mail).sent == [row.idempotency_key for row in others]
    assert len(smtp.received) == 2


def test_a_batch_larger_than_one_claim_is_sent_whole_in_order_each_once(deps: Deps, smtp: MailSink) -> None:
    from workflow.adapters.mailroom import CLAIM_BATCH

    count = CLAIM_BATCH + 3
    for occurrence in range(count):
        queue(deps, occurrence=str(occurrence))
    report = deliver_due(deps.sessions, deps.clock, deps.mail, limit=count + 5)
    assert report.sent == [row.idempotency_key for row in rows(deps)]
    assert len(smtp.received) == count
    assert {(row.status, row.attempts, row.lease_until) for row in rows(deps)} == {(SENT, 1, None)}


def test_an_smtp_answer_recorded_again_after_a_commit_reported_lost_changes_nothing_and_tells_nobody_twice(
        deps: Deps, smtp: MailSink) -> None:
    """`_record` applies an answer again when the database connection drops at COMMIT: the commit may have landed."""
    from functools import partial

    from workflow.adapters.mailroom import _failed_attempt, _mark_sent, _record

    queue(deps)
    assert len(deliver_due(deps.sessions, deps.clock, deps.mail).sent) == 1
    [row] = rows(deps)
    assert _record(deps.sessions, deps.clock, row.id, _mark_sent) == SENT
    late_refusal = partial(_failed_attempt, error=MailDeliveryError("421 closing", permanent=False),
                           settings=deps.settings, clock=deps.clock)
    assert _record(deps.sessions, deps.clock, row.id, late_refusal) == SENT

    [after] = rows(deps)
    assert (after.status, after.attempts, after.last_error) == (SENT, 1, None)
    assert len(published(deps, "email.sent")) == 1
    assert published(deps, "email.failed") == []
    assert len(smtp.received) == 1
