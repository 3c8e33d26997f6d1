"""Payment deadlines and late payments, computed by hand (to the day and to the cent)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from schemas.form import ClientCategory
from workflow.adapters.data_files import load_reference_rates
from workflow.domain.payment_rules import (
    due_date,
    paris_date,
    payment_deadline_days,
    private_late_payment,
    public_interest_rate,
    public_late_payment,
)

RATES = load_reference_rates()
C = ClientCategory


@pytest.mark.parametrize(("category", "days"), [
    (C.LOCAL_AUTHORITY, 30), (C.STATE, 30), (C.STATE_PUBLIC_ESTABLISHMENT, 30),
    (C.LOCAL_PUBLIC_ESTABLISHMENT, 30), (C.PUBLIC_HEALTH_ESTABLISHMENT, 50), (C.PUBLIC_ENTERPRISE, 60),
    (C.ASSOCIATION, None), (C.COMPANY, None)])
def test_the_category_decides_the_deadline(category: ClientCategory, days: int | None) -> None:
    assert payment_deadline_days(category) == days


def test_a_departement_has_30_days_from_service_fait_when_it_comes_after_receipt() -> None:
    assert due_date(C.LOCAL_AUTHORITY, sent_on=date(2023, 9, 1), received_on=date(2023, 9, 1),
                    service_fait_on=date(2023, 9, 15)) == date(2023, 10, 15)


def test_a_public_hospital_has_50_days_from_receipt_when_service_fait_came_first_in_a_leap_year() -> None:
    assert due_date(C.PUBLIC_HEALTH_ESTABLISHMENT, sent_on=date(2024, 1, 8), received_on=date(2024, 1, 10),
                    service_fait_on=date(2023, 12, 15)) == date(2024, 2, 29)


def test_without_a_receipt_date_the_invoice_counts_as_received_two_days_after_it_was_sent() -> None:
    assert due_date(C.STATE_PUBLIC_ESTABLISHMENT, sent_on=date(2024, 3, 29), received_on=None,
                    service_fait_on=date(2024, 3, 21)) == date(2024, 4, 30)


@pytest.mark.parametrize(("received", "due"), [
    (date(2024, 1, 31), date(2024, 3, 1)), (date(2023, 1, 31), date(2023, 3, 2)),
    (date(2023, 12, 15), date(2024, 1, 14))])
def test_deadlines_across_month_and_year_ends(received: date, due: date) -> None:
    assert due_date(C.LOCAL_AUTHORITY, sent_on=received, received_on=received, service_fait_on=None) == due


def test_a_private_client_pays_on_receipt_or_within_a_contractual_term() -> None:
    assert due_date(C.ASSOCIATION, sent_on=date(2023, 9, 4), received_on=None, service_fait_on=None) == date(
        2023, 9, 4)
    assert due_date(C.COMPANY, sent_on=date(2023, 9, 4), received_on=None, service_fait_on=None,
                    private_term_days=30) == date(2023, 10, 4)
    with pytest.raises(ValueError, match="L441-10"):
        due_date(C.COMPANY, sent_on=date(2023, 9, 4), received_on=None, service_fait_on=None,
                 private_term_days=61)


def test_the_public_rate_is_the_ecb_rate_of_the_half_year_in_which_interest_starts_plus_8() -> None:
    assert public_interest_rate(date(2023, 10, 15), RATES) == Decimal("12.00")  # 4.00 on 1 July 2023
    assert public_interest_rate(date(2024, 6, 29), RATES) == Decimal("12.50")  # late from 30 June: 4.50
    assert public_interest_rate(date(2024, 6, 30), RATES) == Decimal("12.25")  # late from 1 July: 4.25
    assert public_interest_rate(date(2023, 3, 1), RATES) == Decimal("10.50")  # 2.50 on 1 January 2023


def test_a_departement_paying_30_days_late_owes_interest_to_the_cent_and_40_euros() -> None:
    # 1190.00 x 12 % x 30 / 365 = 11.7370 -> 11.74
    late = public_late_payment(Decimal("1190.00"), due_on=date(2023, 10, 15), paid_on=date(2023, 11, 14),
                               rates=RATES)
    assert (late.days_late, late.percent, late.interest, late.indemnity, late.total) == (
        30, Decimal("12.00"), Decimal("11.74"), Decimal("40.00"), Decimal("51.74"))


def test_paid_on_the_due_date_owes_nothing_and_one_day_late_owes_a_day() -> None:
    on_time = public_late_payment(Decimal("595.00"), due_on=date(2024, 2, 29), paid_on=date(2024, 2, 29),
                                  rates=RATES)
    assert on_time.total == Decimal("0.00")
    one_day = public_late_payment(Decimal("595.00"), due_on=date(2024, 2, 29), paid_on=date(2024, 3, 1),
                                  rates=RATES)
    assert (one_day.days_late, one_day.interest) == (1, Decimal("0.20"))  # 595 x 12.5 % / 365 = 0.2038


def test_a_long_public_delay_keeps_the_rate_of_its_first_day() -> None:
    # 1875.00 x 12.5 % x 60 / 365 = 38.5274 -> 38.53 (late from 30 June 2024, still 12.5 % in August)
    late = public_late_payment(Decimal("1875.00"), due_on=date(2024, 6, 29), paid_on=date(2024, 8, 28),
                               rates=RATES)
    assert (late.days_late, late.percent, late.interest) == (60, Decimal("12.50"), Decimal("38.53"))


def test_a_private_client_owes_ecb_plus_10_points_and_40_euros_unless_a_consumer() -> None:
    # 625.00 x 14 % x 30 / 365 = 7.1918 -> 7.19
    late = private_late_payment(Decimal("625.00"), due_on=date(2023, 9, 4), paid_on=date(2023, 10, 4),
                                rates=RATES)
    assert (late.days_late, late.interest, late.indemnity) == (30, Decimal("7.19"), Decimal("40.00"))
    consumer = private_late_payment(Decimal("625.00"), due_on=date(2023, 9, 4), paid_on=date(2023, 10, 4),
                                    rates=RATES, consumer=True)
    assert consumer.indemnity == Decimal("0.00")


def test_private_penalties_follow_the_rate_of_each_half_year() -> None:
    # 15 days at 14 % (Dec 2023) + 15 days at 14.5 % (Jan 2024): 1000 x (2.1 + 2.175) / 365 = 11.7123
    late = private_late_payment(Decimal("1000.00"), due_on=date(2023, 12, 16), paid_on=date(2024, 1, 15),
                                rates=RATES)
    assert (late.days_late, late.interest) == (30, Decimal("11.71"))


@pytest.mark.parametrize(("instant", "day"), [
    (datetime(2024, 10, 26, 22, 30, tzinfo=UTC), date(2024, 10, 27)),  # CEST, the night summer time ends
    (datetime(2024, 10, 27, 22, 30, tzinfo=UTC), date(2024, 10, 27)),  # CET after the change
    (datetime(2024, 3, 30, 23, 30, tzinfo=UTC), date(2024, 3, 31)),  # CET, the night summer time starts
    (datetime(2024, 3, 31, 22, 30, tzinfo=UTC), date(2024, 4, 1)),  # CEST after the change
])
def test_days_are_paris_days_across_daylight_saving_changes(instant: datetime, day: date) -> None:
    assert paris_date(instant) == day
