"""The unit of work against the real PostgreSQL: all or nothing, inbox, versioning, gap-free numbers."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from uuid import uuid4

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from schemas.form import RegistrationForm
from schemas.messages import Envelope
from tests.conftest import load_form
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.domain.machine import State
from workflow.domain.registration import Registration
from workflow.persistence.orm import HistoryRow, InboxRow, OutboxRow, RegistrationRow
from workflow.persistence.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

AT = datetime(2023, 9, 1, 10, tzinfo=PARIS)


def message(registration_id: str) -> Envelope:
    return Envelope(type="cmd.registration.submit", occurred_at=AT, registration_id=registration_id,
                    correlation_id=uuid4(), producer="test", payload={})


def count(sessions: sessionmaker[Session], model: type, **where: str) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(session.scalar(query) or 0)


def receive(deps: Deps, registration_id: str, msg: Envelope) -> UnitOfWork:
    uow = UnitOfWork(deps.sessions, deps.clock, actor="validation", message=msg)
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    with uow:
        uow.registrations.add(Registration.receive(registration_id, form, at=AT, actor="validation",
                                                   cause=msg.event_id))
        uow.commit()
    return uow


def test_state_history_inbox_and_outbox_commit_together(deps: Deps, sessions: sessionmaker[Session]) -> None:
    msg = message("r-1")
    receive(deps, "r-1", msg)
    with sessions() as session:
        row = session.get(RegistrationRow, "r-1")
        assert row is not None
        assert (row.state, row.version, row.client_is_public) == (State.RECEIVED, 1, True)
        outbox = session.scalars(select(OutboxRow)).one()
        envelope = Envelope.model_validate_json(outbox.body)
    assert (envelope.type, envelope.causation_id, envelope.correlation_id) == (
        "registration.received", msg.event_id, msg.correlation_id)
    assert count(sessions, HistoryRow, registration_id="r-1") == 1
    assert count(sessions, InboxRow, message_id=str(msg.event_id)) == 1


def test_a_handler_that_raises_half_way_leaves_nothing(deps: Deps, sessions: sessionmaker[Session]) -> None:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    def handler_that_crashes() -> None:
        with UnitOfWork(deps.sessions, deps.clock, actor="validation", message=message("r-2")) as uow:
            uow.registrations.add(Registration.receive("r-2", form, at=AT, actor="v", cause=None))
            uow.session.flush()
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        handler_that_crashes()
    assert count(sessions, RegistrationRow) == 0
    assert count(sessions, OutboxRow) == 0
    assert count(sessions, InboxRow) == 0


def test_a_handled_message_is_recognised_on_redelivery(deps: Deps) -> None:
    msg = message("r-3")
    receive(deps, "r-3", msg)
    with UnitOfWork(deps.sessions, deps.clock, actor="validation", message=msg) as uow:
        assert uow.already_handled()
    with UnitOfWork(deps.sessions, deps.clock, actor="invoicing", message=msg) as uow:
        assert not uow.already_handled()  # the inbox is per consumer


def test_two_concurrent_updates_of_one_registration_cannot_both_win(deps: Deps) -> None:
    receive(deps, "r-4", message("r-4"))
    first = UnitOfWork(deps.sessions, deps.clock, actor="a", message=message("r-4"))
    second = UnitOfWork(deps.sessions, deps.clock, actor="b", message=message("r-4"))
    with first, second:
        one, two = first.registrations.get("r-4"), second.registrations.get("r-4")
        assert one is not None
        assert two is not None
        one.reject([], at=AT, actor="a", cause=None)
        first.commit()
        two.reject([], at=AT, actor="b", cause=None)
        with pytest.raises(StaleDataError):
            second.commit()


def test_invoice_numbers_have_no_gap_when_a_transaction_rolls_back(deps: Deps) -> None:
    with UnitOfWork(deps.sessions, deps.clock, actor="invoicing") as uow:
        assert uow.invoices.next_number(2023) == 1
        uow.commit()
    with UnitOfWork(deps.sessions, deps.clock, actor="invoicing") as uow:
        assert uow.invoices.next_number(2023) == 2
        # no commit: the process "dies" here and the number is given back
    with UnitOfWork(deps.sessions, deps.clock, actor="invoicing") as uow:
        assert uow.invoices.next_number(2023) == 2
        assert uow.invoices.next_number(2024) == 1  # one series per year
        uow.commit()


def test_two_invoicers_starting_a_year_at_once_take_one_number_each_the_second_after_the_first_commits(
        deps: Deps) -> None:
    """The year's counter is created by whichever comes first; the other waits on its row lock, then increments."""
    taken: list[int] = []
    with UnitOfWork(deps.sessions, deps.clock, actor="invoicing") as first:
        assert first.invoices.next_number(2031) == 1

        def second_invoicer() -> None:
            with UnitOfWork(deps.sessions, deps.clock, actor="invoicing") as second:
                taken.append(second.invoices.next_number(2031))
                second.commit()

        thread = threading.Thread(target=second_invoicer)
        thread.start()
        deadline = time.monotonic() + 30
        with deps.sessions() as watcher:  # the condition: the second invoicer's statement waits on a lock
            while not watcher.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND query LIKE 'INSERT INTO invoice_counters%'")):
                assert time.monotonic() < deadline, "the second invoicer never waited on the counter"
                watcher.rollback()
        assert taken == []
        first.commit()
    thread.join(timeout=30)
    assert taken == [2]


