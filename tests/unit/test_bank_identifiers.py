"""The payee's IBAN and BIC: check digits computed here independently, and a bad one stops the process at start."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from workflow.domain.identifiers import IBAN_LENGTHS, grouped_by_four, is_valid_bic, is_valid_iban, normalise_iban
from workflow.settings import Settings

DEMO_IBAN = "FR7630006000011234567890189"


def check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits, the textbook way: 98 - (BBAN + country as numbers + '00') mod 97."""
    numeric = "".join(str(string.ascii_uppercase.index(c) + 10) if c.isalpha() else c for c in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


@st.composite
def ibans(draw: st.DrawFn, *, digits_only: bool = False) -> str:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    alphabet = string.digits if digits_only else string.digits + string.ascii_uppercase
    bban = draw(st.text(alphabet, min_size=IBAN_LENGTHS[country] - 4, max_size=IBAN_LENGTHS[country] - 4))
    return country + check_digits(country, bban) + bban


def test_the_demo_iban_and_well_known_examples_are_valid() -> None:
    for iban in (DEMO_IBAN, "DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"):
        assert is_valid_iban(iban), iban
    assert is_valid_iban("fr76 3000 6000 0112 3456 7890 189")  # as copied from a RIB


@given(ibans())
def test_an_iban_with_its_check_digits_is_valid_spaced_or_not(iban: str) -> None:
    assert is_valid_iban(iban)
    assert is_valid_iban(grouped_by_four(iban))
    assert normalise_iban(grouped_by_four(iban).lower()) == iban


@given(ibans(digits_only=True), st.data())
def test_one_digit_typed_wrong_is_caught(iban: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=2, max_value=len(iban) - 1))
    wrong = data.draw(st.sampled_from([d for d in string.digits if d != iban[position]]))
    assert not is_valid_iban(iban[:position] + wrong + iban[position + 1:])


@given(ibans(digits_only=True), st.data())
def test_two_neighbouring_digits_swapped_are_caught(iban: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=4, max_value=len(iban) - 2))
    swapped = iban[:position] + iban[position + 1] + iban[position] + iban[position + 2:]
    assert swapped == iban or not is_valid_iban(swapped)


@given(ibans(), st.integers(min_value=1, max_value=3))
def test_a_character_more_or_less_is_refused_by_the_countrys_length(iban: str, extra: int) -> None:
    assert not is_valid_iban(iban + "0" * extra)
    assert not is_valid_iban(iban[:-extra])


@given(st.text(max_size=40))
def test_whatever_the_text_the_check_answers_without_raising(value: str) -> None:
    assert is_valid_iban(value) in (True, False)


def test_an_iban_of_a_country_outside_the_registry_or_with_other_characters_is_refused() -> None:
    assert not is_valid_iban("US64SVBKUS6S3300958879")  # the United States have no IBAN
    assert not is_valid_iban("FR76-3000-6000-0112-3456-7890-189")
    assert not is_valid_iban("FR76 3000 6000 0112 3456 7890 1８9")  # a full-width digit


@given(st.from_regex(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", fullmatch=True))
def test_a_bic_of_8_or_11_characters_with_a_country_is_valid(bic: str) -> None:
    assert is_valid_bic(bic)


@pytest.mark.parametrize("bic", ["AGRIFRP", "AGRIFRPP1", "AGRIFRPPXXXX", "AGRI1RPP", "agrifrpp", "AGRI FRPP", ""])
def test_a_bic_of_another_shape_is_refused(bic: str) -> None:
    assert not is_valid_bic(bic)


def test_settings_keep_the_electronic_form_of_the_iban() -> None:
    settings = Settings(seller_iban="fr76 3000 6000 0112 3456 7890 189", seller_bic="agrifrppxxx")
    assert (settings.seller_iban, settings.seller_bic) == (DEMO_IBAN, "AGRIFRPPXXX")


@pytest.mark.parametrize(("field", "value", "variable", "french"), [
    ("seller_iban", "FR7630006000011234567890188", "REGFLOW_SELLER_IBAN", "n'est pas un IBAN valide"),
    ("seller_iban", "FR763000600001123456789018", "REGFLOW_SELLER_IBAN", "n'est pas un IBAN valide"),
    ("seller_bic", "AGRIFR", "REGFLOW_SELLER_BIC", "n'est pas un BIC valide"),
])
def test_a_bad_bank_account_refuses_to_start_saying_which_in_french_and_english(
        field: str, value: str, variable: str, french: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{field: value})
    message = str(refused.value)
    assert variable in message
    assert french in message
    assert "is not a valid" in message
    assert value in message
