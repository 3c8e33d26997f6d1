"""Invoicing consumer: invoices (gap-free number, Factur-X PDF, Chorus Pro deposit for public buyers) and
credit notes (session cancelled or moved, invoice corrected). An issued invoice is never edited. It also makes
the certificates of completion after service fait (`consumers.certificates`).

Issuing touches nothing outside the database: the PDF is kept in the document's transaction (`document_files`)
with the deposit it owes (`deposits`, pending). The copy in the document store and the deposit follow the
committed `invoice.issued` / `credit_note.issued` / `certificate.issued`, each its own message on this consumer's
queue, with its own retries and dead letter (`consumers.deposits`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from consumers.certificates import handle_session_held
from consumers.deposits import (
    PENDING,
    PLATFORM,
    handle_certificate_issued,
    handle_credit_note_issued,
    handle_invoice_issued,
    keep_pdf,
)
from consumers.runner import ConsumerApp
from schemas.messages import (
    CorrectInvoice,
    CreditNoteIssued,
    Envelope,
    InvoiceIssued,
    InvoicePlatformStatusChanged,
    RegistrationMoved,
    RegistrationTransitioned,
)
from workflow.adapters.document_store import DocumentKind, DocumentStore, document_name
from workflow.adapters.facturx_xml import cii_xml, facturx_pdf
from workflow.adapters.invoice_pdf import render_pdf
from workflow.bootstrap import Deps
from workflow.domain.catalogue import Catalogue
from workflow.domain.clock import Clock
from workflow.domain.einvoicing import PlatformStatus
from workflow.domain.errors import DependencyNotReadyError, GuardRefusedError, InconsistentMessageError
from workflow.domain.form_rules import check_form
from workflow.domain.invoice import InvoiceDocument, Seller, credit_note_document, invoice_document, invoice_number
from workflow.domain.machine import State
from workflow.domain.payment_rules import due_date, paris_date
from workflow.domain.registration import Registration
from workflow.ops.einvoicing import Poll, poll_platform
from workflow.persistence.orm import CreditNoteRow, DepositRow, InvoiceRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

ACTOR = "invoicing"


@dataclass(frozen=True)
class _Desk:
    """Where documents are issued, in this message's unit of work: what the seller prints, where the PDF will be
    kept, whether a public buyer's copy is owed to the platform. Nothing leaves the database here."""

    uow: UnitOfWork
    catalogue: Catalogue
    settings: Settings
    seller: Seller
    documents: DocumentStore

    def document(self, registration: Registration, number: str, issued_on: date) -> InvoiceDocument:
        found = self.catalogue.session(registration.session_id or "")
        if found is None:
            raise GuardRefusedError(registration.id, "invoice", f"unknown session {registration.session_id}")
        training, session = found
        form = registration.form
        assert form.client.category is not None  # validated
        # The due date printed assumes service fait on the planned date; it is recomputed when the session is held.
        due_on = due_date(form.client.category, sent_on=issued_on, received_on=None, service_fait_on=session.date,
                          private_term_days=self.settings.private_payment_term_days)
        return invoice_document(number=number, issued_on=issued_on, due_on=due_on, seller=self.seller,
                                registration_id=registration.id, form=form, catalogue=self.catalogue,
                                training=training, session=session, agreement_mention=self.settings.agreement_mention)

    def invoice(self, registration: Registration, now: datetime) -> InvoiceIssued:
        issued_on = paris_date(now)
        sequence = self.uow.invoices.next_number(issued_on.year)
        doc = self.document(registration, invoice_number(issued_on.year, sequence), issued_on)
        pdf = facturx_pdf(render_pdf(doc), cii_xml(doc), title=f"Facture {doc.number}")
        path = self._keep("invoice", doc.number, pdf, now)
        self.uow.invoices.add(InvoiceRow(
            number=doc.number, year=issued_on.year, sequence=sequence, registration_id=registration.id,
            issued_on=issued_on, lines=_lines(doc), quantity=doc.lines[0].quantity,
            unit_price=doc.lines[0].unit_price, total=doc.total, due_on=doc.due_on, document_path=path,
            created_at=now))
        self._deposit_if_public(doc, "invoice", now)
        return InvoiceIssued(invoice_number=doc.number, issued_on=issued_on, total=doc.total, due_on=doc.due_on)

    def credit_note(self, registration: Registration, invoice: InvoiceRow, *, now: datetime,
                    reason: str) -> CreditNoteIssued:
        issued_on = paris_date(now)
        sequence = self.uow.invoices.next_number(issued_on.year)  # the same sequence as invoices: no gap, no reuse
        original = self.document(registration, invoice.number, invoice.issued_on)
        doc = credit_note_document(original, number=invoice_number(issued_on.year, sequence), issued_on=issued_on,
                                   reason=reason)
        pdf = facturx_pdf(render_pdf(doc), cii_xml(doc), title=f"Avoir {doc.number}")
        path = self._keep("credit_note", doc.number, pdf, now)
        self.uow.credit_notes.add(CreditNoteRow(
            number=doc.number, year=issued_on.year, sequence=sequence, invoice_number=invoice.number,
            registration_id=registration.id, issued_on=issued_on, total=doc.total, lines=_lines(doc), reason=reason,
            document_path=path, created_at=now))
        self._deposit_if_public(doc, "credit_note", now)
        return CreditNoteIssued(credit_note_number=doc.number, invoice_number=invoice.number, issued_on=issued_on,
                                total=doc.total, reason=reason)

    def _keep(self, kind: DocumentKind, number: str, pdf: bytes, now: datetime) -> str:
        """The PDF kept with the document, in its transaction; returns where the store will keep its copy."""
        keep_pdf(self.uow, kind, number, pdf, now)
        return str(self.documents.path_of(document_name(kind, number)))

    def _deposit_if_public(self, doc: InvoiceDocument, kind: DocumentKind, now: datetime) -> None:
        """Every invoice or credit note to a public buyer goes through Chorus Pro: owed from this commit, made
        after it (`consumers.deposits`)."""
        if not (doc.buyer.is_public and doc.buyer.siret):
            return
        self.uow.deposits.add(DepositRow(
            document_number=doc.number, kind=kind, registration_id=doc.registration_id, platform=PLATFORM,
            buyer_siret=doc.buyer.siret, service_code=doc.buyer.chorus_service_code,
            commitment_number=doc.buyer.chorus_commitment_number, status=PENDING, reference=None, created_at=now,
            deposited_at=None))


