"""Finance rules on an invoice's receivable: anomalies of a payment, status, the overdue period. Pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from schemas.form import ClientCategory
from workflow.domain.payment_rules import LatePayment, ReferenceRates, private_late_payment, public_late_payment

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


def owed_for_lateness(category: ClientCategory, outstanding: Decimal, *, due_on: date, as_of: date,
                      rates: ReferenceRates) -> LatePayment:
    """Interest owed to date on what is still unpaid, and the 40 € indemnity."""
    if category.is_public:
        return public_late_payment(outstanding, due_on=due_on, paid_on=as_of, rates=rates)
    return private_late_payment(outstanding, due_on=due_on, paid_on=as_of, rates=rates)
