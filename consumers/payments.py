"""Payments consumer: service fait, due dates, payments, overdue invoices, registrations paid.

Every invoice has a receivable here (created on `invoice.issued`): its due date (recomputed when the
session is held), what was paid, and the last period an overdue notice went out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from consumers.attendance import HeldSession
from consumers.interest_claims import issue_claim
from consumers.runner import ConsumerApp
from schemas.form import ClientCategory
from schemas.limits import MAX_ATTENDANCE_PART
from schemas.messages import (
    CancelSession,
    CreditNoteIssued,
    Envelope,
    HoldSession,
    InvoiceIssued,
    InvoiceSettled,
    MoveSession,
    PaymentOverdue,
    PaymentReceived,
    RecordPayment,
    SessionAttendance,
    SessionHeld,
    SessionHeldBatch,
)
from workflow.bootstrap import Deps
from workflow.domain.catalogue import Catalogue, SessionState
from workflow.domain.clock import PARIS, Clock
from workflow.domain.errors import DependencyNotReadyError, InconsistentMessageError, SessionRefusedError
from workflow.domain.interest_claim import owes_a_claim
from workflow.domain.invoice import Seller
from workflow.domain.machine import State
from workflow.domain.payment_rules import (
    ReferenceRates,
    days_late,
    due_date,
    late_payment_in_parts,
    paris_date,
    principal_parts,
)
from workflow.domain.receivables import (
    CREDITED,
    OPEN,
    OVERPAID,
    SETTLED,
    overdue_period,
    owed_for_lateness,
    payment_anomalies,
    status_after,
)
from workflow.domain.registration import Registration
from workflow.persistence.orm import PaymentRow, ReceivableRow, SessionRecordRow
from workflow.persistence.repositories.catalogue import session_changed
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

ACTOR = "payments"
OPEN_STATES = {State.RECEIVED, State.SIGNED, State.CONFIRMED, State.INVOICED, State.SETTLED}
HOLDABLE = {State.INVOICED, State.SETTLED}  # what service fait moves on: to session held, or to paid
T = TypeVar("T")


def in_parts(items: list[T], size: int) -> list[list[T]]:
    """`items` cut in order into lists of at most `size`; an empty list is one empty part (a message still says
    there was nothing)."""
    return [items[start:start + size] for start in range(0, len(items), size)] or [[]]


def _category(registration: Registration) -> ClientCategory:
    category = registration.form.client.category
    assert category is not None  # validated
    return category


def _recompute_due(receivable: ReceivableRow, settings: Settings, planned_on: date | None = None) -> None:
    """Until the session is held, a public buyer's deadline runs at the earliest from its planned date:
    nothing is due, let alone overdue, before service fait (décret 2012-1246 art. 20 and 31)."""
    receivable.due_on = due_date(ClientCategory(receivable.client_category), sent_on=receivable.sent_on,
                                 received_on=receivable.received_on,
                                 service_fait_on=receivable.service_fait_on or planned_on,
                                 private_term_days=settings.private_payment_term_days)


def handle_invoice_issued(message: Envelope, event: InvoiceIssued, uow: UnitOfWork, *, clock: Clock,
                          catalogue: Catalogue, settings: Settings) -> None:
    """Open the receivable. No receipt date is known: CCP R2192-12 counts it as sent + 2 days."""
    if uow.receivables.get(event.invoice_number) is not None:
        return
    registration = uow.registrations.get(message.registration_id or "")
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    receivable = ReceivableRow(
        invoice_number=event.invoice_number, registration_id=registration.id,
        client_name=registration.form.client.name, client_category=_category(registration), total=event.total,
        paid=Decimal("0.00"),
        sent_on=event.issued_on, received_on=None,
        service_fait_on=uow.session_records.held_on(registration.session_id or ""), status=OPEN,
        updated_at=clock.now())
    planned = catalogue.session(registration.session_id or "")
    _recompute_due(receivable, settings, planned[1].date if planned else None)
    uow.receivables.add(receivable)


def handle_credit_note_issued(message: Envelope, event: CreditNoteIssued, uow: UnitOfWork, *, clock: Clock) -> None:
    receivable = uow.receivables.get(event.invoice_number)
    if receivable is None:
        raise DependencyNotReadyError(f"receivable of {event.invoice_number} not opened yet")
    receivable.status = CREDITED
    receivable.updated_at = clock.now()


def handle_hold_session(message: Envelope, command: HoldSession, uow: UnitOfWork, *, clock: Clock,
                        catalogue: Catalogue, settings: Settings) -> None:
    """Service fait: every invoiced registration of the session gets its date (paid if already settled),
    and its public buyer's payment deadline now runs from it when later than receipt (R2192-13).

    The evidence is the trainer's signed attendance sheet, read here from the database (R6313-3); without
    it, operations must give a reason, which each registration's history names. Each participant's presence
    is recorded; an absence changes neither the registration nor its invoice (ABSENCE_POLICY)."""
    found = catalogue.session(command.session_id)
    if found is None:
        raise SessionRefusedError(command.session_id, "hold_session", f"unknown session {command.session_id}",
                                  fr=f"La session {command.session_id} n'existe pas au catalogue.")
    _, session = found
    now = clock.now()
    if now < catalogue.starts_at(session):
        starts = catalogue.starts_at(session)
        raise SessionRefusedError(command.session_id, "hold_session",
                                  f"the session starts at {starts.isoformat()}, it cannot have been held at "
                                  f"{now.isoformat()}",
                                  fr=f"La session commence le {starts.astimezone(PARIS):%d/%m/%Y à %H:%M} : elle ne "
                                     "peut pas encore avoir eu lieu.")
    if command.held_on != session.date:
        raise SessionRefusedError(command.session_id, "hold_session",
                                  f"held on {command.held_on}, planned on {session.date}",
                                  fr=f"Tenue le {command.held_on:%d/%m/%Y}, prévue le {session.date:%d/%m/%Y} : "
                                     "ce n'est pas la date prévue.")
    if session.state is SessionState.CANCELLED:
        raise SessionRefusedError(command.session_id, "hold_session", "the session was cancelled",
                                  fr="La session a été annulée : elle ne peut pas avoir eu lieu.")
    if uow.session_records.held_on(command.session_id) is not None:
        return  # already recorded by an earlier command: nothing more to do
    signed = uow.attendance.signed_sheet(command.session_id)
    if signed is None and command.reason is None:
        raise SessionRefusedError(command.session_id, "hold_session",
                                  "no signed attendance sheet: give the reason service fait is recorded without it",
                                  fr="Aucune feuille d'émargement signée : indiquez pourquoi le service fait est "
                                     "enregistré sans elle (--reason).")
    evidence = (f"feuille d'émargement signée par {signed.signer_name}" if signed
                else f"sans feuille d'émargement signée : {command.reason}")
    _set_state(uow, command.session_id, SessionState.HELD, at=now, by=command.requested_by or ACTOR)
    held = HeldSession(command.session_id, signed, command.absent_emails)
    parts: list[list[Any]] = in_parts(signed.sheet["participants"] if signed else
                                      uow.accesses.seat_ids_in_session(command.session_id), MAX_ATTENDANCE_PART)
    seats = sum(len(part) for part in parts)
    for number, part in enumerate(parts, start=1):
        attendance = held.part(uow.accesses, part)
        if number == 1:
            uow.publish("session.held", SessionHeld(
                session_id=command.session_id, held_on=command.held_on, evidence=held.evidence_kind,
                signed_by=signed.signer_name if signed else None, signed_at=signed.signed_at if signed else None,
                reason=None if signed else command.reason, attendance=attendance, seats=seats,
                attendance_parts=len(parts)))
        else:
            uow.publish("session.attendance", SessionAttendance(
                session_id=command.session_id, held_on=command.held_on, part=number, parts=len(parts),
                attendance=attendance))
    uow.session_records.add(SessionRecordRow(
        session_id=command.session_id, held_on=command.held_on, absent_emails=sorted(held.absent_emails),
        recorded_at=now, evidence=held.evidence_kind, reason=None if signed else command.reason,
        recorded_by=command.requested_by))
    ids = uow.registrations.ids_in_session(command.session_id, HOLDABLE)
    service_fait = _ServiceFait(held_on=command.held_on, planned_on=session.date, evidence=evidence,
                                requested_by=command.requested_by, cause=message.event_id, at=now)
    first, *rest = in_parts(ids, settings.hold_batch_size)
    service_fait.apply(uow, first, held.absent, settings)
    for number, batch in enumerate(rest, start=1):
        uow.publish("session.held_batch", SessionHeldBatch(
            session_id=command.session_id, held_on=command.held_on, batch=number, batches=len(rest),
            registration_ids=batch, absent={r: held.absent[r] for r in batch if r in held.absent}, evidence=evidence,
            requested_by=command.requested_by))


def handle_session_held_batch(message: Envelope, event: SessionHeldBatch, uow: UnitOfWork, *, clock: Clock,
                              catalogue: Catalogue, settings: Settings) -> None:
    """The service fait of a batch of a large session, in a transaction of its own: its inbox row makes a
    redelivery a no-op, a kill before commit leaves it to the redelivered copy, and memory stays that of one
    batch whatever the session's size. A registration no longer invoiced or settled (held by the invoicing
    consumer meanwhile, cancelled) is left as it is. Its history names the command as the cause."""
    held_on = uow.session_records.held_on(event.session_id)
    found = catalogue.session(event.session_id)
    if held_on != event.held_on or found is None:
        raise InconsistentMessageError(
            f"session.held_batch {event.batch}/{event.batches} of {event.session_id} held on {event.held_on}: "
            f"the session record says {held_on}")
    service_fait = _ServiceFait(held_on=event.held_on, planned_on=found[1].date, evidence=event.evidence,
                                requested_by=event.requested_by, cause=message.causation_id or message.event_id,
                                at=clock.now())
    service_fait.apply(uow, event.registration_ids, event.absent, settings)


@dataclass(frozen=True)
class _ServiceFait:
    """What one command's service fait writes on each registration, whichever transaction applies it."""

    held_on: date
    planned_on: date
    evidence: str
    requested_by: str | None
    cause: UUID
    at: datetime

    def apply(self, uow: UnitOfWork, registration_ids: list[str], absent: dict[str, int], settings: Settings
              ) -> None:
        """Each still invoiced or settled gets its service fait; its receivables their date and due date."""
        for registration_id in registration_ids:
            registration = uow.registrations.get(registration_id)
            if registration is None or registration.state not in HOLDABLE:
                continue
            noted = f"{self.evidence}; absent(s) : {absent[registration_id]}" if absent.get(registration_id) \
                else self.evidence
            registration.hold_session(self.held_on, planned_on=self.planned_on, at=self.at, actor=ACTOR,
                                      cause=self.cause, requested_by=self.requested_by, evidence=noted)
            for receivable in uow.receivables.uncredited_of(registration.id):
                receivable.service_fait_on = self.held_on
                _recompute_due(receivable, settings)
                receivable.updated_at = self.at


