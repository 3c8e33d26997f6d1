"""When an invoice is due, and what a late payment owes. Pure functions on dates and exact decimals.

Sources: code de la commande publique (CCP) R2192-10 to R2192-36 for public buyers; code de commerce
L441-10 and D441-5 for private clients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from schemas.form import ClientCategory
from workflow.domain.clock import PARIS

CENT = Decimal("0.01")

# CCP R2192-35 (public buyers) and code de commerce D441-5 (private): fixed recovery indemnity.
RECOVERY_INDEMNITY = Decimal("40.00")
# CCP R2192-31: ECB rate + 8 points for public buyers.
PUBLIC_INTEREST_MARGIN = Decimal("8")
# Code de commerce L441-10 II: ECB rate + 10 points unless the contract says otherwise.
PRIVATE_PENALTY_MARGIN = Decimal("10")
# CCP R2192-12: without a recorded receipt date, the invoice counts as received 2 days after it was sent.
ASSUMED_DELIVERY_DAYS = 2
# CCP R2192-36: late interest and the indemnity are paid within 45 days of the principal.
INTEREST_PAYABLE_WITHIN_DAYS = 45


def payment_deadline_days(category: ClientCategory) -> int | None:
    """Délai global de paiement of a public buyer, in days; None for a private client (pays on receipt).

    CCP R2192-10: 30 days for the State, local authorities and their public establishments (an ARS
    is a public establishment of the State). R2192-11 1°: 50 days for public health establishments.
    R2192-11 2°: 60 days for public enterprises.
    """
    if not category.is_public:
        return None
    if category == ClientCategory.PUBLIC_HEALTH_ESTABLISHMENT:
        return 50
    if category == ClientCategory.PUBLIC_ENTERPRISE:
        return 60
    return 30


def paris_date(instant: datetime) -> date:
    """The calendar date a person in Paris reads for an instant (deadlines are counted in days there)."""
    return instant.astimezone(PARIS).date()


def payment_period_start(*, sent_on: date, received_on: date | None, service_fait_on: date | None) -> date:
    """The day the délai global de paiement starts.

    CCP R2192-12: from the buyer's receipt of the invoice; when no receipt date is recorded, the date
    it was sent + 2 days. R2192-13: when the service is rendered after the invoice is received, from
    the service-fait date (a public accountant pays only after service fait, décret 2012-1246 art. 20
    and 31).
    """
    start = received_on if received_on is not None else sent_on + timedelta(days=ASSUMED_DELIVERY_DAYS)
    if service_fait_on is not None and service_fait_on > start:
        return service_fait_on
    return start


def due_date(category: ClientCategory, *, sent_on: date, received_on: date | None,
             service_fait_on: date | None, private_term_days: int = 0) -> date:
    """Public buyer: start of the délai global + its length. Private client: payable on receipt of
    the invoice (the brochures), plus an optional contractual term (L441-10 I caps it at 60 days)."""
    days = payment_deadline_days(category)
    if days is None:
        if not 0 <= private_term_days <= 60:
            raise ValueError(f"a private payment term of {private_term_days} days breaks L441-10 (0 to 60)")
        received = received_on if received_on is not None else sent_on
        return received + timedelta(days=private_term_days)
    start = payment_period_start(sent_on=sent_on, received_on=received_on, service_fait_on=service_fait_on)
    return start + timedelta(days=days)


@dataclass(frozen=True)
class RateChange:
    effective_on: date
    percent: Decimal


@dataclass(frozen=True)
class ReferenceRates:
    """The ECB main refinancing rate with the dates it applies from (configuration, not code)."""

    changes: tuple[RateChange, ...]

    def in_force_on(self, day: date) -> Decimal:
        applicable = [c for c in self.changes if c.effective_on <= day]
        if not applicable:
            raise ValueError(f"no ECB reference rate known on {day}")
        return max(applicable, key=lambda c: c.effective_on).percent


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def public_interest_rate(due_on: date, rates: ReferenceRates) -> Decimal:
    """CCP R2192-31: the ECB rate in force on the first day of the half-year in which interest started
    to run (the day after the due date), + 8 points. One rate for the whole delay."""
    first_day_late = due_on + timedelta(days=1)
    return rates.in_force_on(half_year_start(first_day_late)) + PUBLIC_INTEREST_MARGIN


def simple_interest(principal: Decimal, percent: Decimal, days: int) -> Decimal:
    """principal x rate x days / 365, to the cent (half up): the formula used for intérêts moratoires."""
    return (principal * percent / Decimal(100) * Decimal(days) / Decimal(365)).quantize(CENT, ROUND_HALF_UP)


def days_late(due_on: date, paid_on: date) -> int:
    """Interest runs from the day after the due date up to the payment date included (CCP R2192-31)."""
    return max(0, (paid_on - due_on).days)


@dataclass(frozen=True)
class LatePayment:
    days_late: int
    percent: Decimal
    interest: Decimal
    indemnity: Decimal

    @property
    def total(self) -> Decimal:
        return self.interest + self.indemnity


def public_late_payment(principal: Decimal, *, due_on: date, paid_on: date, rates: ReferenceRates) -> LatePayment:
    """What a public buyer owes for paying `principal` on `paid_on` (or owes so far, to that day)."""
    late = days_late(due_on, paid_on)
    if late == 0:
        return LatePayment(0, Decimal(0), Decimal("0.00"), Decimal("0.00"))
    percent = public_interest_rate(due_on, rates)
    return LatePayment(late, percent, simple_interest(principal, percent, late), RECOVERY_INDEMNITY)


def private_late_payment(principal: Decimal, *, due_on: date, paid_on: date, rates: ReferenceRates,
                         margin: Decimal = PRIVATE_PENALTY_MARGIN, consumer: bool = False) -> LatePayment:
    """Code de commerce L441-10 II: penalties at the ECB rate + 10 points, the rate of each half-year
    being the one in force on 1 January or 1 July; due the day after the due date without reminder.
    The 40 € indemnity is owed by professionals only, never by consumers (D441-5)."""
    late = days_late(due_on, paid_on)
    if late == 0:
        return LatePayment(0, Decimal(0), Decimal("0.00"), Decimal("0.00"))
    interest = Decimal(0)
    day = due_on + timedelta(days=1)
    percent = rates.in_force_on(half_year_start(day)) + margin
    while day <= paid_on:
        semester = half_year_start(day)
        next_semester = date(semester.year, 7, 1) if semester.month == 1 else date(semester.year + 1, 1, 1)
        end = min(paid_on, next_semester - timedelta(days=1))
        percent = rates.in_force_on(semester) + margin
        interest += principal * percent / Decimal(100) * Decimal((end - day).days + 1) / Decimal(365)
        day = end + timedelta(days=1)
    return LatePayment(late, percent, interest.quantize(CENT, ROUND_HALF_UP),
                       Decimal("0.00") if consumer else RECOVERY_INDEMNITY)


@dataclass(frozen=True)
class PaidPart:
    """Part of an invoice's principal and the day it was received."""

    amount: Decimal
    paid_on: date


