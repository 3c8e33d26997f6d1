"""Invoicing consumer: issues the invoice of a confirmed registration, with a gap-free number."""

from __future__ import annotations

from decimal import Decimal

from consumers.runner import ConsumerApp
from schemas.messages import Envelope, RegistrationTransitioned
from workflow.bootstrap import Deps
from workflow.clock import PARIS
from workflow.errors import DependencyNotReadyError, GuardRefusedError
from workflow.invoicing import invoice_number
from workflow.machine import State
from workflow.orm import InvoiceRow
from workflow.uow import UnitOfWork

ACTOR = "invoicing"


def handle_confirmed(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, deps: Deps) -> None:
    registration_id = message.registration_id or ""
    registration = uow.registrations.get(registration_id, for_update=True)
    if registration is None:
        raise DependencyNotReadyError(f"registration {registration_id} not visible yet")
    if uow.invoice_of(registration_id) is not None:
        return  # the same registration gets the same invoice, once
    if registration.state != State.CONFIRMED:
        raise GuardRefusedError(registration_id, "invoice", f"registration is {registration.state}")
    found = deps.catalogue.session(registration.session_id or "")
    if found is None:
        raise GuardRefusedError(registration_id, "invoice", f"unknown session {registration.session_id}")
    training, session = found
    now = deps.clock.now()
    issued_on = now.astimezone(PARIS).date()
    quantity = len(registration.form.participants)
    total = training.price_per_participant * Decimal(quantity)
    sequence = uow.next_invoice_number(issued_on.year)
    number = invoice_number(issued_on.year, sequence)
    uow.session.add(InvoiceRow(
        number=number, year=issued_on.year, sequence=sequence, registration_id=registration_id,
        issued_on=issued_on, quantity=quantity, unit_price=training.price_per_participant, total=total,
        created_at=now))
    registration.invoice(number, issued_on, total, at=now, actor=ACTOR, cause=message.event_id)
    held_on = uow.session_held_on(session.id)
    if held_on is not None:  # operations recorded the session as held before this invoice existed
        registration.hold_session(held_on, planned_on=session.date, at=now, actor=ACTOR,
                                  cause=message.event_id)


APP = ConsumerApp(ACTOR, {"registration.confirmed": handle_confirmed})
