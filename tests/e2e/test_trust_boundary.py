"""The trust boundary, against the real processes: a publisher with full broker rights forges events and
poison messages; each is parked with its reason, nothing acts on it, and the valid work behind goes on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from producers.commands import CommandClient
from schemas.form import Participant, RegistrationForm
from schemas.messages import Envelope
from tests.conftest import RunningConsumers, dead_letters, load_form, wait_until
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps
from workflow.domain.access_links import ACTIVE
from workflow.messaging.broker import Publisher, properties_for
from workflow.persistence.decisions import wait_for_decision
from workflow.persistence.orm import EmailRow, InvoiceRow, ParticipantAccessRow, ReceivableRow
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.e2e
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)

CLAIRE = "claire.durand@valdemarne.fr"


def forge(settings: Settings, deps: Deps, message_type: str, registration_id: str | None, payload: dict[str, Any],
          *, event_id: UUID | None = None, occurred_at: str | None = None,
          headers: dict[str, Any] | None = None) -> None:
    """Publish with the broker rights of the test (guest: everything), as a leaked password would."""
    envelope = Envelope(event_id=event_id or uuid4(), type=message_type, occurred_at=datetime.now(UTC),
                        registration_id=registration_id, correlation_id=uuid4(), producer="intake", payload=payload)
    body = envelope.model_dump_json()
    if occurred_at is not None:
        body = json.dumps({**json.loads(body), "occurred_at": occurred_at})
    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish_raw(message_type, body.encode(), properties_for(envelope, headers), mandatory=True)


def parked(settings: Settings, consumer: str) -> list[str]:
    return [str((p.headers or {}).get("x-regflow-error")) for p, _ in dead_letters(settings, consumer)]


def state(deps: Deps, registration_id: str) -> str | None:
    timeline = registration_timeline(deps.sessions, registration_id)
    return timeline["state"] if timeline else None


def test_forged_and_poison_messages_are_parked_and_the_work_behind_goes_on(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink) -> None:
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("aide-domicile-association-unsigned.json")),
                           "unsigned-1")
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "signed-1")
    wait_until(lambda: state(deps, "unsigned-1") == "received", "the unsigned form")
    wait_until(lambda: state(deps, "signed-1") == "invoiced", "the signed form invoiced")
    wait_until(lambda: any(m["X-Regflow-Kind"] == "invoice" for m in smtp.received), "the real invoice e-mail")
    with deps.sessions() as session:
        invoice = session.scalars(select(InvoiceRow).where(InvoiceRow.registration_id == "signed-1")).one()
    sent_before = len(smtp.received)

    # 1. an event that names a file: refused by its schema (no event carries a path)...
    forge(settings, deps, "invoice.issued", "signed-1", {
        "invoice_number": invoice.number, "issued_on": "2023-09-01", "total": "1190.00",
        "document": "/proc/self/environ"})
    # ...and a well-formed one that regflow never published
    forge(settings, deps, "invoice.issued", "signed-1", {
        "invoice_number": invoice.number, "issued_on": "2023-09-01", "total": "1190.00"})
    # 2. a confirmation for an unsigned form, a cancellation and a credit note nobody issued
    forge(settings, deps, "registration.confirmed", "unsigned-1", {
        "from_state": "signed", "to_state": "confirmed", "trigger": "confirm"})
    forge(settings, deps, "registration.cancelled", "signed-1", {
        "from_state": "invoiced", "to_state": "cancelled", "trigger": "cancel_session", "reason": "forged"})
    forge(settings, deps, "credit_note.issued", "signed-1", {
        "credit_note_number": "2023-000099", "invoice_number": invoice.number, "issued_on": "2023-09-01",
        "total": "-1190.00", "reason": "forged"})
    # 3. poison: a time that overflows UTC, an attempt header that is not a number
    forge(settings, deps, "cmd.registration.submit", "poison-1", {"form": {}},
          occurred_at="0001-01-01T00:00:00+14:00")
    # 4. an id already handled, with another body
    reused = uuid4()
    forge(settings, deps, "cmd.registration.submit", "reused-1",
          {"form": load_form("aide-domicile-association-unsigned.json")}, event_id=reused)
    wait_until(lambda: state(deps, "reused-1") == "received", "the first message of the reused id")
    forge(settings, deps, "cmd.registration.submit", "reused-2",
          {"form": load_form("aide-domicile-association-unsigned.json")}, event_id=reused)
    # 5. the valid work behind them all, one with a header that is not a number
    forge(settings, deps, "cmd.registration.submit", "behind-1",
          {"form": load_form("aide-domicile-association-unsigned.json")}, headers={"x-regflow-attempt": "abc"})
    wait_until(lambda: state(deps, "behind-1") == "received", "the valid form behind the poison")

    notifications = wait_until(lambda: (found := parked(settings, "notifications")) and len(found) >= 5 and found,
                               "the forged events parked by notifications")
    assert sum("payload breaks the invoice.issued schema" in e and "document" in e for e in notifications) == 1
    assert sum("InconsistentMessageError" in e and "not in the outbox" in e for e in notifications) == 4
    payments = wait_until(lambda: (found := parked(settings, "payments")) and len(found) >= 3 and found,
                          "the forged events parked by payments")
    assert sum("not in the outbox" in e for e in payments) == 2  # invoice.issued, credit_note.issued
    validation = wait_until(lambda: (found := parked(settings, "validation")) and len(found) >= 2 and found,
                            "the poison and the conflict parked by validation")
    assert any("occurred_at cannot be expressed in UTC" in e for e in validation)
    assert any("MessageConflictError" in e and "another body" in e for e in validation)

    assert state(deps, "reused-2") is None
    assert state(deps, "unsigned-1") == "received"
    assert state(deps, "signed-1") == "invoiced"
    with deps.sessions() as session:
        accesses = session.scalars(select(ParticipantAccessRow)).all()
        receivable = session.get(ReceivableRow, invoice.number)
        emails = session.scalars(select(EmailRow.kind)).all()
    assert {a.registration_id for a in accesses} == {"signed-1"}, "no invitation for the unsigned form"
    assert {a.status for a in accesses} == {ACTIVE}, "no link revoked by the forged cancellation"
    assert receivable is not None
    assert receivable.status == "open", "no credit by the forged credit note"
    assert "session_cancelled" not in emails
    assert all(b"environ" not in part.get_payload(decode=True) for m in smtp.received[sent_before:]
               for part in m.walk() if not part.is_multipart())
    assert all(p.poll() is None for p in consumers.processes.values()), "every process still runs"


def test_a_replacement_breaking_the_contract_is_refused_and_the_link_stays(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "rep-1")
        wait_until(lambda: state(deps, "rep-1") == "invoiced", "invoiced")
        sent = client.replace_participant("rep-1", CLAIRE, Participant(
            civilite="Mme", first_name="A" * 5000, last_name="ROY", email="ines.roy@valdemarne.fr"),
            requested_by="support")
        unknown = client.hold_session("no-such-session", date(2023, 9, 15), requested_by="ops")
    decision = wait_for_decision(deps.sessions, str(sent.event_id), 30)
    assert decision is not None
    assert decision.outcome == "refused"
    assert "field_length" not in (decision.reason_fr or "")
    assert "participants[0].first_name compte 5000 caractères, pour 100 au plus" in (decision.reason_fr or "")
    with deps.sessions() as session:
        claire = session.scalars(select(ParticipantAccessRow).where(ParticipantAccessRow.email == CLAIRE)).one()
    assert claire.status == ACTIVE
    refused = wait_for_decision(deps.sessions, str(unknown.event_id), 30)
    assert refused is not None
    assert (refused.outcome, refused.command_type) == ("refused", "cmd.session.hold")
    assert "unknown session no-such-session" in (refused.reason_en or "")
    assert parked(settings, "payments") == []
    assert parked(settings, "validation") == []