def _lines(doc: InvoiceDocument) -> list[dict[str, str | int]]:
    return [{"description": line.description, "quantity": line.quantity, "unit_price": str(line.unit_price),
             "total": str(line.total)} for line in doc.lines]


def _registration(registration_id: str, uow: UnitOfWork) -> Registration:
    registration = uow.registrations.get(registration_id, for_update=True)
    if registration is None:
        raise DependencyNotReadyError(f"registration {registration_id} not visible yet")
    return registration


def handle_confirmed(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, *, clock: Clock,
                     catalogue: Catalogue, settings: Settings, seller: Seller, documents: DocumentStore) -> None:
    registration = _registration(message.registration_id or "", uow)
    if uow.invoices.current_of(registration.id) is not None:
        return  # the same registration gets the same invoice, once
    if registration.state != State.CONFIRMED:
        raise GuardRefusedError(registration.id, "invoice", f"registration is {registration.state}")
    now = clock.now()
    desk = _Desk(uow, catalogue, settings, seller, documents)
    registration.invoice(desk.invoice(registration, now), at=now, actor=ACTOR, cause=message.event_id)
    held_on = uow.session_records.held_on(registration.session_id or "")
    if held_on is not None:  # operations recorded the session as held before this invoice existed
        planned = catalogue.session(registration.session_id or "")
        assert planned is not None
        registration.hold_session(held_on, planned_on=planned[1].date, at=now, actor=ACTOR, cause=message.event_id)


def handle_cancelled(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, *, clock: Clock,
                     catalogue: Catalogue, settings: Settings, seller: Seller, documents: DocumentStore) -> None:
    """A cancelled registration's invoice is cancelled by a credit note that references it."""
    registration = _registration(message.registration_id or "", uow)
    invoice = uow.invoices.current_of(registration.id)
    if invoice is None or registration.state != State.CANCELLED:
        return  # nothing was invoiced, or already credited
    now = clock.now()
    desk = _Desk(uow, catalogue, settings, seller, documents)
    credit = desk.credit_note(registration, invoice, now=now, reason=event.reason or "session annulée")
    registration.credit(credit, at=now, actor=ACTOR, cause=message.event_id)


def handle_moved(message: Envelope, event: RegistrationMoved, uow: UnitOfWork, *, clock: Clock,
                 catalogue: Catalogue, settings: Settings, seller: Seller, documents: DocumentStore) -> None:
    """An invoice that names the old date is credited and replaced by one with the new date. A settled
    (paid) invoice is kept: the amount does not change, and finance is not asked to refund and re-collect."""
    registration = _registration(message.registration_id or "", uow)
    invoice = uow.invoices.current_of(registration.id)
    if invoice is None or registration.state != State.INVOICED:
        return  # not invoiced yet: the invoice will carry the new date
    now = clock.now()
    desk = _Desk(uow, catalogue, settings, seller, documents)
    reason = f"session déplacée au {event.to_session_id} ({event.reason})"
    credit = desk.credit_note(registration, invoice, now=now, reason=reason)
    registration.reinvoice(credit, desk.invoice(registration, now), at=now, actor=ACTOR, cause=message.event_id)


