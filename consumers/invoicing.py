"""Invoicing consumer: the invoice of a confirmed registration (gap-free number, Factur-X PDF, Chorus Pro
deposit for public buyers), and the credit note of a registration whose session was cancelled."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from consumers.runner import ConsumerApp
from schemas.messages import CreditNoteIssued, Envelope, InvoiceDeposited, InvoiceIssued, RegistrationTransitioned
from workflow.bootstrap import Deps
from workflow.documents import ChorusDeposit
from workflow.errors import DependencyNotReadyError, GuardRefusedError
from workflow.facturx_xml import cii_xml, facturx_pdf
from workflow.invoice_document import InvoiceDocument, credit_note_document, invoice_document
from workflow.invoice_pdf import render_pdf
from workflow.invoicing import invoice_number
from workflow.machine import State
from workflow.model import Registration
from workflow.orm import CreditNoteRow, InvoiceRow
from workflow.payment_rules import due_date, paris_date
from workflow.uow import UnitOfWork

ACTOR = "invoicing"


def _registration(message: Envelope, uow: UnitOfWork) -> Registration:
    registration = uow.registrations.get(message.registration_id or "", for_update=True)
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    return registration


def _document(registration: Registration, deps: Deps, number: str, issued_on: date) -> InvoiceDocument:
    found = deps.catalogue.session(registration.session_id or "")
    if found is None:
        raise GuardRefusedError(registration.id, "invoice", f"unknown session {registration.session_id}")
    training, session = found
    form = registration.form
    assert form.client.category is not None  # validated
    # The due date printed assumes service fait on the planned date; it is recomputed when the session is held.
    due_on = due_date(form.client.category, sent_on=issued_on, received_on=None, service_fait_on=session.date,
                      private_term_days=deps.settings.private_payment_term_days)
    return invoice_document(number=number, issued_on=issued_on, due_on=due_on, seller=deps.seller,
                            registration_id=registration.id, form=form, catalogue=deps.catalogue, training=training,
                            session=session, agreement_mention=deps.settings.agreement_mention)


def handle_confirmed(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, deps: Deps) -> None:
    registration = _registration(message, uow)
    if uow.invoice_of(registration.id) is not None:
        return  # the same registration gets the same invoice, once
    if registration.state != State.CONFIRMED:
        raise GuardRefusedError(registration.id, "invoice", f"registration is {registration.state}")
    now = deps.clock.now()
    issued_on = paris_date(now)
    sequence = uow.next_invoice_number(issued_on.year)
    number = invoice_number(issued_on.year, sequence)
    doc = _document(registration, deps, number, issued_on)
    pdf = facturx_pdf(render_pdf(doc), cii_xml(doc), title=f"Facture {number}")
    path = deps.documents.write(f"facture-{number}.pdf", pdf)
    line = doc.lines[0]
    uow.session.add(InvoiceRow(
        number=number, year=issued_on.year, sequence=sequence, registration_id=registration.id,
        issued_on=issued_on, quantity=line.quantity, unit_price=line.unit_price, total=doc.total,
        due_on=doc.due_on, document_path=str(path), created_at=now))
    registration.invoice(InvoiceIssued(invoice_number=number, issued_on=issued_on, total=doc.total,
                                       due_on=doc.due_on, document=str(path)),
                         at=now, actor=ACTOR, cause=message.event_id)
    if doc.buyer.is_public and doc.buyer.siret:
        deposit = ChorusDeposit(number, doc.buyer.siret, doc.buyer.chorus_service_code,
                                doc.buyer.chorus_commitment_number)
        reference = deps.chorus.deposit(deposit, pdf)
        uow.publish("invoice.deposited", InvoiceDeposited(
            invoice_number=number, platform="chorus-pro", reference=reference, buyer_siret=doc.buyer.siret,
            service_code=deposit.service_code, commitment_number=deposit.commitment_number), registration.id)
    held_on = uow.session_held_on(registration.session_id or "")
    if held_on is not None:  # operations recorded the session as held before this invoice existed
        planned = deps.catalogue.session(registration.session_id or "")
        assert planned is not None
        registration.hold_session(held_on, planned_on=planned[1].date, at=now, actor=ACTOR, cause=message.event_id)


def handle_cancelled(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, deps: Deps) -> None:
    """A cancelled registration's invoice is cancelled by a credit note that references it (an issued
    invoice is never deleted: CGI annexe II art. 242 nonies A)."""
    registration = _registration(message, uow)
    invoice = uow.invoice_of(registration.id)
    if invoice is None or registration.state != State.CANCELLED:
        return  # nothing was invoiced, or already credited
    if uow.session.scalars(select(CreditNoteRow.id).where(CreditNoteRow.invoice_number == invoice.number)).first():
        return
    now = deps.clock.now()
    issued_on = paris_date(now)
    sequence = uow.next_invoice_number(issued_on.year)
    number = invoice_number(issued_on.year, sequence)
    original = _document(registration, deps, invoice.number, invoice.issued_on)
    reason = event.reason or "session annulée"
    doc = credit_note_document(original, number=number, issued_on=issued_on, reason=reason)
    pdf = facturx_pdf(render_pdf(doc), cii_xml(doc), title=f"Avoir {number}")
    path = deps.documents.write(f"avoir-{number}.pdf", pdf)
    uow.session.add(CreditNoteRow(
        number=number, year=issued_on.year, sequence=sequence, invoice_number=invoice.number,
        registration_id=registration.id, issued_on=issued_on, total=doc.total, reason=reason,
        document_path=str(path), created_at=now))
    registration.credit(CreditNoteIssued(credit_note_number=number, invoice_number=invoice.number,
                                         issued_on=issued_on, total=doc.total, reason=reason, document=str(path)),
                        at=now, actor=ACTOR, cause=message.event_id)


APP = ConsumerApp(ACTOR, {
    "registration.confirmed": handle_confirmed,
    "registration.cancelled": handle_cancelled,
})
