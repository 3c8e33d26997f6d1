"""The retention rules on dates computed by hand: invoices 10 years from the close of their financial year
(L123-22), a certificate's supporting documents 3 years from the end of the year of the last payment (the
certificate's commitment), kept while unpaid; never earlier than the legal minimum; the day typed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.domain.retention import (
    ACCOUNTING,
    CERTIFICATE_EVIDENCE,
    Kind,
    Paid,
    RetentionDateError,
    accounting_erasable_from,
    accounting_item,
    as_of_date,
    evidence_erasable_from,
    evidence_item,
    paid,
    report,
)

D = date.fromisoformat
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31))


def years_later(day: date, years: int) -> date:
    """The same day `years` later (29 February: the 28th), the plain reading of "kept N years"."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@pytest.mark.parametrize(("issued_on", "erasable_from"), [
    ("2024-06-30", "2035-01-01"),  # the 2024 financial year closes on 31 December 2024: kept to 31 December 2034
    ("2024-01-01", "2035-01-01"),
    ("2024-12-31", "2035-01-01"),
    ("2022-12-10", "2033-01-01"),
    ("2024-02-29", "2035-01-01"),
])
def test_an_invoice_is_kept_ten_years_from_the_close_of_its_financial_year(issued_on: str, erasable_from: str
                                                                           ) -> None:
    assert accounting_erasable_from(D(issued_on)) == D(erasable_from)
    item = accounting_item(Kind.INVOICE, "2024-000042", D(issued_on))
    assert item.rule is ACCOUNTING
    assert "L123-22" in item.rule.article
    assert not item.erasable(D(erasable_from) - timedelta(days=1))
    assert item.erasable(D(erasable_from))


@pytest.mark.parametrize("kind", [Kind.CREDIT_NOTE, Kind.PAYMENT])
def test_credit_notes_and_payments_follow_the_invoices_rule(kind: Kind) -> None:
    item = accounting_item(kind, "X", D("2023-10-05"))
    assert (item.rule, item.erasable_from) == (ACCOUNTING, D("2034-01-01"))


def test_supporting_documents_are_kept_three_years_from_the_end_of_the_year_of_the_last_payment() -> None:
    # Given a registration paid in two parts, the last on 15 March 2024
    acme = paid("acme", ["settled"], [D("2023-11-02"), D("2024-03-15")])
    assert acme == Paid("acme", in_full=True, last_payment_on=D("2024-03-15"))
    # When its certificate (issued 20 September 2023) is dated
    item = evidence_item(Kind.CERTIFICATE, "CR-1", D("2023-09-20"), [acme])
    # Then it is kept to 31 December 2027
    assert (item.rule, item.erasable_from, item.waiting_for) == (CERTIFICATE_EVIDENCE, D("2028-01-01"), ())
    assert not item.erasable(D("2027-12-31"))
    assert item.erasable(D("2028-01-01"))


def test_a_session_s_records_wait_for_the_last_of_its_registrations_payments() -> None:
    concerned = [Paid("acme", True, D("2023-10-01")), Paid("dep-94", True, D("2024-01-15"))]
    assert evidence_erasable_from(D("2023-09-15"), concerned) == (D("2028-01-01"), ())
    assert evidence_erasable_from(D("2023-09-15"), concerned[:1]) == (D("2027-01-01"), ())


def test_a_document_made_after_an_advance_payment_counts_from_its_own_year() -> None:
    # paid in December 2023 before a session of January 2024: its sheet is kept to 31 December 2027
    assert evidence_erasable_from(D("2024-01-12"), [Paid("admr", True, D("2023-12-20"))]) == (D("2028-01-01"), ())


def test_while_a_registration_concerned_is_not_paid_in_full_its_documents_are_kept_pending() -> None:
    concerned = [Paid("acme", True, D("2024-03-15")), paid("dep-94", ["open"], [D("2024-02-01")]),
                 paid("gironde", [None], [])]  # invoiced, its receivable not opened yet
    item = evidence_item(Kind.SIGNED_SHEET, "cpom-handicap-2023-09-15", D("2023-09-15"), concerned)
    assert (item.erasable_from, item.waiting_for) == (None, ("dep-94", "gironde"))
    assert not item.erasable(date.max)
    assert evidence_erasable_from(D("2023-09-15"), []) == (None, ())  # nobody known to have paid: kept