def handle_cancel_session(message: Envelope, command: CancelSession, uow: UnitOfWork, *, clock: Clock,
                          catalogue: Catalogue) -> None:
    """The session will not be held: every registration still open is cancelled; the invoicing consumer
    credits the invoices (a paid one is then owed back to the client)."""
    if catalogue.session(command.session_id) is None:
        raise SessionRefusedError(command.session_id, "cancel_session", f"unknown session {command.session_id}",
                                  fr=f"La session {command.session_id} n'existe pas au catalogue.")
    if uow.session_records.held_on(command.session_id) is not None:
        raise SessionRefusedError(command.session_id, "cancel_session", "the session was already held",
                                  fr="La session a déjà eu lieu : elle ne peut plus être annulée.")
    now = clock.now()
    _set_state(uow, command.session_id, SessionState.CANCELLED, at=now, by=ACTOR)
    for registration in uow.registrations.in_session(command.session_id, OPEN_STATES):
        registration.cancel_session(command.reason, at=now, actor=ACTOR, cause=message.event_id)


def handle_move_session(message: Envelope, command: MoveSession, uow: UnitOfWork, *, clock: Clock,
                        catalogue: Catalogue) -> None:
    """The session moves to another date offered for the same training; invoices follow (invoicing)."""
    source, target = catalogue.session(command.session_id), catalogue.session(command.to_session_id)
    if source is None or target is None:
        raise SessionRefusedError(command.session_id, "move_session",
                                f"unknown session {command.session_id if source is None else command.to_session_id}")
    if source[0].id != target[0].id:
        raise SessionRefusedError(command.session_id, "move_session",
                                f"{command.to_session_id} is not a date of the same training")
    now = clock.now()
    if now >= catalogue.starts_at(target[1]):
        raise SessionRefusedError(command.session_id, "move_session", f"{command.to_session_id} has already started")
    if uow.session_records.held_on(command.session_id) is not None:
        raise SessionRefusedError(command.session_id, "move_session", "the session was already held")
    if target[1].state is not SessionState.OPEN:
        raise SessionRefusedError(command.session_id, "move_session",
                                  f"{command.to_session_id} is {target[1].state}, not open",
                                  fr=f"La session {command.to_session_id} n'est pas ouverte ({target[1].state}).")
    _set_state(uow, command.session_id, SessionState.CLOSED, at=now, by=ACTOR)  # no new form for the old date
    for registration in uow.registrations.in_session(command.session_id, OPEN_STATES):
        registration.move_session(command.to_session_id, command.reason, at=now, actor=ACTOR, cause=message.event_id)


