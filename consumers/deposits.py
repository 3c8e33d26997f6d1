"""After the commit that issued a document: its copy in the document store, and for a public buyer its deposit on
Chorus Pro, once. Run by the invoicing consumer on the committed `invoice.issued`, `credit_note.issued` and
`certificate.issued`, each its own message: a failed deposit is retried, then parked, on its own, and never
redoes the invoice; an invoice rolled back has no event, so no file and no deposit.

Once per number, whatever is redelivered or retried:
- the copy is the PDF the issuing transaction kept (`document_files`), written under its store name: writing it
  again writes the same bytes;
- the deposit row (`deposits`, written *pending* with the document) is locked, and an *accepted* one is not sent
  again; before sending, the platform is asked whether it already holds that number (`deposited`), then what
  the buyer requires: a document missing a service code or commitment number it requires is *held* with its
  reason, not sent to be rejected (`workflow.ops.einvoicing.send_deposit`);
- `invoice.deposited` goes through the outbox in the transaction that records the acceptance.

The window left: the platform accepts, then this process dies (or the database fails) before the acceptance
commits. The message is redelivered and the platform is asked first: the file drop finds its routing file, and
the Chorus Pro API's search by invoice number answers the same, while the platform itself refuses a second
invoice with a number the supplier already deposited (its duplicate check). A deposit can be sent twice only
if the platform does not yet show one it accepted a moment before, and then its duplicate check refuses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import structlog

from schemas.messages import CertificateIssued, CreditNoteIssued, Envelope, InvoiceIssued
from workflow.adapters.document_store import DocumentKind, DocumentStore, document_name
from workflow.adapters.einvoicing import EInvoicingPlatform
from workflow.domain.clock import Clock
from workflow.domain.errors import DependencyNotReadyError, InconsistentMessageError
from workflow.ops.einvoicing import ACCEPTED, EVIDENCE, PENDING, send_deposit
from workflow.persistence.orm import DepositRow, DocumentFileRow
from workflow.persistence.unit_of_work import UnitOfWork

PLATFORM = "chorus-pro"
__all__ = ["ACCEPTED", "EVIDENCE", "PENDING", "PLATFORM", "handle_certificate_issued", "handle_credit_note_issued",
           "handle_invoice_issued", "keep_pdf", "owe_evidence"]
EvidencePdf = Callable[[UnitOfWork, str], bytes]  # a session's evidence pack, drawn through the unit of work

log = structlog.get_logger("deposits")


def keep_pdf(uow: UnitOfWork, kind: DocumentKind, number: str, pdf: bytes, now: datetime) -> None:
    """An issued document's PDF, in the database with it: the e-mails attach these bytes, and the document store
    gets its copy once the issue committed."""
    uow.document_files.add(DocumentFileRow(
        name=document_name(kind, number), kind=kind, number=number, content=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(), created_at=now, stored_at=None))


def handle_invoice_issued(message: Envelope, event: InvoiceIssued, uow: UnitOfWork, *, clock: Clock,
                          documents: DocumentStore, chorus: EInvoicingPlatform) -> None:
    invoice = uow.invoices.get(event.invoice_number)
    if invoice is None or invoice.registration_id != message.registration_id:
        raise InconsistentMessageError(f"no invoice {event.invoice_number} issued for {message.registration_id}")
    _store_and_deposit(uow, "invoice", invoice.number, clock=clock, documents=documents, chorus=chorus)


def handle_credit_note_issued(message: Envelope, event: CreditNoteIssued, uow: UnitOfWork, *, clock: Clock,
                              documents: DocumentStore, chorus: EInvoicingPlatform) -> None:
    credit = uow.credit_notes.get(event.credit_note_number)
    if credit is None or credit.registration_id != message.registration_id:
        raise InconsistentMessageError(
            f"no credit note {event.credit_note_number} issued for {message.registration_id}")
    _store_and_deposit(uow, "credit_note", credit.number, clock=clock, documents=documents, chorus=chorus)


def handle_certificate_issued(message: Envelope, event: CertificateIssued, uow: UnitOfWork, *, clock: Clock,
                              documents: DocumentStore, chorus: EInvoicingPlatform, evidence: EvidencePdf) -> None:
    """The certificates' copies in the store (they go to the client by e-mail), then the session's evidence pack
    beside the invoice on Chorus Pro when the buyer asked for it (`owe_evidence`)."""
    for issued in event.certificates:
        certificate = uow.certificates.get(issued.number)
        if certificate is None or certificate.registration_id != message.registration_id:
            raise InconsistentMessageError(f"no certificate {issued.number} issued for {message.registration_id}")
        _store_and_deposit(uow, "certificate", certificate.number, clock=clock, documents=documents, chorus=chorus)
    _attach_evidence(uow, message.registration_id or "", event.session_id, clock=clock, chorus=chorus,
                     evidence=evidence)


def evidence_number(invoice_number: str) -> str:
    """The evidence pack's deposit key: one per invoice (`2023-000001-PJ`)."""
    return f"{invoice_number}-PJ"


