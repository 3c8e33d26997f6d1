"""The interest claim a late settlement owes, written in the payments consumer's transaction that records it.

The claim row, its PDF (kept in `document_files` like an invoice's) and `interest_claim.issued` in the outbox
commit with the settlement or not at all: a redelivered payment finds its payment id recorded and issues nothing
again, and a claim already issued for the invoice is never issued twice (one per invoice, numbered after it).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from consumers.deposits import keep_pdf
from schemas.messages import InterestClaimIssued
from workflow.adapters.interest_claim_pdf import render_claim_pdf
from workflow.domain.interest_claim import (
    OPEN,
    PUBLIC_RATE_SOURCE,
    ClaimLetter,
    claim_number,
    claim_payable_by,
)
from workflow.domain.invoice import Seller
from workflow.domain.payment_rules import LatePayment, paris_date
from workflow.domain.registration import Registration
from workflow.persistence.orm import InterestClaimRow, ReceivableRow
from workflow.persistence.unit_of_work import UnitOfWork


def buyer_lines(registration: Registration | None, fallback: str | None) -> tuple[str, ...]:
    """The buyer's name and postal address as the form gave them (the invoice's addressee)."""
    if registration is None:
        return (fallback or "",)
    client = registration.form.client
    a = client.address
    lines = [client.name or fallback or "", a.street or "", *([a.complement] if a.complement else []),
             f"{a.postal_code or ''} {a.city or ''}".strip(), *([a.country] if a.country != "FR" else [])]
    if client.siret:
        lines.append(f"SIRET {client.siret}")
    return tuple(line for line in lines if line)


def seller_lines(seller: Seller) -> tuple[str, ...]:
    return (seller.name, seller.street, f"{seller.postal_code} {seller.city}", f"Tél. {seller.phone} – {seller.email}",
            f"SIRET {seller.siret}")


def issue_claim(uow: UnitOfWork, receivable: ReceivableRow, registration: Registration | None, owed: LatePayment,
                *, principal_paid_on: date, now: datetime, seller: Seller) -> InterestClaimRow:
    """The claim of a public buyer's late settlement: its row, its letter and its event, in this transaction;
    the one already issued for the invoice if any."""
    number = claim_number(receivable.invoice_number)
    if (issued := uow.interest_claims.get(number)) is not None:
        return issued
    issued_on = paris_date(now)
    claim = InterestClaimRow(
        number=number, invoice_number=receivable.invoice_number, registration_id=receivable.registration_id,
        client_name=receivable.client_name, principal=receivable.total, due_on=receivable.due_on,
        principal_paid_on=principal_paid_on, days_late=owed.days_late, percent=owed.percent,
        rate_source=PUBLIC_RATE_SOURCE, interest=owed.interest, indemnity=owed.indemnity, total=owed.total,
        payable_by=claim_payable_by(principal_paid_on=principal_paid_on, issued_on=issued_on), status=OPEN,
        paid=Decimal("0.00"), paid_on=None, waived_by=None, waive_reason=None, issued_at=now, closed_at=None,
        updated_at=now)
    uow.interest_claims.add(claim)
    keep_pdf(uow, "interest_claim", number, render_claim_pdf(ClaimLetter(
        number=number, issued_on=issued_on, seller_lines=seller_lines(seller),
        buyer_lines=buyer_lines(registration, receivable.client_name), invoice_number=receivable.invoice_number,
        principal=claim.principal, due_on=claim.due_on, paid_on=principal_paid_on, days_late=claim.days_late,
        percent=claim.percent, rate_source=claim.rate_source, interest=claim.interest, indemnity=claim.indemnity,
        payable_by=claim.payable_by, iban=seller.iban)), now)
    uow.publish("interest_claim.issued", InterestClaimIssued(
        number=number, invoice_number=claim.invoice_number, principal=claim.principal, due_on=claim.due_on,
        principal_paid_on=principal_paid_on, days_late=claim.days_late, interest_percent=claim.percent,
        rate_source=claim.rate_source, interest=claim.interest, indemnity=claim.indemnity, total=claim.total,
        payable_by=claim.payable_by), receivable.registration_id)
    return claim
