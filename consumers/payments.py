"""Payments consumer: service fait when a session is held, payments recorded, registrations paid."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from consumers.runner import ConsumerApp
from schemas.messages import (
    CancelSession,
    Envelope,
    HoldSession,
    InvoiceSettled,
    MoveSession,
    PaymentReceived,
    RecordPayment,
    SessionHeld,
)
from workflow.bootstrap import Deps
from workflow.errors import GuardRefusedError
from workflow.machine import State
from workflow.orm import InvoiceRow, PaymentRow, SessionRecordRow
from workflow.uow import UnitOfWork

ACTOR = "payments"


def handle_hold_session(message: Envelope, command: HoldSession, uow: UnitOfWork, deps: Deps) -> None:
    """Every invoiced registration of the session gets its service-fait date (paid if already settled).

    Registrations invoiced later pick the record up in the invoicing consumer.
    """
    found = deps.catalogue.session(command.session_id)
    if found is None:
        raise GuardRefusedError(command.session_id, "hold_session", f"unknown session {command.session_id}")
    _, session = found
    now = deps.clock.now()
    if now < deps.catalogue.starts_at(session):
        raise GuardRefusedError(command.session_id, "hold_session",
                                f"the session starts at {deps.catalogue.starts_at(session).isoformat()}, "
                                f"it cannot have been held at {now.isoformat()}")
    if command.held_on != session.date:
        raise GuardRefusedError(command.session_id, "hold_session",
                                f"held on {command.held_on}, planned on {session.date}")
    existing = uow.session.get(SessionRecordRow, command.session_id)
    if existing is not None:
        return  # already recorded by an earlier command: nothing more to do
    uow.session.add(SessionRecordRow(session_id=command.session_id, held_on=command.held_on, recorded_at=now))
    uow.publish("session.held", SessionHeld(session_id=command.session_id, held_on=command.held_on))
    for registration in uow.registrations.in_session(command.session_id, {State.INVOICED, State.SETTLED}):
        registration.hold_session(command.held_on, planned_on=session.date, at=now, actor=ACTOR,
                                  cause=message.event_id)


def handle_cancel_session(message: Envelope, command: CancelSession, uow: UnitOfWork, deps: Deps) -> None:
    """The session will not be held: every registration still open is cancelled; the invoicing consumer
    credits the invoices (a paid one is then owed back to the client)."""
    if deps.catalogue.session(command.session_id) is None:
        raise GuardRefusedError(command.session_id, "cancel_session", f"unknown session {command.session_id}")
    if uow.session_held_on(command.session_id) is not None:
        raise GuardRefusedError(command.session_id, "cancel_session", "the session was already held")
    now = deps.clock.now()
    open_states = {State.RECEIVED, State.SIGNED, State.CONFIRMED, State.INVOICED, State.SETTLED}
    for registration in uow.registrations.in_session(command.session_id, open_states):
        registration.cancel_session(command.reason, at=now, actor=ACTOR, cause=message.event_id)


def handle_move_session(message: Envelope, command: MoveSession, uow: UnitOfWork, deps: Deps) -> None:
    """The session moves to another date offered for the same training; invoices follow (invoicing)."""
    source, target = deps.catalogue.session(command.session_id), deps.catalogue.session(command.to_session_id)
    if source is None or target is None:
        raise GuardRefusedError(command.session_id, "move_session",
                                f"unknown session {command.session_id if source is None else command.to_session_id}")
    if source[0].id != target[0].id:
        raise GuardRefusedError(command.session_id, "move_session",
                                f"{command.to_session_id} is not a date of the same training")
    now = deps.clock.now()
    if now >= deps.catalogue.starts_at(target[1]):
        raise GuardRefusedError(command.session_id, "move_session", f"{command.to_session_id} has already started")
    if uow.session_held_on(command.session_id) is not None:
        raise GuardRefusedError(command.session_id, "move_session", "the session was already held")
    open_states = {State.RECEIVED, State.SIGNED, State.CONFIRMED, State.INVOICED, State.SETTLED}
    for registration in uow.registrations.in_session(command.session_id, open_states):
        registration.move_session(command.to_session_id, command.reason, at=now, actor=ACTOR, cause=message.event_id)


def handle_record_payment(message: Envelope, command: RecordPayment, uow: UnitOfWork, deps: Deps) -> None:
    """A payment is counted once (finance's payment id is unique) and settles its invoice when complete."""
    if uow.session.scalars(select(PaymentRow.id).where(PaymentRow.payment_id == command.payment_id)).first():
        return
    now = deps.clock.now()
    invoice = None
    if command.invoice_number:
        invoice = uow.session.scalars(
            select(InvoiceRow).where(InvoiceRow.number == command.invoice_number)).one_or_none()
    uow.session.add(PaymentRow(
        payment_id=command.payment_id, invoice_number=command.invoice_number, matched=invoice is not None,
        amount=command.amount, received_on=command.received_on, payer=command.payer, means=command.means,
        recorded_at=now))
    uow.session.flush()
    registration_id = invoice.registration_id if invoice else None
    uow.publish("payment.received", PaymentReceived(
        payment_id=command.payment_id, invoice_number=command.invoice_number, amount=command.amount,
        received_on=command.received_on, matched=invoice is not None), registration_id)
    if invoice is None:
        return  # kept unmatched for finance to look at
    paid = uow.session.scalar(select(func.coalesce(func.sum(PaymentRow.amount), 0))
                              .where(PaymentRow.invoice_number == invoice.number))
    paid = Decimal(paid or 0)
    registration = uow.registrations.get(invoice.registration_id, for_update=True)
    if paid < invoice.total or registration is None or uow.is_credited(invoice.number):
        return  # partial, or paid against an invoice a credit note cancelled: kept for finance
    if registration.state in (State.INVOICED, State.SESSION_HELD):
        registration.settle(invoice.number, at=now, actor=ACTOR, cause=message.event_id)
        uow.publish("invoice.settled", InvoiceSettled(
            invoice_number=invoice.number, total=invoice.total, paid=paid, settled_on=command.received_on),
            registration.id)


APP = ConsumerApp(ACTOR, {
    "cmd.session.hold": handle_hold_session,
    "cmd.session.cancel": handle_cancel_session,
    "cmd.session.move": handle_move_session,
    "cmd.payment.record": handle_record_payment,
})