def principal_parts(principal: Decimal, received: Iterable[tuple[Decimal, date]]) -> list[PaidPart]:
    """The payments in date order, counted up to the principal: what is paid beyond it is an overpayment to
    refund, not principal paid late, and bears no interest."""
    parts, left = [], principal
    for amount, paid_on in sorted(received, key=lambda r: r[1]):
        counted = min(amount, left)
        if counted > 0:
            parts.append(PaidPart(counted, paid_on))
            left -= counted
    return parts


def late_payment_in_parts(parts: Iterable[PaidPart], *, due_on: date, rates: ReferenceRates, public: bool,
                          consumer: bool = False) -> LatePayment:
    """Interest on each part for the days it was late, summed; the 40 € indemnity once per invoice paid late.

    Public buyer: CCP R2192-31, one rate for the whole delay, each part bearing interest from the day after the
    due date to the day it was paid; the indemnity R2192-35 once. Private client: code de commerce L441-10 II,
    the rate of each half-year; D441-5 indemnity once, never from a consumer.
    `days_late`: the longest delay of a part."""
    owed = [public_late_payment(p.amount, due_on=due_on, paid_on=p.paid_on, rates=rates) if public
            else private_late_payment(p.amount, due_on=due_on, paid_on=p.paid_on, rates=rates, consumer=consumer)
            for p in parts]
    late = [o for o in owed if o.days_late > 0]
    if not late:
        return LatePayment(0, Decimal(0), Decimal("0.00"), Decimal("0.00"))
    longest = max(late, key=lambda o: o.days_late)
    return LatePayment(longest.days_late, longest.percent, sum((o.interest for o in late), Decimal("0.00")),
                       late[0].indemnity)
