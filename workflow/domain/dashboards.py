"""What the back office's dashboards show, computed from plain values (`workflow.ops.dashboards` reads them): the
receivables by age and by kind of client, the payments expected per month, a session's fill rate. Pure, no I/O.

Each figure is a partition of what it summarises: every open receivable falls in exactly one age bucket and one
month, so the chart's bars add up to the outstanding total finance reads elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from schemas.form import ClientCategory

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AgeBucket:
    key: str
    fr: str
    en: str
    first_day_late: int | None  # None: not due yet
    last_day_late: int | None  # None: no upper bound


# Days late = days after the due date (a receivable due today is not late: payable "au plus tard" that day).
AGE_BUCKETS = (
    AgeBucket("not_due", "Non échu", "Not due", None, 0),
    AgeBucket("late_1_30", "Retard de 1 à 30 jours", "1–30 days late", 1, 30),
    AgeBucket("late_31_60", "Retard de 31 à 60 jours", "31–60 days late", 31, 60),
    AgeBucket("late_over_60", "Retard de plus de 60 jours", "Over 60 days late", 61, None),
)

# The kinds of client in the order a chart's columns follow (the words a person reads are the page's, in its
# language: regflow/web/dashboard_pages.py).
CLIENT_KINDS: tuple[ClientCategory, ...] = (
    ClientCategory.STATE, ClientCategory.LOCAL_AUTHORITY, ClientCategory.STATE_PUBLIC_ESTABLISHMENT,
    ClientCategory.LOCAL_PUBLIC_ESTABLISHMENT, ClientCategory.PUBLIC_HEALTH_ESTABLISHMENT,
    ClientCategory.PUBLIC_ENTERPRISE, ClientCategory.ASSOCIATION, ClientCategory.COMPANY)


@dataclass(frozen=True)
class OpenReceivable:
    invoice_number: str
    category: ClientCategory
    outstanding: Decimal  # total − paid, > 0
    due_on: date


def days_late(due_on: date, as_of: date) -> int:
    return max((as_of - due_on).days, 0)


def age_bucket(due_on: date, as_of: date) -> AgeBucket:
    late = days_late(due_on, as_of)
    return next(b for b in AGE_BUCKETS if b.last_day_late is None or late <= b.last_day_late)


@dataclass(frozen=True)
class AgedReceivables:
    """Outstanding amounts per age bucket (every bucket present, in order) and, within each, per kind of client."""

    by_age: dict[str, Decimal]
    by_age_and_kind: dict[str, dict[ClientCategory, Decimal]]
    count_by_age: dict[str, int]

    @property
    def total(self) -> Decimal:
        return sum(self.by_age.values(), ZERO)


def aged_receivables(receivables: Iterable[OpenReceivable], as_of: date) -> AgedReceivables:
    by_age = {b.key: ZERO for b in AGE_BUCKETS}
    count = dict.fromkeys(by_age, 0)
    by_kind: dict[str, dict[ClientCategory, Decimal]] = {b.key: {} for b in AGE_BUCKETS}
    for receivable in receivables:
        key = age_bucket(receivable.due_on, as_of).key
        by_age[key] += receivable.outstanding
        count[key] += 1
        kinds = by_kind[key]
        kinds[receivable.category] = kinds.get(receivable.category, ZERO) + receivable.outstanding
    return AgedReceivables(by_age, by_kind, count)


@dataclass(frozen=True)
class ExpectedMonth:
    month: str  # YYYY-MM
    amount: Decimal
    invoices: int
    overdue: bool  # the whole month is past: what it holds is late, not expected


def expected_by_month(receivables: Iterable[OpenReceivable], as_of: date) -> list[ExpectedMonth]:
    """What is still to be paid, by the month of its due date, oldest first: the months before `as_of`'s hold what
    is already late."""
    amounts: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    for receivable in receivables:
        month = f"{receivable.due_on:%Y-%m}"
        amounts[month] = amounts.get(month, ZERO) + receivable.outstanding
        counts[month] = counts.get(month, 0) + 1
    current = f"{as_of:%Y-%m}"
    return [ExpectedMonth(month, amounts[month], counts[month], month < current) for month in sorted(amounts)]


def fill_rate(seats_taken: int, capacity: int | None) -> Decimal | None:
    """Seats taken over capacity, in percent to one decimal; None for a session without a capacity."""
    if capacity is None or capacity <= 0:
        return None
    return (Decimal(100) * seats_taken / capacity).quantize(Decimal("0.1"))


def month_label(month: str) -> str:
    """`2026-03` → `03/2026`, the French way of writing a month."""
    year, number = month.split("-")
    return f"{number}/{year}"
