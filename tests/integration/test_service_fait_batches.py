"""Service fait of a large session in batches, against the real PostgreSQL, through the runner (`handle_message`:
inbox, outbox check, one unit of work per message): the command applies the first batch and publishes one
`session.held_batch` per further batch; each is applied once, even redelivered or rolled back half-way."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from consumers import payments
from consumers.runner import handle_message
from schemas.form import RegistrationForm
from schemas.messages import Envelope, HoldSession
from tests.conftest import load_form
from tests.integration.test_deposits import outbox
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.domain.machine import State
from workflow.domain.registration import Registration
from workflow.persistence.orm import HistoryRow, InboxRow, InvoiceRow, ReceivableRow, RegistrationRow
from workflow.persistence.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

HANDICAP = "cpom-handicap-2023-09-15"  # the session of tests/forms/valid/handicap-departement.json
HELD_ON = date(2023, 9, 15)
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)
REGISTRATIONS = [f"r-{n}" for n in range(1, 6)]


@pytest.fixture
def office(deps: Deps, clock: FileClock) -> Deps:
    """Five invoiced registrations of one session, each with its open receivable; batches of two; the evening
    the session was held."""
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    assert form.session_id == HANDICAP
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        for registration_id in REGISTRATIONS:
            uow.registrations.add(Registration(id=registration_id, state=State.INVOICED, form=form))
        uow.commit()
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        for sequence, registration_id in enumerate(REGISTRATIONS, start=1):
            number = f"2023-{sequence:06d}"
            uow.session.add(InvoiceRow(
                number=number, year=2023, sequence=sequence, registration_id=registration_id,
                issued_on=date(2023, 9, 1), lines=[], quantity=2, unit_price=Decimal("595.00"),
                total=Decimal("1190.00"), due_on=date(2023, 10, 15), document_path=None, created_at=deps.clock.now()))
            uow.session.add(ReceivableRow(
                invoice_number=number, registration_id=registration_id, client_name="Val-de-Marne",
                client_category="local_authority", total=Decimal("1190.00"), paid=Decimal("0.00"),
                sent_on=date(2023, 9, 1), received_on=None, service_fait_on=None, due_on=date(2023, 10, 15),
                status="open", updated_at=deps.clock.now()))
        uow.commit()
    clock.set(EVENING)
    return dataclasses.replace(deps, settings=deps.settings.model_copy(update={"hold_batch_size": 2}))


def hold(deps: Deps) -> bytes:
    return Envelope(type="cmd.session.hold", occurred_at=deps.clock.now(), correlation_id=uuid4(), producer="test",
                    payload=HoldSession(session_id=HANDICAP, held_on=HELD_ON, requested_by="tom",
                                        reason="feuille perdue, attestation du formateur").model_dump(mode="json")
                    ).model_dump_json().encode()


def states(deps: Deps) -> dict[str, State]:
    with deps.sessions() as session:
        return {row.id: State(row.state) for row in session.scalars(select(RegistrationRow))}


def service_fait_entries(deps: Deps) -> dict[str, list[str | None]]:
    """Each registration's history rows of service fait, and the message each names as its cause."""
    with deps.sessions() as session:
        found: dict[str, list[str | None]] = {}
        for row in session.scalars(select(HistoryRow).where(HistoryRow.trigger == "hold_session")):
            found.setdefault(row.registration_id, []).append(row.cause_event_id)
        return found


def receivables(deps: Deps) -> dict[str, tuple[date | None, date]]:
    with deps.sessions() as session:
        return {r.registration_id: (r.service_fait_on, r.due_on) for r in session.scalars(select(ReceivableRow))}


def test_five_registrations_in_batches_of_two_are_three_transactions_each_applied_once(office: Deps) -> None:
    command = hold(office)
    assert handle_message(payments.APP, office, command).kind == "ack"

    assert states(office) == {"r-1": State.SESSION_HELD, "r-2": State.SESSION_HELD, "r-3": State.INVOICED,
                              "r-4": State.INVOICED, "r-5": State.INVOICED}, "the command applies batch 0"
    batches = outbox(office, "session.held_batch")
    payloads = [json.loads(body)["payload"] for body in batches]
    assert [(p["batch"], p["batches"], p["registration_ids"]) for p in payloads] == [
        (1, 2, ["r-3", "r-4"]), (2, 2, ["r-5"])]
    assert len(outbox(office, "session.held")) == 1

    for body in batches:
        assert handle_message(payments.APP, office, body).kind == "ack"
    for body in [*batches, command]:  # redelivered, every one of them
        assert handle_message(payments.APP, office, body).kind == "ack"

    assert states(office) == dict.fromkeys(REGISTRATIONS, State.SESSION_HELD)
    command_id = json.loads(command)["event_id"]
    assert service_fait_entries(office) == {r: [command_id] for r in REGISTRATIONS}, "once each, caused by the command"
    # the public buyer's deadline now runs from service fait (R2192-13): 15/09 + 30 days
    assert receivables(office) == dict.fromkeys(REGISTRATIONS, (HELD_ON, date(2023, 10, 15)))
    assert len(outbox(office, "registration.session_held")) == 5
    assert len(outbox(office, "session.held_batch")) == 2, "a redelivered command publishes no batch again"
    with office.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboxRow).where(
            InboxRow.message_type == "session.held_batch")) == 2


def test_a_batch_rolled_back_half_way_leaves_nothing_and_its_redelivery_applies_it(
        office: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    assert handle_message(payments.APP, office, hold(office)).kind == "ack"
    first, second = outbox(office, "session.held_batch")
    real_commit = UnitOfWork.commit
    failures = iter([RuntimeError("killed before commit")])

    def commit_fails_once(uow: UnitOfWork, *, mark_handled: bool = True) -> None:
        if uow.message is not None and uow.message.type == "session.held_batch" and (error := next(failures, None)):
            raise error
        real_commit(uow, mark_handled=mark_handled)

    monkeypatch.setattr(UnitOfWork, "commit", commit_fails_once)
    assert handle_message(payments.APP, office, first).kind == "retry"
    assert states(office)["r-3"] is State.INVOICED, "nothing of the batch was kept"
    assert receivables(office)["r-4"][0] is None

    assert handle_message(payments.APP, office, first).kind == "ack"
    assert handle_message(payments.APP, office, second).kind == "ack"
    assert states(office) == dict.fromkeys(REGISTRATIONS, State.SESSION_HELD)
    assert {r: len(causes) for r, causes in service_fait_entries(office).items()} == dict.fromkeys(REGISTRATIONS, 1)
