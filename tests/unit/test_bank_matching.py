"""Which invoice(s) a bank credit pays (workflow/domain/bank_matching.py): the named rules on cases finance knows,
and properties over any statement: one outcome per line, a split that sums to the credit, a number found however it
is written, nothing allocated to an invoice already paid or credited."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.domain.bank_matching import (
    MATCHED,
    PAYER_MATCH_WINDOW_DAYS,
    PROPOSED,
    UNMATCHED,
    BankCredit,
    InvoiceDue,
    is_treasury,
    match,
    referenced_numbers,
)

ON = date(2024, 11, 4)
SIRET_CD67 = "22670001500018"


def invoice(number: str, outstanding: str, *, status: str = "open", client: str = "ASSOCIATION LES GENETS",
            siret: str | None = None, public: bool = False, issued: date = date(2024, 10, 1)) -> InvoiceDue:
    return InvoiceDue(number, issued, Decimal(outstanding), status, client, siret, public)


def credit(amount: str, remittance: str = "", *, payer: str | None = None, payer_id: str | None = None,
           on: date = ON) -> BankCredit:
    return BankCredit("BQ-1", Decimal(amount), on, payer, payer_id, remittance)


BOOK = [invoice("2024-000012", "625.00"), invoice("2024-000013", "595.00", client="CCAS DE TESTVILLE"),
        invoice("2024-000014", "595.00", client="CCAS DE TESTVILLE"),
        invoice("2024-000015", "1250.00", client="DEPARTEMENT DU BAS-RHIN", siret=SIRET_CD67, public=True),
        invoice("2024-000003", "625.00", status="settled"), invoice("2024-000004", "595.00", status="credited")]


def test_the_invoice_named_in_the_remittance_is_paid_by_the_whole_credit() -> None:
    found = match(credit("625.00", "REGLEMENT FACTURE 2024-000012"), BOOK)
    assert (found.outcome, found.rule) == (MATCHED, "reference")
    assert [(a.invoice_number, a.amount) for a in found.allocations] == [("2024-000012", Decimal("625.00"))]


def test_a_number_without_its_year_is_matched_and_says_so() -> None:
    found = match(credit("625.00", "fact 12"), BOOK)
    assert (found.outcome, found.rule) == (MATCHED, "reference_without_year")
    assert "sans l'année" in found.reason_fr


def test_one_transfer_naming_two_invoices_is_split_by_what_each_owes() -> None:
    found = match(credit("1190.00", "FACTURES 2024-000013 ET 2024-000014"), BOOK)
    assert (found.outcome, found.rule) == (MATCHED, "reference_split")
    assert [(a.invoice_number, str(a.amount)) for a in found.allocations] == [
        ("2024-000013", "595.00"), ("2024-000014", "595.00")]


def test_two_invoices_named_with_another_amount_is_a_proposal_for_finance() -> None:
    found = match(credit("1000.00", "2024-000013 2024-000014"), BOOK)
    assert (found.outcome, found.rule) == (PROPOSED, "reference_split_uncertain")
    assert [str(a.amount) for a in found.allocations] == ["595.00", "405.00"]


def test_an_invoice_already_settled_or_credited_is_never_paid_again() -> None:
    for number in ("2024-000003", "2024-000004"):
        found = match(credit("625.00", f"facture {number}"), BOOK)
        assert (found.outcome, found.rule, found.allocations) == (UNMATCHED, "invoice_closed", ())
        assert number in found.reason_fr


def test_a_treasury_transfer_without_reference_is_proposed_for_the_public_invoice_of_its_amount() -> None:
    found = match(credit("1250.00", "MANDAT 2024 004512 BORDEREAU 231", payer="DRFIP GRAND EST ET DEPT BAS RHIN"), BOOK)
    assert (found.outcome, found.rule) == (PROPOSED, "treasury")
    assert [a.invoice_number for a in found.allocations] == ["2024-000015"]


def test_the_payers_own_siret_with_the_exact_amount_is_matched() -> None:
    found = match(credit("1250.00", "VIR CD67", payer="DEPARTEMENT BAS RHIN", payer_id=SIRET_CD67), BOOK)
    assert (found.outcome, found.rule) == (MATCHED, "payer_siret")


def test_a_set_of_one_clients_invoices_of_the_exact_amount_is_proposed_split() -> None:
    found = match(credit("1190.00", "VIREMENT", payer="C.C.A.S. de Testville"), BOOK)
    assert (found.outcome, found.rule) == (PROPOSED, "payer_name_split")
    assert sum(a.amount for a in found.allocations) == Decimal("1190.00")


def test_the_payer_window_leaves_out_invoices_issued_long_before() -> None:
    late = ON + timedelta(days=PAYER_MATCH_WINDOW_DAYS + 40)
    found = match(credit("1250.00", "", payer="PAIERIE DEPARTEMENTALE", on=late), BOOK)
    assert (found.outcome, found.rule) == (UNMATCHED, "amount_not_owed")


def test_several_invoices_of_the_amount_are_not_guessed() -> None:
    found = match(credit("595.00", "VIREMENT", payer="CCAS DE TESTVILLE"), BOOK)
    assert (found.outcome, found.rule) == (UNMATCHED, "amount_ambiguous")
    assert "2024-000013" in found.reason_fr
    assert "2024-000014" in found.reason_fr


def test_an_unknown_credit_is_kept_with_why() -> None:
    found = match(credit("312.40", "REMBOURSEMENT ACOMPTE", payer="M DUPONT JEAN"), BOOK)
    assert (found.outcome, found.rule) == (UNMATCHED, "no_reference")
    unknown = match(credit("312.40", "FACTURE 2023-000999", payer="M DUPONT JEAN"), BOOK)
    assert (unknown.outcome, unknown.rule) == (UNMATCHED, "unknown_reference")
    assert "2023-000999" in unknown.reason_fr


@pytest.mark.parametrize("remittance", ["FACTURE DU 12/10/2024 MONTANT 625,00", "VIR 2024-10-12 625.00",
                                        "REGLEMENT 2024 1 190,00", "ECHEANCE 10.12.24"])
def test_dates_and_amounts_are_no_invoice_numbers(remittance: str) -> None:
    book = [invoice("2024-000625", "625.00"), invoice("2024-000010", "625.00"), invoice("2024-000012", "625.00"),
            invoice("2024-000001", "625.00"), invoice("2024-000190", "625.00")]
    assert referenced_numbers(remittance) == (set(), set())
    assert match(credit("625.00", remittance), book).outcome == UNMATCHED


def test_treasuries_are_known_by_their_names() -> None:
    assert all(is_treasury(n) for n in ("DRFIP GRAND EST", "Trésorerie de Sélestat", "PAIERIE DEPARTEMENTALE 67",
                                        "DGFIP SGC STRASBOURG", "Direction départementale des Finances publiques"))
    assert not any(is_treasury(n) for n in ("ASSOCIATION LES GENETS", "CCAS DE TESTVILLE", None))


numbers = st.tuples(st.integers(2020, 2030), st.integers(1, 999_999))


def renderings(year: int, sequence: int) -> list[str]:
    s6 = f"{sequence:06d}"
    spaced = " ".join([s6[:3], s6[3:]])
    return [f"{year}-{s6}", f"{year} {s6}", f"{year}{s6}", f"{year}-{sequence}", f"facture {year} - {spaced}",
            f"Fact N° {year}/{sequence}", f"REGLT FACTURE {s6}", f"fact {sequence}", f"ref:{sequence}",
            f"inv {year}_{s6} merci"]


@given(numbers, st.data())
def test_a_number_is_found_however_it_is_written(number: tuple[int, int], data: st.DataObject) -> None:
    year, sequence = number
    text = data.draw(st.sampled_from(renderings(year, sequence)))
    target = invoice(f"{year}-{sequence:06d}", "100.00")
    others = [invoice(f"{year}-{(sequence % 999_999) + 1:06d}", "100.00")] if sequence < 999_999 else []
    found = match(credit("100.00", text), [target, *others])
    assert found.outcome == MATCHED, (text, found)
    assert [a.invoice_number for a in found.allocations] == [target.number]


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
statuses = st.sampled_from(["open", "open", "settled", "overpaid", "credited"])
books = st.lists(st.builds(
    InvoiceDue, number=st.builds(lambda n: f"{n[0]}-{n[1]:06d}", st.tuples(st.integers(2023, 2024),
                                                                           st.integers(1, 30))),
    issued_on=st.dates(date(2024, 1, 1), date(2024, 12, 31)), outstanding=amounts, status=statuses,
    client_name=st.sampled_from(["CCAS DE TESTVILLE", "DEPARTEMENT DU BAS-RHIN", None]),
    client_siret=st.sampled_from([SIRET_CD67, None]), client_is_public=st.booleans()),
    max_size=14, unique_by=lambda i: i.number)
remittances = st.one_of(st.text(max_size=80), st.builds(
    lambda ns: " ".join(f"FACT {y}-{s:06d}" for y, s in ns),
    st.lists(st.tuples(st.integers(2023, 2024), st.integers(1, 30)), max_size=3)))
credits = st.builds(BankCredit, bank_reference=st.just("BQ-1"), amount=amounts,
                    booked_on=st.dates(date(2024, 1, 1), date(2025, 6, 30)),
                    payer_name=st.sampled_from([None, "DRFIP GRAND EST", "CCAS DE TESTVILLE", "M DUPONT"]),
                    payer_id=st.sampled_from([None, SIRET_CD67, "123"]), remittance=remittances)


@given(credits, books)
def test_every_line_gets_one_outcome_and_its_split_sums_to_the_credit(line: BankCredit, book: list[InvoiceDue]
                                                                      ) -> None:
    found = match(line, book)
    assert found.outcome in {MATCHED, PROPOSED, UNMATCHED}
    assert found.reason_fr
    assert found.reason_en
    if found.outcome == UNMATCHED:
        assert found.allocations == ()
    else:
        assert found.allocations
        assert sum(a.amount for a in found.allocations) == line.amount
        assert all(a.amount > 0 for a in found.allocations)
        assert len({a.invoice_number for a in found.allocations}) == len(found.allocations)


@given(credits, books)
def test_nothing_is_allocated_to_an_invoice_paid_or_credited(line: BankCredit, book: list[InvoiceDue]) -> None:
    closed = {i.number for i in book if i.status != "open"}
    assert not closed & {a.invoice_number for a in match(line, book).allocations}


@given(st.text(max_size=300))
def test_any_remittance_is_read_without_error(text: str) -> None:
    with_year, no_year = referenced_numbers(text)
    assert all(s > 0 for _, s in with_year)
    assert all(s > 0 for s in no_year)
