"""SIREN/SIRET keys, French phone numbers, e-mails and names."""

from __future__ import annotations

import pytest

from workflow.identifiers import (
    is_valid_email,
    is_valid_siren,
    is_valid_siret,
    luhn_valid,
    normalise_first_name,
    normalise_french_phone,
    normalise_last_name,
)


def with_luhn_key(prefix: str) -> str:
    """Complete `prefix` with the one digit that makes it Luhn-valid (built, not remembered)."""
    return next(prefix + str(d) for d in range(10) if luhn_valid(prefix + str(d)))


def test_luhn_accepts_exactly_one_key_digit() -> None:
    valid = with_luhn_key("2294002880001")
    assert sum(luhn_valid(valid[:-1] + str(d)) for d in range(10)) == 1
    assert valid == "22940028800010"


@pytest.mark.parametrize("siret", ["22940028800010", "229 400 288 00010", with_luhn_key("7756722722113")])
def test_a_siret_with_14_digits_and_its_key_is_valid(siret: str) -> None:
    assert is_valid_siret(siret)


@pytest.mark.parametrize("siret", ["22940028800011", "2294002880001", "229400288000100", "2294002880001A", ""])
def test_a_wrong_key_or_length_is_not_a_siret(siret: str) -> None:
    assert not is_valid_siret(siret)


def test_la_poste_sirets_are_valid_when_their_digits_sum_to_a_multiple_of_5() -> None:
    nic = next(f"{n:05d}" for n in range(1, 99999) if sum(map(int, f"356000000{n:05d}")) % 5 == 0
               and not luhn_valid(f"356000000{n:05d}"))
    assert is_valid_siret("356000000" + nic)
    off = next(f"{n:05d}" for n in range(1, 99999) if sum(map(int, f"356000000{n:05d}")) % 5 != 0)
    assert not is_valid_siret("356000000" + off)


def test_siren_is_nine_digits_with_a_key() -> None:
    assert is_valid_siren("229400288")
    assert not is_valid_siren("229400289")
    assert not is_valid_siren("22940028")


@pytest.mark.parametrize(("raw", "canonical"), [
    ("01 43 99 70 00", "+33 1 43 99 70 00"),
    ("0143997000", "+33 1 43 99 70 00"),
    ("06.12.34.56.78", "+33 6 12 34 56 78"),
    ("+33 4 78 00 00 01", "+33 4 78 00 00 01"),
    ("+33 (0)4 78 00 00 01", "+33 4 78 00 00 01"),
    ("0033 5 56 99 33 33", "+33 5 56 99 33 33"),
])
def test_french_phone_numbers_are_normalised(raw: str, canonical: str) -> None:
    assert normalise_french_phone(raw) == canonical


@pytest.mark.parametrize("raw", ["12 34", "00 12 34 56 78", "+44 20 7946 0000", "01 43 99 70", "0143997000x"])
def test_non_french_or_malformed_phones_are_refused(raw: str) -> None:
    assert normalise_french_phone(raw) is None


@pytest.mark.parametrize("address", ["claire.durand@valdemarne.fr", "JF.Lefevre@asd-rhone.org", "a+b@x.co"])
def test_email_syntax_accepts_addresses(address: str) -> None:
    assert is_valid_email(address)


@pytest.mark.parametrize("address", ["paul.leroy@", "no-at.fr", "a b@x.fr", "a@b", "a@@b.fr", "a..b@x.fr", ""])
def test_email_syntax_refuses_non_addresses(address: str) -> None:
    assert not is_valid_email(address)


def test_names_are_normalised_with_accents_kept() -> None:
    assert normalise_last_name(" Le  Troquier ") == "LE TROQUIER"
    assert normalise_last_name("Lefèvre") == "LEFÈVRE"
    assert normalise_first_name("jean-françois") == "Jean-François"
    assert normalise_first_name("marie claire") == "Marie Claire"
    assert normalise_first_name("ÉLODIE") == "Élodie"