def handle_correct(message: Envelope, command: CorrectInvoice, uow: UnitOfWork, *, clock: Clock,
                   catalogue: Catalogue, settings: Settings, seller: Seller, documents: DocumentStore) -> None:
    """A wrong invoice: credit note + corrected invoice, never an edit."""
    invoice = uow.invoices.get(command.invoice_number)
    if invoice is None:
        raise GuardRefusedError("?", "reinvoice", f"no invoice numbered {command.invoice_number}")
    if uow.credit_notes.is_credited(invoice.number):
        raise GuardRefusedError(invoice.registration_id, "reinvoice", f"invoice {invoice.number} is already credited")
    registration = _registration(invoice.registration_id, uow)
    if registration.state not in (State.INVOICED, State.SESSION_HELD):
        raise GuardRefusedError(registration.id, "reinvoice",
                                f"registration is {registration.state}: only an unpaid invoice is corrected here")
    form = registration.form
    if command.client is not None:
        form = form.model_copy(update={"client": command.client})
        problems = [e for e in check_form(form, catalogue, date.min) if e.field.startswith("client")]
        if problems:
            raise GuardRefusedError(registration.id, "reinvoice",
                                    "; ".join(f"{p.field}: {p.message_en}" for p in problems))
    now = clock.now()
    desk = _Desk(uow, catalogue, settings, seller, documents)
    credit = desk.credit_note(registration, invoice, now=now, reason=command.reason)
    registration.form = form
    registration.reinvoice(credit, desk.invoice(registration, now), at=now, actor=ACTOR, cause=message.event_id)


def handle_platform_status_changed(message: Envelope, event: InvoicePlatformStatusChanged, uow: UnitOfWork, *,
                                   clock: Clock, catalogue: Catalogue, settings: Settings, seller: Seller,
                                   documents: DocumentStore) -> None:
    """An invoice *rejetée* on Chorus Pro cannot be sent again under its number: it is credited and a new invoice,
    with a new number, is issued with the platform's reason (CGI annexe II 242 nonies A: never reused, corrected
    by a credit note). Once: a credited invoice is left alone. The other statuses act in the poll."""
    if event.status != PlatformStatus.REJETEE or event.kind != "invoice":
        return
    deposit = uow.deposits.get(event.document_number)
    invoice = uow.invoices.get(event.document_number)
    if deposit is None or invoice is None or deposit.platform_status != PlatformStatus.REJETEE:
        raise InconsistentMessageError(f"invoice {event.document_number} is not recorded as rejected")
    if uow.credit_notes.is_credited(invoice.number):
        return
    registration = _registration(invoice.registration_id, uow)
    now = clock.now()
    if registration.state not in (State.INVOICED, State.SESSION_HELD):
        registration.note("platform_rejected", f"{invoice.number} rejetée mais l'inscription est {registration.state} "
                                               ": à traiter par le support", at=now, actor=ACTOR,
                          cause=message.event_id)
        return
    desk = _Desk(uow, catalogue, settings, seller, documents)
    reason = f"facture rejetée par Chorus Pro : {event.reason or 'motif non communiqué'}"[:500]
    credit = desk.credit_note(registration, invoice, now=now, reason=reason)
    registration.reinvoice(credit, desk.invoice(registration, now), at=now, actor=ACTOR, cause=message.event_id)


def poll_platform_now(deps: Deps) -> object:
    """The periodic check: what waits is sent, the followed documents' statuses read (workflow.ops.einvoicing)."""
    return poll_platform(Poll(deps.sessions, deps.clock, deps.chorus, deps.schedule,
                              deps.settings.private_payment_term_days, deps.evidence))


APP = ConsumerApp(ACTOR, {
    "registration.confirmed": handle_confirmed,
    "registration.session_held": handle_session_held,
    "registration.paid": handle_session_held,
    "registration.cancelled": handle_cancelled,
    "registration.moved": handle_moved,
    "cmd.invoice.correct": handle_correct,
    # after the commits above: each document's copy in the store and its deposit, once (consumers.deposits)
    "invoice.issued": handle_invoice_issued,
    "credit_note.issued": handle_credit_note_issued,
    "certificate.issued": handle_certificate_issued,
    "invoice.platform_status_changed": handle_platform_status_changed,
}, periodic=poll_platform_now, period_setting="chorus_poll_seconds")