def owe_evidence(uow: UnitOfWork, registration_id: str, *, wanted: bool, now: datetime) -> None:
    """With the certificates, in their transaction: the evidence pack owed beside the current invoice, when the
    buyer asks for it (`client.chorus_attach_evidence`) and the invoice goes through Chorus Pro."""
    invoice = uow.invoices.current_of(registration_id)
    owed = uow.deposits.get(invoice.number) if wanted and invoice is not None else None
    if invoice is None or owed is None or uow.deposits.get(evidence_number(invoice.number)) is not None:
        return
    uow.deposits.add(DepositRow(
        document_number=evidence_number(invoice.number), kind="evidence", registration_id=registration_id,
        platform=owed.platform, buyer_siret=owed.buyer_siret, service_code=owed.service_code,
        commitment_number=owed.commitment_number, status=PENDING, reference=None, created_at=now, deposited_at=None))


def _attach_evidence(uow: UnitOfWork, registration_id: str, session_id: str, *, clock: Clock,
                     chorus: EInvoicingPlatform,
                     evidence: EvidencePdf) -> None:
    invoice = uow.invoices.current_of(registration_id)
    owed = uow.deposits.get(evidence_number(invoice.number), for_update=True) if invoice is not None else None
    if invoice is None or owed is None or owed.status == ACCEPTED:
        return
    deposited = uow.deposits.get(invoice.number)
    if deposited is None or deposited.status != ACCEPTED:  # the invoice's own deposit first: retried until then
        raise DependencyNotReadyError(f"invoice {invoice.number} not yet on the platform: its evidence waits")
    reference = chorus.attached(invoice.number, EVIDENCE) or chorus.attach(invoice.number, EVIDENCE,
                                                                           evidence(uow, session_id))
    owed.status, owed.reference, owed.deposited_at = ACCEPTED, reference, clock.now()
    log.info("evidence pack attached to the invoice on the platform", invoice=invoice.number, reference=reference)


def _store_and_deposit(uow: UnitOfWork, kind: DocumentKind, number: str, *, clock: Clock, documents: DocumentStore,
                       chorus: EInvoicingPlatform) -> None:
    name = document_name(kind, number)
    kept = uow.document_files.get(name)
    if kept is None:  # issued before migration 0014, which wrote and deposited it in the issuing transaction
        log.info("document issued before its PDF was kept in the database: nothing to do", document=name)
        return
    now = clock.now()
    documents.write(name, kept.content)
    kept.stored_at = kept.stored_at or now
    deposit = uow.deposits.get(number, for_update=True)
    if deposit is None or deposit.status != PENDING:
        return  # a private client's, a certificate, already deposited, or held for its routing: not sent from here
    send_deposit(uow, deposit, kept.content, platform=chorus, now=now)