def test_the_migrations_build_exactly_the_schema_the_models_describe(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from workflow.persistence.orm import Base

    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_an_issued_invoice_cannot_be_modified(deps: Deps, sessions: sessionmaker[Session]) -> None:
    from decimal import Decimal

    from workflow.persistence.orm import InvoiceRow

    receive(deps, "r-9", message("r-9"))
    with sessions() as session:
        session.add(InvoiceRow(number="2023-000001", year=2023, sequence=1, registration_id="r-9",
                               issued_on=AT.date(), lines=[], quantity=2, unit_price=Decimal("595.00"),
                               total=Decimal("1190.00"), created_at=AT))
        session.commit()
        invoice = session.scalars(select(InvoiceRow)).one()
        invoice.total = Decimal("1.00")
        with pytest.raises(ValueError, match="InvoiceRow 2023-000001 is issued and cannot be modified"):
            session.commit()


def test_a_registration_only_read_is_not_written_back_so_readers_never_collide_with_writers(
        deps: Deps, sessions: sessionmaker[Session], clock: FileClock) -> None:
    receive(deps, "r-1", message("r-1"))
    clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))  # time moved: a write-back would touch updated_at
    reader = UnitOfWork(deps.sessions, deps.clock, actor="notifications", message=message("r-1"))
    with reader:
        assert reader.registrations.get("r-1") is not None
        # meanwhile a writer (say payments holding the session) changes the registration
        with UnitOfWork(deps.sessions, deps.clock, actor="payments", message=message("r-1")) as writer:
            registration = writer.registrations.get("r-1", for_update=True)
            assert registration is not None
            registration.reject([], at=AT, actor="payments", cause=None)
            writer.commit()
        reader.commit()  # the reader only read: it commits its inbox row, no stale update
    with sessions() as session:
        row = session.get(RegistrationRow, "r-1")
        assert row is not None
        assert (row.state, row.version) == (State.REJECTED, 2)


def test_a_second_copy_handled_at_the_same_moment_waits_for_the_first_then_sees_it_handled(deps: Deps) -> None:
    """Two replicas holding two copies of one message: the second waits on the first one's inbox claim."""
    import threading
    import time

    msg = message("r-9")
    answers: list[bool] = []

    def second_copy() -> None:
        with UnitOfWork(deps.sessions, deps.clock, actor="validation", message=msg) as second:
            answers.append(second.already_handled())

    with UnitOfWork(deps.sessions, deps.clock, actor="validation", message=msg) as first:
        assert not first.already_handled()  # claimed
        replica = threading.Thread(target=second_copy)
        replica.start()
        time.sleep(0.5)
        assert replica.is_alive(), "the second copy waits while the first is in flight"
        first.commit()
    replica.join(10)
    assert answers == [True]
    assert count(deps.sessions, InboxRow) == 1


def test_a_claim_is_given_back_when_the_first_copy_fails(deps: Deps) -> None:
    msg = message("r-10")
    with UnitOfWork(deps.sessions, deps.clock, actor="validation", message=msg) as first:
        assert not first.already_handled()
    # rolled back: the next delivery handles it
    with UnitOfWork(deps.sessions, deps.clock, actor="validation", message=msg) as again:
        assert not again.already_handled()


