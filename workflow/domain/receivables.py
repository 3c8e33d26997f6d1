"""Finance rules on an invoice's receivable: anomalies of a payment, status, the overdue period. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from schemas.form import ClientCategory
from workflow.domain.payment_rules import LatePayment, PaidPart, ReferenceRates, late_payment_in_parts, principal_parts

OPEN, SETTLED, OVERPAID, CREDITED = "open", "settled", "overpaid", "credited"


def status_after(total: Decimal, paid: Decimal, current: str) -> str:
    if current == CREDITED:
        return CREDITED
    if paid > total:
        return OVERPAID
    return SETTLED if paid == total else OPEN


def payment_anomalies(*, matched: bool, credited: bool, is_public: bool, service_fait_on: date | None,
                      received_on: date, total: Decimal, paid_after: Decimal) -> list[str]:
    """What finance must look at. A public accountant pays only after service fait (décret 2012-1246
    art. 20 and 31): money from a public buyer before it is kept and flagged, never refused."""
    if not matched:
        return ["unknown_invoice"]
    anomalies = []
    if credited:
        anomalies.append("invoice_credited")
    if is_public and (service_fait_on is None or received_on < service_fait_on):
        anomalies.append("before_service_fait")
    if paid_after > total:
        anomalies.append("overpayment")
    return anomalies


def overdue_period(day: date) -> str:
    """`payment.overdue` is published once per invoice per calendar month while it stays unpaid."""
    return f"{day:%Y-%m}"


def owed_for_lateness(category: ClientCategory, total: Decimal, received: Iterable[tuple[Decimal, date]], *,
                      due_on: date, as_of: date, rates: ReferenceRates) -> LatePayment:
    """Interest owed as of `as_of` and the 40 € indemnity: on each part already paid for the days it was late,
    and on what is still unpaid up to `as_of` (CCP R2192-31 and R2192-35; code de commerce L441-10, D441-5)."""
    parts = principal_parts(total, received)
    outstanding = total - sum((p.amount for p in parts), Decimal("0.00"))
    if outstanding > 0:
        parts.append(PaidPart(outstanding, as_of))
    return late_payment_in_parts(parts, due_on=due_on, rates=rates, public=category.is_public)