@pytest.mark.parametrize(("statuses", "in_full"), [
    (["settled"], True), (["overpaid"], True), (["credited", "settled"], True),  # a corrected invoice, paid
    (["open"], False), (["settled", "open"], False), ([None], False), (["credited"], False), ([], False)])
def test_paid_in_full_means_no_invoice_left_open(statuses: list[str | None], in_full: bool) -> None:
    assert paid("r", statuses, [D("2024-03-15")]).in_full is in_full


def test_the_report_puts_the_earliest_first_the_pending_last_and_can_keep_only_the_erasable() -> None:
    invoice = accounting_item(Kind.INVOICE, "2022-000001", D("2022-12-10"))  # 2033-01-01
    credit = accounting_item(Kind.CREDIT_NOTE, "2023-000004", D("2023-10-05"))  # 2034-01-01
    sheet = evidence_item(Kind.SIGNED_SHEET, "s", D("2023-09-15"), [Paid("a", True, D("2023-12-01"))])  # 2027
    pending = evidence_item(Kind.CERTIFICATE, "CR-2", D("2023-09-20"), [Paid("b", False, None)])
    assert report([pending, credit, invoice, sheet], D("2033-06-01")) == [sheet, invoice, credit, pending]
    assert report([pending, credit, invoice, sheet], D("2033-06-01"), erasable_only=True) == [sheet, invoice]


@given(dated=DAYS)
def test_an_accounting_document_is_never_erasable_before_ten_years_have_passed(dated: date) -> None:
    erasable_from = accounting_erasable_from(dated)
    assert erasable_from > years_later(dated, 10)
    assert (erasable_from.month, erasable_from.day) == (1, 1)
    assert erasable_from <= date(dated.year + 11, 1, 1)  # and no later than the close of its year + 10


@given(dated=DAYS, payments=st.lists(st.tuples(DAYS, st.lists(DAYS, min_size=1, max_size=3)), min_size=1,
                                     max_size=4))
def test_supporting_documents_are_never_erasable_before_three_years_after_the_last_payment(
        dated: date, payments: list[tuple[date, list[date]]]) -> None:
    concerned = [paid(f"r{n}", ["settled"], days) for n, (_, days) in enumerate(payments)]
    erasable_from, waiting = evidence_erasable_from(dated, concerned)
    assert erasable_from is not None
    assert waiting == ()
    last = max(day for _, days in payments for day in days)
    assert erasable_from > years_later(last, 3)
    assert erasable_from > years_later(dated, 3)  # after the document itself, whatever the payments' dates
    assert erasable_from == date(max(last.year, dated.year) + 4, 1, 1)


@given(dated=DAYS, last=DAYS, unpaid=st.sampled_from([[None], ["open"], ["settled", "open"]]))
def test_one_registration_not_paid_in_full_keeps_the_documents_whatever_the_others(
        dated: date, last: date, unpaid: list[str | None]) -> None:
    concerned = [paid("a", ["settled"], [last]), paid("b", unpaid, [last])]
    assert evidence_erasable_from(dated, concerned) == (None, ("b",))


@pytest.mark.parametrize(("typed", "day"), [("2033-06-01", D("2033-06-01")), (" 2024-02-29 ", D("2024-02-29")),
                                            ("2000-01-01", D("2000-01-01")), ("2099-12-31", D("2099-12-31"))])
def test_the_day_asked_about_is_a_real_day_written_yyyy_mm_dd(typed: str, day: date) -> None:
    assert as_of_date(typed) == day


@pytest.mark.parametrize("typed", ["", "2023-02-29", "2024-13-01", "20240101", "2024-W01-1", "2024-1-5",
                                   "1999-12-31", "2100-01-01", "٢٠٢٤-٠١-٠١", "2024-01-01\x1b[2J", "9" * 10_000,
                                   "2024-01-01T00:00"])
def test_a_bad_day_is_refused_in_french_and_english(typed: str) -> None:
    with pytest.raises(RetentionDateError) as refused:
        as_of_date(typed)
    message = str(refused.value)
    assert message.startswith("date « ")
    assert " invalide : AAAA-MM-JJ, du 2000-01-01 au 2099-12-31 / invalid date '" in message
    assert "\x1b" not in message
    assert len(message) < 400
