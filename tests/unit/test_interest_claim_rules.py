"""Interest owed as of the payment date, part by part, and the claim's own rules (CCP R2192-31 to R2192-36)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.form import ClientCategory as C
from schemas.limits import FIELD_MAX_LENGTH
from workflow.adapters.data_files import load_reference_rates
from workflow.adapters.document_store import DocumentNotFoundError, DocumentStore, document_name
from workflow.adapters.interest_claim_pdf import render_claim_pdf
from workflow.domain.errors import InterestClaimError
from workflow.domain.interest_claim import (
    PUBLIC_RATE_SOURCE,
    ClaimLetter,
    checked_waive_reason,
    claim_number,
    claim_payable_by,
    owes_a_claim,
)
from workflow.domain.payment_rules import LatePayment, PaidPart, late_payment_in_parts, principal_parts
from workflow.domain.receivables import owed_for_lateness

RATES = load_reference_rates()
DUE = date(2023, 10, 15)  # the seed's Département invoice: service fait 15 September 2023 + 30 days (R2192-10)


def public(parts: list[tuple[str, date]], due_on: date = DUE) -> LatePayment:
    return late_payment_in_parts([PaidPart(Decimal(a), d) for a, d in parts], due_on=due_on, rates=RATES, public=True)


def test_1190_euros_paid_30_days_late_owe_11_74_of_interest_and_40_euros() -> None:
    # late from 16 October 2023: ECB rate on 1 July 2023 = 4.00 %, + 8 points = 12.00 % (R2192-31)
    # 1190.00 x 12 % x 30 / 365 = 11.7370 -> 11.74 ; + 40.00 (R2192-35) = 51.74
    owed = public([("1190.00", date(2023, 11, 14))])
    assert (owed.days_late, owed.percent, owed.interest, owed.indemnity, owed.total) == (
        30, Decimal("12.00"), Decimal("11.74"), Decimal("40.00"), Decimal("51.74"))


def test_each_part_bears_interest_for_its_own_delay_and_the_indemnity_is_owed_once() -> None:
    # 595 paid 10 days late: 595 x 12 % x 10 / 365 = 1.9562 -> 1.96; 595 paid 30 days late: 5.8685 -> 5.87
    owed = public([("595.00", date(2023, 10, 25)), ("595.00", date(2023, 11, 14))])
    assert (owed.days_late, owed.interest, owed.indemnity) == (
        30, Decimal("7.83"), Decimal("40.00"))


def test_a_part_paid_on_time_bears_nothing() -> None:
    owed = public([("595.00", date(2023, 10, 15)), ("595.00", date(2023, 11, 14))])
    assert (owed.interest, owed.indemnity) == (Decimal("5.87"), Decimal("40.00"))
    assert public([("1190.00", date(2023, 10, 15))]).total == Decimal("0.00")


def test_what_is_paid_beyond_the_principal_is_not_principal_paid_late() -> None:
    parts = principal_parts(Decimal("1190.00"), [(Decimal("1000.00"), date(2023, 11, 14)),
                                                 (Decimal("500.00"), date(2023, 10, 1))])
    assert parts == [PaidPart(Decimal("500.00"), date(2023, 10, 1)), PaidPart(Decimal("690.00"), date(2023, 11, 14))]


def test_the_overdue_notice_counts_the_parts_paid_late_and_what_is_still_unpaid() -> None:
    # 595 paid 10 days late (1.96) + 595 still unpaid on 14 November, 30 days late (5.87)
    owed = owed_for_lateness(C.LOCAL_AUTHORITY, Decimal("1190.00"), [(Decimal("595.00"), date(2023, 10, 25))],
                             due_on=DUE, as_of=date(2023, 11, 14), rates=RATES)
    assert (owed.interest, owed.indemnity) == (Decimal("7.83"), Decimal("40.00"))


def test_a_private_company_owes_ecb_plus_10_points_on_each_part() -> None:
    # L441-10 II: 4.00 + 10 = 14 %; 1190 x 14 % x 30 / 365 = 13.6932 -> 13.69; D441-5: 40 €
    owed = late_payment_in_parts([PaidPart(Decimal("1190.00"), date(2023, 11, 14))], due_on=DUE, rates=RATES,
                                 public=False)
    assert (owed.percent, owed.interest, owed.indemnity) == (Decimal("14.00"), Decimal("13.69"), Decimal("40.00"))


def test_the_claim_is_numbered_after_its_invoice_and_names_its_rate() -> None:
    assert claim_number("2023-000001") == "INT-2023-000001"
    assert PUBLIC_RATE_SOURCE == "taux BCE au 1er jour du semestre + 8 points (CCP R2192-31)"


def test_the_claim_is_payable_45_days_after_the_principal_and_never_less_than_30_days_after_issue() -> None:
    assert claim_payable_by(principal_paid_on=date(2023, 11, 14), issued_on=date(2023, 11, 15)) == date(2023, 12, 29)
    assert claim_payable_by(principal_paid_on=date(2023, 11, 14), issued_on=date(2023, 12, 20)) == date(2024, 1, 19)


def test_only_a_public_buyer_paying_late_is_sent_a_claim() -> None:
    late = public([("1190.00", date(2023, 11, 14))])
    on_time = public([("1190.00", DUE)])
    assert owes_a_claim(public_buyer=True, owed=late)
    assert not owes_a_claim(public_buyer=False, owed=late)
    assert not owes_a_claim(public_buyer=True, owed=on_time)


@pytest.mark.parametrize("reason", ["", "  ab ", "x" * 501, "geste\x07commercial"])
def test_a_waiver_without_a_fitting_reason_is_refused_in_french_and_english(reason: str) -> None:
    with pytest.raises(InterestClaimError) as refused:
        checked_waive_reason(reason)
    assert str(refused.value.reason_fr).startswith("Une renonciation demande un motif de 3 à 500 caractères")
    assert "a waiver needs a reason of 3 to 500 characters" in str(refused.value)


def test_a_waiver_reason_is_kept_trimmed() -> None:
    assert checked_waive_reason("  geste commercial accordé par la direction ") == (
        "geste commercial accordé par la direction")


# --- properties ------------------------------------------------------------------------------------------------

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
DUES = st.dates(min_value=date(2017, 1, 1), max_value=date(2025, 12, 31))
DELAYS = st.integers(min_value=-60, max_value=720)


@given(amount=AMOUNTS, due_on=DUES, delay=DELAYS, public_buyer=st.booleans())
def test_interest_is_never_negative_and_nothing_is_owed_on_time(amount: Decimal, due_on: date, delay: int,
                                                                public_buyer: bool) -> None:
    owed = late_payment_in_parts([PaidPart(amount, due_on + timedelta(days=delay))], due_on=due_on, rates=RATES,
                                 public=public_buyer)
    assert owed.interest >= 0
    assert owed.indemnity >= 0
    if delay <= 0:
        assert (owed.days_late, owed.total) == (0, Decimal("0.00"))
    else:
        assert owed.days_late == delay
        assert owed.indemnity == Decimal("40.00")


@given(amount=AMOUNTS, due_on=DUES, delay=st.integers(min_value=0, max_value=720), more=st.integers(1, 365),
       public_buyer=st.booleans())
def test_interest_never_decreases_when_paid_later(amount: Decimal, due_on: date, delay: int, more: int,
                                                  public_buyer: bool) -> None:
    def owed(days: int) -> Decimal:
        return late_payment_in_parts([PaidPart(amount, due_on + timedelta(days=days))], due_on=due_on, rates=RATES,
                                     public=public_buyer).interest

    assert owed(delay + more) >= owed(delay)


@given(total=AMOUNTS, cuts=st.lists(st.tuples(AMOUNTS, st.integers(-30, 400)), min_size=1, max_size=5))
def test_the_parts_never_count_more_than_the_principal(total: Decimal, cuts: list[tuple[Decimal, int]]) -> None:
    parts = principal_parts(total, [(a, DUE + timedelta(days=d)) for a, d in cuts])
    assert sum((p.amount for p in parts), Decimal(0)) == min(total, sum((a for a, _ in cuts), Decimal(0)))
    assert all(p.amount > 0 for p in parts)


def test_the_claim_letter_has_a_name_of_its_own_in_the_document_store(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    store.write(document_name("interest_claim", "INT-2023-000001"), b"%PDF-1.4 claim")
    assert store.read_named("interets-INT-2023-000001.pdf") == b"%PDF-1.4 claim"
    with pytest.raises(DocumentNotFoundError):
        document_name("interest_claim", "2023-000001")  # an invoice's number is not a claim's
    with pytest.raises(DocumentNotFoundError):
        store.read_named("interets-INT-2023-000001.pdf/../../etc.pdf")


@settings(max_examples=15, deadline=None)
@given(name=st.text(min_size=1, max_size=FIELD_MAX_LENGTH["client.name"]),
       street=st.text(min_size=1, max_size=FIELD_MAX_LENGTH["client.address.street"]),
       city=st.text(min_size=1, max_size=FIELD_MAX_LENGTH["client.address.city"]))
def test_the_letter_draws_any_buyer_the_form_accepts(name: str, street: str, city: str) -> None:
    """The widest values of the contract (and any characters) wrap or show as boxes, never a layout error."""
    pdf = render_claim_pdf(ClaimLetter(
        number="INT-2023-000001", issued_on=date(2023, 11, 15), seller_lines=("IPP Formation",),
        buyer_lines=(name, street, f"94054 {city}"), invoice_number="2023-000001", principal=Decimal("9999999999.99"),
        due_on=DUE, paid_on=date(2023, 11, 14), days_late=30, percent=Decimal("12.00"), rate_source=PUBLIC_RATE_SOURCE,
        interest=Decimal("98630136.98"), indemnity=Decimal("40.00"), payable_by=date(2023, 12, 29), iban=None))
    assert pdf.startswith(b"%PDF")
