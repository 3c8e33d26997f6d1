"""The claim of late-payment interest once a public buyer has paid an invoice's principal late. Pure.

CCP R2192-31 (rate), R2192-35 (40 € indemnity), R2192-36: both are due without being claimed, within 45 days
of the payment of the principal. We still send the claim (a letter with the computation) so the buyer's
accountant can pay it, and track it as a receivable of its own until it is paid or finance waives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from workflow.domain.errors import InterestClaimError
from workflow.domain.payment_rules import INTEREST_PAYABLE_WITHIN_DAYS, LatePayment

OPEN, PAID, WAIVED = "open", "paid", "waived"
# CCP R2192-31: how the rate printed on the claim is made.
PUBLIC_RATE_SOURCE = "taux BCE au 1er jour du semestre + 8 points (CCP R2192-31)"
# Our own term for a claim recorded late: never less than 30 days from its issue to pay it.
CLAIM_TERM_DAYS = 30
WAIVE_REASON_MIN, WAIVE_REASON_MAX = 3, 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def claim_number(invoice_number: str) -> str:
    """One claim per invoice, numbered after it: `INT-2023-000001` (not an invoice: no gap-free sequence)."""
    return f"INT-{invoice_number}"


def claim_payable_by(*, principal_paid_on: date, issued_on: date) -> date:
    """CCP R2192-36: 45 days after the principal was paid; a claim issued late still leaves 30 days."""
    return max(principal_paid_on + timedelta(days=INTEREST_PAYABLE_WITHIN_DAYS),
               issued_on + timedelta(days=CLAIM_TERM_DAYS))


def owes_a_claim(*, public_buyer: bool, owed: LatePayment) -> bool:
    """A public buyer that paid the principal after the due date owes interest and the indemnity (R2192-36)."""
    return public_buyer and owed.days_late > 0 and owed.total > 0


def status_after_payment(total: Decimal, paid: Decimal) -> str:
    return PAID if paid >= total else OPEN


def checked_waive_reason(reason: str) -> str:
    """Finance waives a claim only with a reason, kept with who and when: 3 to 500 characters, one paragraph."""
    text = reason.strip()
    if not WAIVE_REASON_MIN <= len(text) <= WAIVE_REASON_MAX or _CONTROL.search(text):
        raise InterestClaimError(
            f"a waiver needs a reason of {WAIVE_REASON_MIN} to {WAIVE_REASON_MAX} characters, without control "
            "characters",
            fr=f"Une renonciation demande un motif de {WAIVE_REASON_MIN} à {WAIVE_REASON_MAX} caractères, sans "
               "caractère de contrôle.")
    return text


@dataclass(frozen=True)
class ClaimLetter:
    """What the claim PDF prints: the creditor, the buyer, the invoice and the computation."""

    number: str
    issued_on: date
    seller_lines: tuple[str, ...]
    buyer_lines: tuple[str, ...]
    invoice_number: str
    principal: Decimal
    due_on: date
    paid_on: date
    days_late: int
    percent: Decimal
    rate_source: str
    interest: Decimal
    indemnity: Decimal
    payable_by: date
    iban: str | None

    @property
    def total(self) -> Decimal:
        return self.interest + self.indemnity
