"""The payments consumer's handlers, in memory: receivables, service fait, sessions cancelled or moved, payments,
overdue notices."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from consumers import payments
from schemas.messages import (
    CancelSession,
    CreditNoteIssued,
    HoldSession,
    InvoiceIssued,
    InvoiceSettled,
    MoveSession,
    PaymentReceived,
    RecordPayment,
    SessionHeld,
)
from tests.unit.fakes import Office, seed_form
from workflow.domain.clock import PARIS
from workflow.domain.errors import DependencyNotReadyError, SessionRefusedError
from workflow.domain.machine import State
from workflow.domain.receivables import CREDITED, OPEN, OVERPAID, SETTLED
from workflow.persistence.orm import InvoiceRow, ReceivableRow

HANDICAP = "cpom-handicap-2023-09-15"  # Friday 15 September 2023, 09:30 to 17:00, Paris
MARCH, OCTOBER = "cpom-aide-domicile-2024-03-21", "cpom-aide-domicile-2024-10-11"
HELD_EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)


@pytest.fixture
def office() -> Office:
    return Office(payments.ACTOR)


def invoiced(office: Office, registration_id: str = "r-1", number: str = "2023-000001", *,
             total: str = "1190.00", **form_changes: object) -> ReceivableRow:
    """A registration invoiced (by the invoicing consumer) and the `invoice.issued` it published, handled here."""
    form = seed_form("handicap-departement.json", **form_changes)
    office.given(registration_id, State.INVOICED, form)
    office.uow.invoices.add(InvoiceRow(
        number=number, year=2023, sequence=int(number[-6:]), registration_id=registration_id,
        issued_on=date(2023, 9, 1), lines=[], quantity=2, unit_price=Decimal(total) / 2, total=Decimal(total),
        due_on=None, document_path=None, created_at=office.clock.now()))
    office.handle(payments.handle_invoice_issued, "invoice.issued", InvoiceIssued(
        invoice_number=number, issued_on=date(2023, 9, 1), total=Decimal(total)), registration_id=registration_id)
    receivable = office.uow.receivables.get(number)
    assert receivable is not None
    return receivable


def hold(office: Office, held_on: date = date(2023, 9, 15), session_id: str = HANDICAP) -> None:
    office.handle(payments.handle_hold_session, "cmd.session.hold", HoldSession(
        session_id=session_id, held_on=held_on, requested_by="operations@regflow.test", reason="test: no sheet"))


def pay(office: Office, amount: str, payment_id: str = "P-1", invoice_number: str | None = "2023-000001",
        received_on: date = date(2023, 9, 20)) -> PaymentReceived:
    office.handle(payments.handle_record_payment, "cmd.payment.record", RecordPayment(
        payment_id=payment_id, invoice_number=invoice_number, amount=Decimal(amount), received_on=received_on,
        means="mandat_administratif", requested_by="finance@regflow.test"))
    received: PaymentReceived = office.uow.events("payment.received")[-1]
    return received


# --- receivables -----------------------------------------------------------------------------------------------


def test_an_issued_invoice_opens_its_receivable_due_30_days_after_the_planned_service_fait(office: Office) -> None:
    receivable = invoiced(office)

    assert (receivable.status, receivable.total, receivable.paid, receivable.sent_on, receivable.due_on) == (
        OPEN, Decimal("1190.00"), Decimal("0.00"), date(2023, 9, 1), date(2023, 10, 15))
    assert receivable.client_name == "Département du Val-de-Marne"


def test_a_private_clients_receivable_is_due_on_receipt(office: Office) -> None:
    client = {**seed_form("handicap-departement.json").client.model_dump(), "category": "association"}

    receivable = invoiced(office, client=client)

    assert receivable.due_on == date(2023, 9, 1)


def test_an_invoice_issued_event_redelivered_opens_one_receivable(office: Office) -> None:
    invoiced(office)

    office.handle(payments.handle_invoice_issued, "invoice.issued", InvoiceIssued(
        invoice_number="2023-000001", issued_on=date(2023, 9, 1), total=Decimal("1190.00")), registration_id="r-1")

    assert len(office.uow.receivables.rows) == 1


def test_an_invoice_of_a_registration_not_visible_yet_is_retried(office: Office) -> None:
    with pytest.raises(DependencyNotReadyError):
        office.handle(payments.handle_invoice_issued, "invoice.issued", InvoiceIssued(
            invoice_number="2023-000001", issued_on=date(2023, 9, 1), total=Decimal("1.00")), registration_id="later")


def test_a_credit_note_closes_the_receivable_as_credited(office: Office) -> None:
    invoiced(office)

    office.handle(payments.handle_credit_note_issued, "credit_note.issued", CreditNoteIssued(
        credit_note_number="2023-000002", invoice_number="2023-000001", issued_on=date(2023, 9, 1),
        total=Decimal("1190.00"), reason="session annulée"), registration_id="r-1")

    assert office.uow.receivables.rows["2023-000001"].status == CREDITED


def test_a_credit_note_ahead_of_its_receivable_is_retried(office: Office) -> None:
    with pytest.raises(DependencyNotReadyError):
        office.handle(payments.handle_credit_note_issued, "credit_note.issued", CreditNoteIssued(
            credit_note_number="2023-000002", invoice_number="2023-000001", issued_on=date(2023, 9, 1),
            total=Decimal("1.00"), reason="?"), registration_id="r-1")


# --- service fait ----------------------------------------------------------------------------------------------


def test_a_session_held_gives_service_fait_and_a_public_hospital_50_days_from_it(office: Office) -> None:
    client = {**seed_form("handicap-departement.json").client.model_dump(),
              "name": "Centre hospitalier de Créteil", "category": "public_health_establishment",
              "siret": "26940012900012"}
    receivable = invoiced(office, client=client)
    office.at(HELD_EVENING)

    hold(office)

    registration = office.registration("r-1")
    assert (registration.state, registration.service_fait_on) == (State.SESSION_HELD, date(2023, 9, 15))
    assert office.uow.registrations.history["r-1"][-1].actor == "operations@regflow.test"
    assert (receivable.service_fait_on, receivable.due_on) == (date(2023, 9, 15), date(2023, 11, 4))
    assert office.uow.events("session.held") == [
        SessionHeld(session_id=HANDICAP, held_on=date(2023, 9, 15), reason="test: no sheet")]
    assert office.uow.session_records.held_on(HANDICAP) == date(2023, 9, 15)


def test_a_settled_registration_is_paid_once_its_session_is_held(office: Office) -> None:
    invoiced(office)
    office.registration("r-1").state = State.SETTLED
    office.at(HELD_EVENING)

    hold(office)

    assert office.registration("r-1").state == State.PAID


def test_a_session_recorded_held_twice_is_recorded_once(office: Office) -> None:
    invoiced(office)
    office.at(HELD_EVENING)
    hold(office)

    hold(office)

    assert len(office.uow.events("session.held")) == 1


def test_a_session_cannot_be_held_before_it_starts(office: Office) -> None:
    invoiced(office)
    office.at(datetime(2023, 9, 15, 9, tzinfo=PARIS))

    with pytest.raises(SessionRefusedError) as refused:
        hold(office)

    assert refused.value.reason_fr == ("La session commence le 15/09/2023 à 09:30 : elle ne peut pas encore avoir "
                                       "eu lieu.")
    assert office.registration("r-1").state == State.INVOICED


def test_a_session_held_on_another_date_than_planned_is_refused(office: Office) -> None:
    office.at(datetime(2023, 9, 20, tzinfo=PARIS))

    with pytest.raises(SessionRefusedError) as refused:
        hold(office, date(2023, 9, 16))

    assert refused.value.reason_fr == "Tenue le 16/09/2023, prévue le 15/09/2023 : ce n'est pas la date prévue."


def test_an_unknown_session_cannot_be_held(office: Office) -> None:
    with pytest.raises(SessionRefusedError, match="unknown session"):
        hold(office, session_id="cpom-nothing-2023-01-01")


# --- sessions cancelled or moved ---------------------------------------------------------------------------------


def test_a_cancelled_session_cancels_every_registration_still_open(office: Office) -> None:
    invoiced(office, "invoiced")
    office.given("confirmed", State.CONFIRMED)
    office.given("rejected", State.REJECTED)

    office.handle(payments.handle_cancel_session, "cmd.session.cancel", CancelSession(
        session_id=HANDICAP, reason="formateur malade"))

    states = {rid: office.registration(rid).state for rid in ("invoiced", "confirmed", "rejected")}
    assert states == {"invoiced": State.CANCELLED, "confirmed": State.CANCELLED, "rejected": State.REJECTED}
    assert len(office.uow.events("registration.cancelled")) == 2
    [changed] = office.uow.events("session.updated")
    assert (changed.session_id, changed.state, changed.version) == (HANDICAP, "cancelled", 2)
    found = office.uow.catalogue.stored.session(HANDICAP)
    assert found is not None
    assert found[1].state == "cancelled"


def test_a_session_already_held_cannot_be_cancelled(office: Office) -> None:
    invoiced(office)
    office.at(HELD_EVENING)
    hold(office)

    with pytest.raises(SessionRefusedError) as refused:
        office.handle(payments.handle_cancel_session, "cmd.session.cancel", CancelSession(
            session_id=HANDICAP, reason="trop tard"))

    assert refused.value.reason_fr == "La session a déjà eu lieu : elle ne peut plus être annulée."


def move(office: Office, to_session_id: str = OCTOBER, session_id: str = MARCH) -> None:
    office.handle(payments.handle_move_session, "cmd.session.move", MoveSession(
        session_id=session_id, to_session_id=to_session_id, reason="salle indisponible"))


def test_a_moved_session_moves_its_open_registrations_to_the_new_date(office: Office) -> None:
    office.given("r-1", State.INVOICED, seed_form("aide-domicile-departement-october.json", session_id=MARCH))

    move(office)

    assert office.registration("r-1").session_id == OCTOBER
    [moved] = office.uow.events("registration.moved")
    assert (moved.from_session_id, moved.to_session_id, moved.state) == (MARCH, OCTOBER, "invoiced")


def test_a_session_moves_only_to_a_date_of_the_same_training(office: Office) -> None:
    with pytest.raises(SessionRefusedError, match="not a date of the same training"):
        move(office, HANDICAP)


def test_a_session_cannot_move_to_a_date_already_begun(office: Office) -> None:
    office.at(datetime(2024, 10, 11, 10, tzinfo=PARIS))

    with pytest.raises(SessionRefusedError, match="has already started"):
        move(office, OCTOBER, MARCH)


def test_a_session_already_held_cannot_move(office: Office) -> None:
    office.given("r-1", State.INVOICED, seed_form("aide-domicile-departement-october.json", session_id=MARCH))
    office.at(datetime(2024, 3, 21, 18, tzinfo=PARIS))
    hold(office, date(2024, 3, 21), MARCH)
    office.at(datetime(2024, 3, 22, tzinfo=PARIS))

    with pytest.raises(SessionRefusedError, match="already held"):
        move(office)


# --- payments --------------------------------------------------------------------------------------------------


def test_a_partial_payment_leaves_the_invoice_open_with_what_is_outstanding(office: Office) -> None:
    receivable = invoiced(office)
    office.at(HELD_EVENING)
    hold(office)

    received = pay(office, "500.00")

    assert (received.matched, received.paid_to_date, received.outstanding, received.anomalies) == (
        True, Decimal("500.00"), Decimal("690.00"), [])
    assert (receivable.status, receivable.paid) == (OPEN, Decimal("500.00"))
    assert office.registration("r-1").state == State.SESSION_HELD
    assert office.uow.events("invoice.settled") == []


def test_the_same_payment_sent_twice_is_counted_once(office: Office) -> None:
    receivable = invoiced(office)

    pay(office, "500.00")
    pay(office, "500.00")

    assert receivable.paid == Decimal("500.00")
    assert len(office.uow.payments.rows) == 1


def test_the_payment_of_the_whole_invoice_after_service_fait_makes_the_registration_paid(office: Office) -> None:
    receivable = invoiced(office)
    office.at(HELD_EVENING)
    hold(office)

    pay(office, "1190.00")

    assert receivable.status == SETTLED
    assert office.uow.events("invoice.settled") == [InvoiceSettled(
        invoice_number="2023-000001", total=Decimal("1190.00"), paid=Decimal("1190.00"), settled_on=date(2023, 9, 20),
        overpaid=Decimal("0.00"))]
    assert office.registration("r-1").state == State.PAID
    assert office.uow.registrations.history["r-1"][-1].actor == "finance@regflow.test"


def test_a_public_buyer_paying_before_service_fait_is_kept_settled_and_flagged(office: Office) -> None:
    invoiced(office)

    received = pay(office, "1190.00", received_on=date(2023, 9, 10))

    assert received.anomalies == ["before_service_fait"]
    assert office.registration("r-1").state == State.SETTLED


def test_an_overpayment_settles_and_says_what_is_owed_back(office: Office) -> None:
    receivable = invoiced(office)
    office.at(HELD_EVENING)
    hold(office)
    pay(office, "500.00", "P-1")

    received = pay(office, "700.00", "P-2", received_on=date(2023, 9, 25))

    assert (receivable.status, receivable.paid) == (OVERPAID, Decimal("1200.00"))
    assert (received.outstanding, received.anomalies) == (Decimal("0.00"), ["overpayment"])
    [settled] = office.uow.events("invoice.settled")
    assert (settled.overpaid, settled.settled_on) == (Decimal("10.00"), date(2023, 9, 25))
    assert office.registration("r-1").state == State.PAID


def test_a_payment_for_no_known_invoice_is_kept_unmatched_for_finance(office: Office) -> None:
    received = pay(office, "99.00", invoice_number="2023-999999")

    assert (received.matched, received.anomalies, received.paid_to_date) == (False, ["unknown_invoice"], None)
    [payment] = office.uow.payments.rows
    assert (payment.matched, payment.recorded_by) == (False, "finance@regflow.test")


def test_a_payment_on_a_credited_invoice_is_flagged(office: Office) -> None:
    receivable = invoiced(office)
    receivable.status = CREDITED
    office.at(HELD_EVENING)

    received = pay(office, "1190.00")

    assert "invoice_credited" in received.anomalies
    assert receivable.status == CREDITED
    assert office.uow.events("invoice.settled") == []


def test_a_payment_ahead_of_its_receivable_is_retried(office: Office) -> None:
    office.given("r-1", State.INVOICED)
    office.uow.invoices.add(InvoiceRow(
        number="2023-000001", year=2023, sequence=1, registration_id="r-1", issued_on=date(2023, 9, 1), lines=[],
        quantity=2, unit_price=Decimal("595.00"), total=Decimal("1190.00"), due_on=None, document_path=None,
        created_at=office.clock.now()))

    with pytest.raises(DependencyNotReadyError):
        pay(office, "1190.00")
    assert office.uow.payments.rows == []


# --- overdue notices -------------------------------------------------------------------------------------------


def overdue_check(office: Office, on: date) -> int:
    with office.uow:
        published = payments.notify_overdue(office.uow, on, rates=office.deps.rates)  # type: ignore[arg-type]
        office.uow.commit()
    return published


def test_a_late_public_payment_owes_interest_and_40_euros_notified_once_a_month(office: Office) -> None:
    invoiced(office)
    office.at(HELD_EVENING)
    hold(office)

    assert overdue_check(office, date(2023, 10, 15)) == 0  # due that day: not late yet
    assert overdue_check(office, date(2023, 11, 14)) == 1
    assert overdue_check(office, date(2023, 11, 20)) == 0  # same month: notified already

    first, = office.uow.events("payment.overdue")
    # 1190.00 x (4.00 + 8) % x 30 / 365 = 11.74; 40 € indemnity (R2192-31, R2192-35)
    assert (first.period, first.days_late, first.outstanding, first.interest_percent, first.interest,
            first.indemnity, first.public_buyer) == ("2023-11", 30, Decimal("1190.00"), Decimal("12.00"),
                                                     Decimal("11.74"), Decimal("40.00"), True)
    assert overdue_check(office, date(2023, 12, 1)) == 1
    december = office.uow.events("payment.overdue")[1]
    assert (december.period, december.days_late, december.interest) == ("2023-12", 47, Decimal("18.39"))


def test_a_settled_invoice_is_never_overdue(office: Office) -> None:
    invoiced(office)
    office.at(HELD_EVENING)
    hold(office)
    pay(office, "1190.00")

    assert overdue_check(office, date(2023, 11, 14)) == 0


def test_check_overdue_keeps_its_public_signature() -> None:
    """The command line calls `consumers.payments.check_overdue(deps, as_of)`; the runner `check_overdue(deps)`."""
    import inspect

    assert list(inspect.signature(payments.check_overdue).parameters) == ["deps", "as_of"]
    assert payments.APP.periodic is payments.check_overdue
