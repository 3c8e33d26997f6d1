"""SIREN/SIRET keys, French phone numbers, e-mails and names.

Valid identifiers are built here (a Luhn key computed from a prefix), not remembered.
"""

from __future__ import annotations

import pytest

from workflow.domain.identifiers import (
    LA_POSTE_SIREN,
    is_valid_email,
    is_valid_siren,
    is_valid_siret,
    luhn_valid,
    normalise_first_name,
    normalise_french_phone,
    normalise_last_name,
    normalise_siret,
)


def luhn_sum(digits: str) -> int:
    """Luhn sum computed independently of the code under test (doubling by position from the right)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        doubled = int(char) * (2 if position % 2 else 1)
        total += doubled // 10 + doubled % 10
    return total


def with_luhn_key(prefix: str) -> str:
    """`prefix` completed with the one digit that makes its Luhn sum a multiple of 10."""
    return next(prefix + str(d) for d in range(10) if luhn_sum(prefix + str(d)) % 10 == 0)


def la_poste_siret(*, digit_sum_multiple_of_5: bool, luhn: bool) -> str:
    """A SIRET of La Poste (SIREN 356000000) with the properties asked, searched over the NIC."""
    for nic in range(100000):
        siret = f"{LA_POSTE_SIREN}{nic:05d}"
        if (sum(map(int, siret)) % 5 == 0) == digit_sum_multiple_of_5 and (luhn_sum(siret) % 10 == 0) == luhn:
            return siret
    raise AssertionError("no such NIC")


# --- Luhn, SIREN, SIRET ------------------------------------------------------------------------------


def test_given_a_prefix_when_completed_then_exactly_one_key_digit_passes_luhn() -> None:
    valid = with_luhn_key("2294002880001")
    assert [d for d in range(10) if luhn_valid(valid[:-1] + str(d))] == [int(valid[-1])]


def test_given_the_departement_siret_of_the_sample_form_then_its_key_is_right() -> None:
    assert with_luhn_key("2294002880001") == "22940028800010"
    assert is_valid_siret("22940028800010")


@pytest.mark.parametrize("digits", ["", "12a4", "²²", "１２３", " 0"])
def test_given_non_ascii_digits_when_luhn_checked_then_refused_without_error(digits: str) -> None:
    assert luhn_valid(digits) is False


@pytest.mark.parametrize("siren", [with_luhn_key("22940028"), with_luhn_key("77567227"), "229 400 288"])
def test_given_nine_digits_with_their_key_then_it_is_a_siren(siren: str) -> None:
    assert is_valid_siren(siren)


@pytest.mark.parametrize("siren", ["229400289", "22940028", "2294002880", "22940028A", "２29400288"])
def test_given_a_wrong_key_length_or_character_then_it_is_not_a_siren(siren: str) -> None:
    assert not is_valid_siren(siren)


@pytest.mark.parametrize("siret", [
    "22940028800010",
    "229 400 288 00010",
    "229\u00a0400\u00a0288\u00a000010",
    with_luhn_key("7756722722113"),
    with_luhn_key("1300252650001"),
])
def test_given_14_digits_with_their_key_then_it_is_a_siret(siret: str) -> None:
    assert is_valid_siret(siret)


@pytest.mark.parametrize("siret", [
    "22940028800011",  # key off by one
    "2294002880001",  # 13 digits
    "229400288000100",  # 15 digits
    "2294002880001A",
    "22940-028800010",
    "",
])
def test_given_a_wrong_key_length_or_character_then_it_is_not_a_siret(siret: str) -> None:
    assert not is_valid_siret(siret)


@pytest.mark.parametrize("siret", ["35600000000042", "35600000000047", "356 000 000 00047"])
def test_given_a_la_poste_siret_whose_digits_sum_to_a_multiple_of_5_then_it_is_valid_despite_luhn(siret: str) -> None:
    digits = normalise_siret(siret)
    assert sum(map(int, digits)) % 5 == 0  # 3+5+6+4+2 = 20, 3+5+6+4+7 = 25
    assert luhn_sum(digits) % 10 != 0
    assert is_valid_siret(siret)


def test_given_a_la_poste_siret_whose_digit_sum_is_not_a_multiple_of_5_then_it_is_invalid() -> None:
    assert not is_valid_siret("35600000000048")  # 3+5+6+4+8 = 26
    assert not is_valid_siret(la_poste_siret(digit_sum_multiple_of_5=False, luhn=False))


def test_given_a_luhn_valid_la_poste_siret_whose_digit_sum_is_not_a_multiple_of_5_then_it_is_invalid() -> None:
    siret = la_poste_siret(digit_sum_multiple_of_5=False, luhn=True)
    assert luhn_valid(siret)
    assert not is_valid_siret(siret)


def test_given_spaces_when_normalising_a_siret_then_only_digits_remain() -> None:
    assert normalise_siret(" 229 400 288\t00010 ") == "22940028800010"


# --- phones ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "canonical"), [
    ("01 43 99 70 00", "+33 1 43 99 70 00"),
    ("0143997000", "+33 1 43 99 70 00"),
    ("06.12.34.56.78", "+33 6 12 34 56 78"),
    ("09-87-65-43-21", "+33 9 87 65 43 21"),
    ("+33 4 78 00 00 01", "+33 4 78 00 00 01"),
    ("+33478000001", "+33 4 78 00 00 01"),
    ("+33 (0)4 78 00 00 01", "+33 4 78 00 00 01"),
    ("0033 5 56 99 33 33", "+33 5 56 99 33 33"),
    (" 07 00 00 00 00 ", "+33 7 00 00 00 00"),
])
def test_given_a_french_number_when_normalised_then_it_reads_plus_33(raw: str, canonical: str) -> None:
    assert normalise_french_phone(raw) == canonical


@pytest.mark.parametrize("raw", [
    "12 34",
    "00 12 34 56 78",  # 0 then 0: not a French number
    "+33 0 12 34 56 78",
    "+44 20 7946 0000",
    "01 43 99 70",  # 8 digits
    "01 43 99 70 00 0",  # 11 digits
    "0143997000x",
    "+33 ６ 12 34 56 78",
    "",
])
def test_given_a_malformed_or_foreign_number_when_normalised_then_none(raw: str) -> None:
    assert normalise_french_phone(raw) is None


# --- e-mails -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", [
    "claire.durand@valdemarne.fr", "JF.Lefevre@asd-rhone.org", "a+b@x.co", "e.garnier@mail.gironde.fr",
])
def test_given_an_address_then_its_syntax_is_accepted(address: str) -> None:
    assert is_valid_email(address)


@pytest.mark.parametrize("address", [
    "jean.dupont@", "no-at.fr", "a b@x.fr", "a@b", "a@@b.fr", "a@b@c.fr", "a..b@x.fr", "a@x..fr", "a@.x.fr",
    "@x.fr", "a@x.f", "a@x.f1", "a@-x.fr", "a@x.fr\n", "",
])
def test_given_a_non_address_then_its_syntax_is_refused(address: str) -> None:
    assert not is_valid_email(address)


# --- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "nom"), [
    ("Le Troquier", "LE TROQUIER"), (" le  troquier ", "LE TROQUIER"), ("Lefèvre", "LEFÈVRE"),
    ("d'Estaing", "D'ESTAING"),
])
def test_given_a_last_name_when_normalised_then_capitals_with_accents_kept(raw: str, nom: str) -> None:
    assert normalise_last_name(raw) == nom


@pytest.mark.parametrize(("raw", "prenom"), [
    ("jean-françois", "Jean-François"), ("marie claire", "Marie Claire"), ("ÉLODIE", "Élodie"),
    ("marie-thérèse", "Marie-Thérèse"), ("o'neil", "O'Neil"), ("o’neil", "O’Neil"), ("inès", "Inès"),
])
def test_given_a_first_name_when_normalised_then_each_part_is_capitalised(raw: str, prenom: str) -> None:
    assert normalise_first_name(raw) == prenom