def test_the_repositories_answer_the_questions_the_handlers_ask(deps: Deps) -> None:
    """What the in-memory fakes of tests/unit/fakes.py mimic, asked of PostgreSQL."""
    from datetime import date, timedelta
    from decimal import Decimal

    from workflow.domain.access_links import ACTIVE, REVOKED
    from workflow.domain.receivables import CREDITED, OPEN
    from workflow.domain.reminders import SCHEDULED, SENT
    from workflow.persistence.orm import (
        CreditNoteRow,
        InvoiceRow,
        ParticipantAccessRow,
        PaymentRow,
        ReceivableRow,
        ReminderRow,
        SessionRecordRow,
    )

    receive(deps, "r-1", message("r-1"))

    def invoice(number: str) -> InvoiceRow:
        return InvoiceRow(number=number, year=2023, sequence=int(number[-6:]), registration_id="r-1",
                          issued_on=AT.date(), lines=[], quantity=2, unit_price=Decimal("595.00"),
                          total=Decimal("1190.00"), due_on=None, created_at=AT)

    def receivable(number: str, due_on: date, status: str = OPEN, period: str | None = None) -> ReceivableRow:
        return ReceivableRow(invoice_number=number, registration_id="r-1", client_name="x", client_category="state",
                             total=Decimal("1190.00"), paid=Decimal("0.00"), sent_on=AT.date(), received_on=None,
                             service_fait_on=None, due_on=due_on, status=status, overdue_notified_period=period,
                             updated_at=AT)

    def access(access_id: str, email: str, status: str) -> ParticipantAccessRow:
        return ParticipantAccessRow(id=access_id, registration_id="r-1", session_id="s", email=email, civilite=None,
                                    first_name=None, last_name=None, token_hash=access_id * 2, status=status,
                                    sequence=0, created_at=AT, revoked_at=None, revoked_reason=None)

    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        for number in ("2023-000001", "2023-000003", "2023-000004", "2023-000005"):
            uow.invoices.add(invoice(number))
        uow.commit()
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:  # rows naming an invoice: once it is written
        uow.credit_notes.add(CreditNoteRow(
            number="2023-000002", year=2023, sequence=2, invoice_number="2023-000001", registration_id="r-1",
            issued_on=AT.date(), total=Decimal("1190.00"), lines=[], reason="r", created_at=AT))
        uow.receivables.add(receivable("2023-000003", date(2023, 10, 2)))
        uow.receivables.add(receivable("2023-000004", date(2023, 10, 1), status=CREDITED))
        uow.receivables.add(receivable("2023-000005", date(2023, 9, 30), period="2023-11"))
        uow.payments.add(PaymentRow(payment_id="P-1", invoice_number=None, matched=False, amount=Decimal("1.00"),
                                    received_on=AT.date(), payer=None, means="other", anomalies=[], recorded_at=AT,
                                    recorded_by=None))
        uow.session_records.add(SessionRecordRow(session_id="s", held_on=AT.date(), absent_emails=[], recorded_at=AT))
        uow.accesses.add(access("b" * 20, "b@x.fr", ACTIVE))
        uow.accesses.add(access("a" * 20, "a@x.fr", ACTIVE))
        uow.accesses.add(access("c" * 20, "c@x.fr", REVOKED))
        for offset, status in ((180, SCHEDULED), (15, SCHEDULED), (60, SENT)):
            uow.reminders.add(ReminderRow(registration_id="r-1", session_id="s", offset_minutes=offset,
                                          due_at=AT - timedelta(minutes=offset), status=status, reason=None,
                                          done_at=None))
        uow.commit()
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        current = uow.invoices.current_of("r-1")
        assert current is not None
        assert current.number == "2023-000005"
        found = uow.invoices.get("2023-000003")
        assert found is not None
        assert found.total == Decimal("1190.00")
        assert uow.invoices.get("2023-999999") is None
        assert uow.credit_notes.is_credited("2023-000001")
        assert not uow.credit_notes.is_credited("2023-000003")
        assert uow.credit_notes.last_credited_invoice("r-1") == "2023-000001"
        assert uow.credit_notes.last_credited_invoice("r-2") is None
        assert [r.invoice_number for r in uow.receivables.uncredited_of("r-1")] == ["2023-000003", "2023-000005"]
        assert [r.invoice_number for r in uow.receivables.overdue(date(2023, 11, 14), "2023-11")] == ["2023-000003"]
        assert [r.invoice_number for r in uow.receivables.overdue(date(2023, 12, 1), "2023-12")] == [
            "2023-000005", "2023-000003"]
        assert (uow.payments.is_recorded("P-1"), uow.payments.is_recorded("P-2")) == (True, False)
        assert (uow.session_records.held_on("s"), uow.session_records.held_on("t")) == (AT.date(), None)
        assert [a.email for a in uow.accesses.active_of("r-1")] == ["a@x.fr", "b@x.fr"]
        assert uow.reminders.offsets_planned("r-1", "s") == {180, 15, 60}
        assert sorted(r.offset_minutes for r in uow.reminders.scheduled_of("r-1")) == [15, 180]
        assert [r.offset_minutes for r in uow.reminders.due(AT - timedelta(minutes=16), 10)] == [180]
        assert [r.offset_minutes for r in uow.reminders.due(AT, 1)] == [180]