def _set_state(uow: UnitOfWork, session_id: str, state: SessionState, *, at: datetime, by: str) -> None:
    """The session's state follows what operations decided; `session.updated` tells whoever listens."""
    if (row := uow.catalogue.set_state(session_id, state, at=at)) is not None:
        uow.publish("session.updated", session_changed(row, by))


def handle_record_payment(message: Envelope, command: RecordPayment, uow: UnitOfWork, *, clock: Clock,
                          rates: ReferenceRates, seller: Seller) -> None:
    """Counted once (finance's payment id is unique); kept and flagged whatever it matches or not. The interest
    and indemnity owed as of this payment go with it; a public buyer settling late is sent the claim of them,
    in this transaction (CCP R2192-31 to R2192-36)."""
    if uow.payments.is_recorded(command.payment_id):
        return
    now = clock.now()
    invoice = uow.invoices.get(command.invoice_number) if command.invoice_number else None
    receivable = uow.receivables.get(invoice.number) if invoice else None
    if invoice is not None and receivable is None:
        raise DependencyNotReadyError(f"receivable of {invoice.number} not opened yet")
    received = [*(uow.payments.received_for(receivable.invoice_number) if receivable else []),
                (command.amount, command.received_on)]
    paid_after = (receivable.paid if receivable else 0) + command.amount
    anomalies = payment_anomalies(
        matched=receivable is not None, credited=receivable is not None and receivable.status == CREDITED,
        is_public=receivable is not None and ClientCategory(receivable.client_category).is_public,
        service_fait_on=receivable.service_fait_on if receivable else None, received_on=command.received_on,
        total=receivable.total if receivable else command.amount, paid_after=paid_after)
    uow.payments.add(PaymentRow(
        payment_id=command.payment_id, invoice_number=command.invoice_number, matched=receivable is not None,
        amount=command.amount, received_on=command.received_on, payer=command.payer, means=command.means,
        anomalies=anomalies, recorded_at=now, recorded_by=command.requested_by))
    registration_id = receivable.registration_id if receivable else None
    owed = None
    if receivable is not None and receivable.status != CREDITED:
        owed = late_payment_in_parts(principal_parts(receivable.total, received), due_on=receivable.due_on,
                                     rates=rates, public=ClientCategory(receivable.client_category).is_public)
    uow.publish("payment.received", PaymentReceived(
        payment_id=command.payment_id, invoice_number=command.invoice_number, amount=command.amount,
        received_on=command.received_on, matched=receivable is not None, anomalies=anomalies,
        paid_to_date=paid_after if receivable else None,
        outstanding=max(receivable.total - paid_after, Decimal("0.00")) if receivable else None,
        days_late=days_late(receivable.due_on, command.received_on) if receivable and owed else 0,
        interest=owed.interest if owed else Decimal("0.00"), indemnity=owed.indemnity if owed else Decimal("0.00")),
        registration_id)
    if receivable is None:
        return  # kept unmatched for finance to look at
    before = receivable.status
    receivable.paid = paid_after
    receivable.status = status_after(receivable.total, paid_after, receivable.status)
    receivable.updated_at = now
    if before == OPEN and receivable.status in (SETTLED, OVERPAID):
        assert owed is not None  # not credited
        registration = uow.registrations.get(receivable.registration_id, for_update=True)
        claim = None
        if owes_a_claim(public_buyer=ClientCategory(receivable.client_category).is_public, owed=owed):
            claim = issue_claim(uow, receivable, registration, owed, principal_paid_on=command.received_on,
                                now=now, seller=seller)
        uow.publish("invoice.settled", InvoiceSettled(
            invoice_number=receivable.invoice_number, total=receivable.total, paid=paid_after,
            settled_on=command.received_on, overpaid=paid_after - receivable.total, days_late=owed.days_late,
            interest_percent=owed.percent if owed.days_late else None, interest=owed.interest,
            indemnity=owed.indemnity, interest_claim_number=claim.number if claim else None), registration_id)
        if registration is not None and registration.state in (State.INVOICED, State.SESSION_HELD):
            registration.settle(receivable.invoice_number, at=now, actor=ACTOR, cause=message.event_id,
                                requested_by=command.requested_by)


