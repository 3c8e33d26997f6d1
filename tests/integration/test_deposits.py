"""Deposits after commit, once, against the real PostgreSQL: the invoicing consumer's messages handled in-process
as the runner handles them (`handle_message`: inbox, outbox check, unit of work, failure classification), the
Chorus Pro file drop behind a spy that counts what the platform was sent."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from consumers import invoicing, notifications, validation
from consumers.runner import handle_message
from schemas.form import RegistrationForm
from schemas.messages import Envelope, SubmitRegistration
from tests.conftest import load_form
from workflow.adapters.document_store import ChorusDeposit, FileDropChorusPro
from workflow.bootstrap import Deps
from workflow.ops import einvoicing
from workflow.persistence.orm import DepositRow, DocumentFileRow, EmailRow, InvoiceRow, OutboxRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

pytestmark = pytest.mark.integration


class CountingDrop(FileDropChorusPro):
    """The real file drop, counting the deposits it was sent (the platform's side of "once")."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.sent: list[str] = []

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        self.sent.append(deposit.invoice_number)
        return super().deposit(deposit, facturx_pdf)


@pytest.fixture
def office(deps: Deps, settings: Settings) -> tuple[Deps, CountingDrop]:
    drop = CountingDrop(settings.chorus_drop_dir)
    return dataclasses.replace(deps, chorus=drop), drop


def confirmed(deps: Deps, registration_id: str = "dep-94") -> bytes:
    """A public buyer's registration (the Val-de-Marne, signed): confirmed by the validation consumer; the body of
    its `registration.confirmed`, as the relay would publish it."""
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    body = Envelope(type="cmd.registration.submit", occurred_at=deps.clock.now(), registration_id=registration_id,
                    correlation_id="6f1c1d2e-0000-4000-8000-000000000094", producer="test",
                    payload=SubmitRegistration(form=form).model_dump(mode="json")).model_dump_json().encode()
    assert handle_message(validation.APP, deps, body).kind == "ack"
    [confirmation] = outbox(deps, "registration.confirmed")
    return confirmation


def outbox(deps: Deps, routing_key: str) -> list[bytes]:
    with deps.sessions() as session:
        return [b.encode() for b in session.scalars(
            select(OutboxRow.body).where(OutboxRow.routing_key == routing_key).order_by(OutboxRow.id))]


def count(deps: Deps, table: Any) -> int:
    with deps.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_an_invoice_transaction_rolled_back_leaves_no_file_and_no_deposit(
        office: tuple[Deps, CountingDrop], settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    deps, drop = office
    confirmation = confirmed(deps)
    real_commit = UnitOfWork.commit
    failures = iter([RuntimeError("the database answered an error at commit")])

    def commit_fails_once(uow: UnitOfWork, *, mark_handled: bool = True) -> None:
        if uow.actor == invoicing.ACTOR and (error := next(failures, None)):
            raise error
        real_commit(uow, mark_handled=mark_handled)

    monkeypatch.setattr(UnitOfWork, "commit", commit_fails_once)

    outcome = handle_message(invoicing.APP, deps, confirmation)

    assert outcome.kind == "retry", outcome.reason
    assert (count(deps, InvoiceRow), count(deps, DocumentFileRow), count(deps, DepositRow)) == (0, 0, 0)
    assert outbox(deps, "invoice.issued") == []
    assert files(settings.documents_dir) == []
    assert files(settings.chorus_drop_dir) == []
    assert drop.sent == []

    assert handle_message(invoicing.APP, deps, confirmation).kind == "ack"  # the retry
    assert (count(deps, InvoiceRow), count(deps, DocumentFileRow), count(deps, DepositRow)) == (1, 1, 1)
    assert files(settings.documents_dir) == [], "still nothing outside the database until the event comes back"
    assert drop.sent == []


def test_a_retried_or_redelivered_invoice_issued_deposits_once_even_after_a_failure_between_deposit_and_commit(
        office: tuple[Deps, CountingDrop], settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    deps, drop = office
    assert handle_message(invoicing.APP, deps, confirmed(deps)).kind == "ack"
    [issued] = outbox(deps, "invoice.issued")
    failures = iter([RuntimeError("killed after the platform's answer")])

    def dies_once(name: str) -> None:
        if name == "invoicing.after_deposit_before_commit" and (error := next(failures, None)):
            raise error

    monkeypatch.setattr(einvoicing, "crash_point", dies_once)  # where the deposit is made (send_deposit)

    first = handle_message(invoicing.APP, deps, issued)

    assert first.kind == "retry", first.reason
    assert drop.sent == ["2023-000001"], "the platform accepted it"
    with deps.sessions() as session:
        pending = session.get(DepositRow, "2023-000001")
        assert pending is not None
        assert (pending.status, pending.reference) == ("pending", None), "the acceptance was rolled back"
    assert outbox(deps, "invoice.deposited") == []

    assert handle_message(invoicing.APP, deps, issued).kind == "ack"  # the retry
    assert handle_message(invoicing.APP, deps, issued).kind == "ack"  # a redelivery: the inbox's duplicate

    assert drop.sent == ["2023-000001"], "deposited once"
    with deps.sessions() as session:
        deposit = session.get(DepositRow, "2023-000001")
        kept = session.get(DocumentFileRow, "facture-2023-000001.pdf")
        assert deposit is not None
        assert kept is not None
        assert deposit.status == "accepted"
        assert deposit.reference is not None
        assert deposit.reference.startswith("file-drop:2023-000001:")
        assert kept.stored_at is not None
        pdf = kept.content
    [deposited] = outbox(deps, "invoice.deposited")
    assert json.loads(deposited)["payload"]["reference"] == deposit.reference
    assert (settings.documents_dir / "facture-2023-000001.pdf").read_bytes() == pdf
    assert (settings.chorus_drop_dir / "2023-000001.pdf").read_bytes() == pdf


def test_the_invoice_e_mail_attaches_the_pdf_kept_in_the_database_before_the_store_has_its_copy(
        office: tuple[Deps, CountingDrop], settings: Settings) -> None:
    deps, _ = office
    assert handle_message(invoicing.APP, deps, confirmed(deps)).kind == "ack"
    [issued] = outbox(deps, "invoice.issued")

    assert handle_message(notifications.APP, deps, issued).kind == "ack"

    assert files(settings.documents_dir) == []
    with deps.sessions() as session:
        row = session.scalars(select(EmailRow).where(EmailRow.kind == "invoice")).one()
        message = deps.mail.message(session, row, deps.clock.now())
        kept = session.get(DocumentFileRow, "facture-2023-000001.pdf")
        assert kept is not None
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "facture-2023-000001.pdf"
    assert attachment.get_content() == kept.content
