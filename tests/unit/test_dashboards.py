"""The dashboards' figures: each receivable in exactly one age bucket and one month, the bars adding up to what is
owed; the bucket boundaries by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.form import ClientCategory
from workflow.domain.dashboards import (
    AGE_BUCKETS,
    OpenReceivable,
    age_bucket,
    aged_receivables,
    expected_by_month,
    fill_rate,
    month_label,
)

AS_OF = date(2026, 12, 3)


@pytest.mark.parametrize(("due_on", "bucket"), [
    (AS_OF + timedelta(days=10), "not_due"), (AS_OF, "not_due"),  # due today: not late yet
    (AS_OF - timedelta(days=1), "late_1_30"), (AS_OF - timedelta(days=30), "late_1_30"),
    (AS_OF - timedelta(days=31), "late_31_60"), (AS_OF - timedelta(days=60), "late_31_60"),
    (AS_OF - timedelta(days=61), "late_over_60"), (AS_OF - timedelta(days=4000), "late_over_60")])
def test_the_age_buckets_by_their_boundaries(due_on: date, bucket: str) -> None:
    assert age_bucket(due_on, AS_OF).key == bucket


def test_receivables_by_age_and_kind_computed_by_hand() -> None:
    aged = aged_receivables([
        OpenReceivable("2026-000001", ClientCategory.LOCAL_AUTHORITY, Decimal("1190.00"), date(2026, 12, 20)),
        OpenReceivable("2026-000002", ClientCategory.LOCAL_AUTHORITY, Decimal("595.00"), date(2026, 11, 20)),
        OpenReceivable("2026-000003", ClientCategory.ASSOCIATION, Decimal("595.00"), date(2026, 11, 1)),
        OpenReceivable("2026-000004", ClientCategory.ASSOCIATION, Decimal("100.50"), date(2026, 9, 1)),
    ], AS_OF)
    assert aged.by_age == {"not_due": Decimal("1190.00"), "late_1_30": Decimal("595.00"),
                           "late_31_60": Decimal("595.00"), "late_over_60": Decimal("100.50")}
    assert aged.count_by_age == {"not_due": 1, "late_1_30": 1, "late_31_60": 1, "late_over_60": 1}
    assert aged.by_age_and_kind["late_31_60"] == {ClientCategory.ASSOCIATION: Decimal("595.00")}
    assert aged.total == Decimal("2480.50")


receivables = st.lists(st.builds(
    OpenReceivable, invoice_number=st.just("2026-000001"), category=st.sampled_from(list(ClientCategory)),
    outstanding=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
    due_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))), max_size=40)


@given(receivables, st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_every_receivable_is_counted_once_by_age_by_kind_and_by_month(items: list[OpenReceivable],
                                                                      as_of: date) -> None:
    owed = sum((r.outstanding for r in items), Decimal("0.00"))
    aged = aged_receivables(items, as_of)
    assert list(aged.by_age) == [b.key for b in AGE_BUCKETS]
    assert aged.total == owed
    assert sum(aged.count_by_age.values()) == len(items)
    assert sum((sum(k.values(), Decimal(0)) for k in aged.by_age_and_kind.values()), Decimal(0)) == owed
    months = expected_by_month(items, as_of)
    assert sum((m.amount for m in months), Decimal("0.00")) == owed
    assert sum(m.invoices for m in months) == len(items)
    assert [m.month for m in months] == sorted({f"{r.due_on:%Y-%m}" for r in items})
    assert all(m.overdue == (m.month < f"{as_of:%Y-%m}") for m in months)


def test_fill_rate_and_month_label() -> None:
    assert fill_rate(12, 40) == Decimal("30.0")
    assert fill_rate(1, 3) == Decimal("33.3")
    assert fill_rate(5, None) is None
    assert month_label("2026-03") == "03/2026"