def check_overdue(deps: Deps, as_of: date | None = None) -> int:
    """Publish `payment.overdue` for each open receivable past its due date, once per invoice per month.
    Restart-safe and shared by replicas: the period notified is stored in the same transaction as the
    event (outbox), and rows are claimed with SKIP LOCKED."""
    today = as_of or paris_date(deps.clock.now())
    with UnitOfWork(deps.sessions, deps.clock, actor=ACTOR) as uow:
        published = notify_overdue(uow, today, rates=deps.rates)
        uow.commit()
    return published


def notify_overdue(uow: UnitOfWork, today: date, *, rates: ReferenceRates) -> int:
    """`check_overdue` in a unit of work the caller commits: the notices of `today`'s period not sent yet, with
    the interest and the 40 € indemnity owed (CCP R2192-31 and R2192-35; code de commerce L441-10 and D441-5): on
    the parts already paid late and on what is still unpaid. A settled invoice is no longer notified: its interest
    is in `invoice.settled` and, for a public buyer, in its claim."""
    period = overdue_period(today)
    published = 0
    for receivable in uow.receivables.overdue(today, period):
        outstanding = receivable.total - receivable.paid
        category = ClientCategory(receivable.client_category)
        owed = owed_for_lateness(category, receivable.total, uow.payments.received_for(receivable.invoice_number),
                                 due_on=receivable.due_on, as_of=today, rates=rates)
        uow.publish("payment.overdue", PaymentOverdue(
            invoice_number=receivable.invoice_number, period=period, as_of=today, due_on=receivable.due_on,
            days_late=owed.days_late, outstanding=outstanding, interest_percent=owed.percent,
            interest=owed.interest, indemnity=owed.indemnity, public_buyer=category.is_public),
            receivable.registration_id)
        receivable.overdue_notified_period = period
        published += 1
    return published


APP = ConsumerApp(ACTOR, {
    "invoice.issued": handle_invoice_issued,
    "credit_note.issued": handle_credit_note_issued,
    "cmd.session.hold": handle_hold_session,
    "session.held_batch": handle_session_held_batch,
    "cmd.session.cancel": handle_cancel_session,
    "cmd.session.move": handle_move_session,
    "cmd.payment.record": handle_record_payment,
}, periodic=check_overdue)
