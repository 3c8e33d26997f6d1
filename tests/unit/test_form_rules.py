"""The named rules of the registration form, rule by rule: exact rule names and field paths.

Each test starts from one valid form (the Val-de-Marne registration to the "Handicap" webinar of
15 September 2023, checked on 1 September 2023) and breaks one thing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from schemas.form import ClientCategory, RegistrationForm
from workflow.adapters.data_files import load_catalogue
from workflow.domain.catalogue import Catalogue, SessionState
from workflow.domain.form_normalisation import normalise_form
from workflow.domain.form_rules import RULES, already_registered_warnings, check_form, euros

CATALOGUE = load_catalogue()
TODAY = date(2023, 9, 1)
SESSION_DAY = date(2023, 9, 15)

VALID: dict[str, Any] = {
    "training_id": "cpom-handicap",
    "session_id": "cpom-handicap-2023-09-15",
    "client": {
        "name": "Département du Val-de-Marne",
        "address": {"street": "Avenue du Général de Gaulle", "postal_code": "94054", "city": "Créteil"},
        "category": "local_authority",
        "siret": "22940028800010",
    },
    "gestionnaire": {"email": "formation@valdemarne.fr", "first_name": "Sophie", "last_name": "MARTIN",
                     "service": "Direction de l'autonomie", "phone": "01 43 99 70 00"},
    "participants": [
        {"civilite": "Mme", "first_name": "Claire", "last_name": "DURAND", "email": "claire.durand@valdemarne.fr"},
        {"civilite": "M.", "first_name": "Paul", "last_name": "LEROY", "email": "paul.leroy@valdemarne.fr"},
    ],
    "declared_participant_count": 2,
    "declared_total": "1190.00",
    "signature": {"place": "Créteil", "signed_on": "2023-08-28", "signatory": "Sophie MARTIN", "method": "stamp"},
}

Pairs = list[tuple[str, str]]


def form_with(change: Callable[[dict[str, Any]], object] | None = None) -> RegistrationForm:
    """The valid form, with `change` applied to a deep copy of its JSON."""
    data = copy.deepcopy(VALID)
    if change is not None:
        change(data)
    return RegistrationForm.model_validate(data)


def set_path(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A change setting one dotted path, e.g. 'client.address.city' or 'participants.1.email'."""
    def change(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(leaf) if leaf.isdigit() else leaf] = value
    return change


def errors(form: RegistrationForm, today: date = TODAY, catalogue: Catalogue = CATALOGUE) -> Pairs:
    return [(v.rule, v.field) for v in check_form(form, catalogue, today)]


def test_given_the_valid_form_when_checked_then_no_rule_is_broken() -> None:
    assert errors(form_with()) == []


def test_the_rules_are_named_and_each_docstring_names_its_rule() -> None:
    assert [rule.__name__ for rule in RULES] == [
        "field_length", "field_characters", "country_code", "amount_format", "participant_limit",
        "required", "postal_code_format", "email_syntax", "phone_format", "civilite", "duplicate_participant",
        "session_exists", "session_offered", "session_open", "session_full", "participant_count_matches",
        "total_matches",
        "siret_format", "siret_required_public", "signature_place", "signature_date", "signature_signatory",
        "signature_method",
    ]
    assert [r.__name__ for r in RULES if f"'{r.__name__}'" not in (r.__doc__ or "")] == []


# --- required ----------------------------------------------------------------------------------------

REQUIRED_PATHS = [
    ("training_id", "training_id"),
    ("session_id", "session_id"),
    ("client.name", "client.name"),
    ("client.address.street", "client.address.street"),
    ("client.address.postal_code", "client.address.postal_code"),
    ("client.address.city", "client.address.city"),
    ("client.category", "client.category"),
    ("gestionnaire.email", "gestionnaire.email"),
    ("gestionnaire.first_name", "gestionnaire.first_name"),
    ("gestionnaire.last_name", "gestionnaire.last_name"),
    ("gestionnaire.service", "gestionnaire.service"),
    ("gestionnaire.phone", "gestionnaire.phone"),
    ("participants.1.civilite", "participants[1].civilite"),
    ("participants.1.first_name", "participants[1].first_name"),
    ("participants.1.last_name", "participants[1].last_name"),
    ("participants.0.email", "participants[0].email"),
    ("declared_participant_count", "declared_participant_count"),
    ("declared_total", "declared_total"),
]


NOT_TEXT = ("client.category", "declared_participant_count", "declared_total")  # blank is a shape error
TEXT_PATHS = [(path, field) for path, field in REQUIRED_PATHS if path not in NOT_TEXT]


@pytest.mark.parametrize(("path", "field"), REQUIRED_PATHS, ids=[f for _, f in REQUIRED_PATHS])
def test_given_an_absent_field_when_checked_then_required_names_its_path(path: str, field: str) -> None:
    assert errors(form_with(set_path(path, None))) == [("required", field)]


@pytest.mark.parametrize(("path", "field"), TEXT_PATHS, ids=[f for _, f in TEXT_PATHS])
def test_given_a_blank_text_field_when_checked_then_required_names_its_path(path: str, field: str) -> None:
    assert errors(form_with(set_path(path, " \t "))) == [("required", field)]


def test_given_no_participant_when_checked_then_required_names_participants() -> None:
    form = form_with(lambda d: d.update(participants=[], declared_participant_count=0, declared_total="0.00"))
    assert errors(form) == [("required", "participants")]


def test_given_an_empty_form_when_checked_then_every_required_field_is_reported_at_once_in_order() -> None:
    assert errors(RegistrationForm()) == [("required", field) for field in [
        "training_id", "session_id", "client.name", "client.address.street", "client.address.postal_code",
        "client.address.city", "client.category", "gestionnaire.email", "gestionnaire.first_name",
        "gestionnaire.last_name", "gestionnaire.service", "gestionnaire.phone", "declared_participant_count",
        "declared_total", "participants"]]


def test_given_a_missing_field_then_both_messages_name_it() -> None:
    [violation] = check_form(form_with(set_path("gestionnaire.phone", None)), CATALOGUE, TODAY)
    assert violation.message_fr == "Champ obligatoire manquant : le téléphone du gestionnaire."
    assert violation.message_en == "gestionnaire.phone is required"
    assert violation.severity == "error"


# --- formats -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["9405", "940540", "94 054", "2A004", "９４０５４"])
def test_given_a_french_postal_code_without_5_digits_then_postal_code_format(code: str) -> None:
    assert errors(form_with(set_path("client.address.postal_code", code))) == [
        ("postal_code_format", "client.address.postal_code")]


@pytest.mark.parametrize(("code", "country"), [("94054", "FR"), (" 94054 ", "FR"), ("1000", "BE"), ("D02 X285", "IE")])
def test_given_5_digits_or_a_foreign_address_then_no_postal_code_format(code: str, country: str) -> None:
    form = form_with(lambda d: d["client"]["address"].update(postal_code=code, country=country))
    assert errors(form) == []


def test_given_a_bad_participant_email_then_email_syntax_on_that_participant_with_clear_messages() -> None:
    [violation] = check_form(form_with(set_path("participants.1.email", "jean.dupont@")), CATALOGUE, TODAY)
    assert (violation.rule, violation.field) == ("email_syntax", "participants[1].email")
    assert violation.message_fr == ("L'adresse e-mail du participant n°2 n'est pas une adresse unique valide : "
                                    "« jean.dupont@ ».")
    assert violation.message_en == "participants[1].email is not one valid e-mail address: 'jean.dupont@'"


@pytest.mark.parametrize("email", ["formation@valdemarne", "formation valdemarne.fr", "formation@@valdemarne.fr"])
def test_given_a_bad_gestionnaire_email_then_email_syntax_on_gestionnaire(email: str) -> None:
    assert errors(form_with(set_path("gestionnaire.email", email))) == [("email_syntax", "gestionnaire.email")]


@pytest.mark.parametrize("phone", ["12 34", "01 43 99 70", "+44 20 7946 0000", "00 43 99 70 00"])
def test_given_a_non_french_phone_then_phone_format(phone: str) -> None:
    assert errors(form_with(set_path("gestionnaire.phone", phone))) == [("phone_format", "gestionnaire.phone")]


@pytest.mark.parametrize("phone", ["+33 1 43 99 70 00", "01.43.99.70.00", "0143997000", "0033 1 43 99 70 00"])
def test_given_a_french_phone_in_any_usual_writing_then_no_phone_format(phone: str) -> None:
    assert errors(form_with(set_path("gestionnaire.phone", phone))) == []


@pytest.mark.parametrize("civilite", ["Dr", "Madame", "mme", "M"])
def test_given_a_civilite_other_than_mme_or_m_then_civilite(civilite: str) -> None:
    assert errors(form_with(set_path("participants.1.civilite", civilite))) == [
        ("civilite", "participants[1].civilite")]


def test_given_madame_or_monsieur_when_normalised_first_then_no_civilite() -> None:
    form = form_with(lambda d: (d["participants"][0].update(civilite="Madame"),
                                d["participants"][1].update(civilite="monsieur")))
    normalised = normalise_form(form)
    assert [p.civilite for p in normalised.participants] == ["Mme", "M."]
    assert errors(normalised) == []


def add_participant(email: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["participants"].append({"civilite": "Mme", "first_name": "Inès", "last_name": "FAURE", "email": email})
        data["declared_participant_count"] = 3
        data["declared_total"] = "1785.00"
    return change


def test_given_a_login_email_twice_whatever_its_case_then_duplicate_participant_on_the_second() -> None:
    form = form_with(add_participant("  Claire.DURAND@valdemarne.fr"))
    assert errors(form) == [("duplicate_participant", "participants[2].email")]


def test_given_distinct_login_emails_then_no_duplicate_participant() -> None:
    assert errors(form_with(add_participant("ines.faure@valdemarne.fr"))) == []


# --- session -----------------------------------------------------------------------------------------


def test_given_a_training_not_in_the_catalogue_then_session_exists_only() -> None:
    assert errors(form_with(set_path("training_id", "cpom-ehpad"))) == [("session_exists", "training_id")]


@pytest.mark.parametrize("session_id", ["cpom-aide-domicile-2024-03-21", "cpom-handicap-2024-09-15"])
def test_given_a_session_that_is_not_one_of_the_trainings_dates_then_session_offered(session_id: str) -> None:
    assert errors(form_with(set_path("session_id", session_id))) == [("session_offered", "session_id")]


@pytest.mark.parametrize(("today", "expected"), [
    (SESSION_DAY - timedelta(days=1), []),
    (SESSION_DAY, [("session_open", "session_id")]),
    (SESSION_DAY + timedelta(days=30), [("session_open", "session_id")]),
], ids=["day-before-open", "same-day-closed", "after-closed"])
def test_given_the_date_of_today_then_registrations_close_the_day_before_the_session(today: date,
                                                                                     expected: Pairs) -> None:
    assert errors(form_with(), today=today) == expected


def with_session(**changes: Any) -> Catalogue:
    """The catalogue with the handicap training's session changed as operations would."""
    handicap = CATALOGUE.training("cpom-handicap")
    assert handicap is not None
    changed = handicap.model_copy(update={"sessions": [s.model_copy(update=changes) for s in handicap.sessions]})
    return CATALOGUE.model_copy(update={"trainings": [changed if t.id == changed.id else t
                                                      for t in CATALOGUE.trainings]})


@pytest.mark.parametrize(("state", "rule", "words"), [
    (SessionState.CLOSED, "session_closed", "sont closes"),
    (SessionState.CANCELLED, "session_cancelled", "est annulée"),
    (SessionState.HELD, "session_closed", "sont closes"),
])
def test_given_a_session_operations_closed_or_cancelled_then_a_named_error_even_before_its_date(
        state: SessionState, rule: str, words: str) -> None:
    [violation] = check_form(form_with(), with_session(state=state), TODAY)
    assert (violation.rule, violation.field) == (rule, "session_id")
    assert words in violation.message_fr


def test_given_a_registration_deadline_then_forms_are_accepted_until_that_day_included() -> None:
    catalogue = with_session(registration_deadline=TODAY)
    assert check_form(form_with(), catalogue, TODAY) == []
    [violation] = check_form(form_with(), catalogue, TODAY + timedelta(days=1))
    assert violation.rule == "session_deadline"
    assert f"({TODAY:%d/%m/%Y}) est passée" in violation.message_fr


def test_given_a_deadline_after_the_session_then_the_day_before_still_closes_it() -> None:
    session_day = CATALOGUE.session("cpom-handicap-2023-09-15")
    assert session_day is not None
    catalogue = with_session(registration_deadline=session_day[1].date + timedelta(days=3))
    assert [v.rule for v in check_form(form_with(), catalogue, session_day[1].date)] == ["session_open"]


@pytest.mark.parametrize(("capacity", "taken", "expected"), [
    (10, 0, []), (2, 0, []), (10, 8, []), (10, 9, ["session_full"]), (1, 0, ["session_full"]),
    (5, 7, ["session_full"]),
], ids=["room", "exactly-two", "last-two-seats", "one-seat-left", "smaller-than-the-form", "over-booked"])
def test_given_a_capacity_then_a_form_that_does_not_fit_the_seats_left_is_session_full(
        capacity: int, taken: int, expected: list[str]) -> None:
    form = form_with()  # two participants
    assert len(form.participants) == 2
    found = check_form(form, with_session(capacity=capacity), TODAY, {"cpom-handicap-2023-09-15": taken})
    assert [v.rule for v in found] == expected
    if expected:
        left = max(capacity - taken, 0)
        assert f"il reste {left} place(s) pour 2 participant(s)" in found[0].message_fr


# --- amounts -----------------------------------------------------------------------------------------


def test_given_a_declared_count_unlike_the_participants_listed_then_participant_count_matches() -> None:
    assert errors(form_with(set_path("declared_participant_count", 3))) == [
        ("participant_count_matches", "declared_participant_count")]


@pytest.mark.parametrize("total", ["1250.00", "1190.01", "1189.99", "595.00"])
def test_given_a_total_that_is_not_count_times_price_to_the_cent_then_total_matches(total: str) -> None:
    assert errors(form_with(set_path("declared_total", total))) == [("total_matches", "declared_total")]


@pytest.mark.parametrize("total", ["1190", "1190.0", "1190.000"])
def test_given_the_exact_total_however_written_then_no_total_matches(total: str) -> None:
    assert errors(form_with(set_path("declared_total", total))) == []


def test_given_a_wrong_total_then_the_message_shows_the_expected_amount_the_french_way() -> None:
    [violation] = check_form(form_with(set_path("declared_total", "1250.00")), CATALOGUE, TODAY)
    assert violation.message_fr == "Le montant total déclaré (1 250,00 €) devrait être 2 x 595,00 € = 1 190,00 €."
    assert violation.message_en == "declared_total is 1250.00, expected 1190.00 (2 x 595.00)"


def test_euros_are_written_the_french_way() -> None:
    assert euros(Decimal("1190")) == "1 190,00 €"
    assert euros(Decimal("595.5")) == "595,50 €"
    assert euros(Decimal("12345678.9")) == "12 345 678,90 €"


# --- SIRET -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("siret", ["22940028800011", "2294002880001", "2294002880001O", "35600000000048"])
def test_given_a_siret_with_a_wrong_key_or_length_then_siret_format(siret: str) -> None:
    assert errors(form_with(set_path("client.siret", siret))) == [("siret_format", "client.siret")]


@pytest.mark.parametrize("siret", ["229 400 288 00010", "35600000000042"])
def test_given_a_siret_with_spaces_or_of_la_poste_then_no_siret_format(siret: str) -> None:
    assert errors(form_with(set_path("client.siret", siret))) == []


def test_given_a_private_client_with_a_bad_siret_then_siret_format_still_applies() -> None:
    form = form_with(lambda d: d["client"].update(category="association", siret="12345678901234"))
    assert errors(form) == [("siret_format", "client.siret")]


@pytest.mark.parametrize("category", [c for c in ClientCategory if c.is_public])
@pytest.mark.parametrize("siret", [None, " "], ids=["absent", "blank"])
def test_given_a_public_client_without_siret_then_siret_required_public_for_chorus_pro(
        category: ClientCategory, siret: str | None) -> None:
    form = form_with(lambda d: d["client"].update(category=category.value, siret=siret))
    [violation] = check_form(form, CATALOGUE, TODAY)
    assert (violation.rule, violation.field) == ("siret_required_public", "client.siret")
    assert "Chorus Pro" in violation.message_fr
    assert "Chorus Pro" in violation.message_en


@pytest.mark.parametrize("category", [c for c in ClientCategory if not c.is_public])
def test_given_a_private_client_without_siret_then_no_error(category: ClientCategory) -> None:
    assert errors(form_with(lambda d: d["client"].update(category=category.value, siret=None))) == []


# --- signature ---------------------------------------------------------------------------------------


def test_given_an_unsigned_form_then_no_signature_rule_applies() -> None:
    assert errors(form_with(set_path("signature", None))) == []


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("signature.place", "", ("signature_place", "signature.place")),
    ("signature.place", None, ("signature_place", "signature.place")),
    ("signature.signed_on", None, ("signature_date", "signature.signed_on")),
    ("signature.signed_on", "2023-09-02", ("signature_date", "signature.signed_on")),
    ("signature.signatory", None, ("signature_signatory", "signature.signatory")),
    ("signature.signatory", " ", ("signature_signatory", "signature.signatory")),
    ("signature.method", None, ("signature_method", "signature.method")),
    ("signature.method", "electronic", ("signature_method", "signature.electronic_reference")),
])
def test_given_a_signed_form_with_a_gap_then_the_signature_rule_names_it(path: str, value: str | None,
                                                                         expected: tuple[str, str]) -> None:
    assert errors(form_with(set_path(path, value))) == [expected]


def test_given_a_signature_dated_today_or_an_electronic_one_with_its_reference_then_no_error() -> None:
    assert errors(form_with(set_path("signature.signed_on", TODAY.isoformat()))) == []
    electronic = form_with(lambda d: d["signature"].update(method="electronic", electronic_reference="YS-2023-81"))
    assert errors(electronic) == []


# --- every error at once -----------------------------------------------------------------------------


def test_given_several_errors_then_all_are_reported_in_the_order_of_the_rules_then_of_the_fields() -> None:
    def break_many(d: dict[str, Any]) -> None:
        d["client"]["siret"] = None
        d["gestionnaire"]["phone"] = "12 34"
        d["participants"][1]["email"] = "paul.leroy@"
        d["participants"][0]["civilite"] = "Dr"
        d["declared_total"] = "1250.00"
        d["signature"]["signatory"] = None

    form = form_with(break_many)
    expected = [
        ("email_syntax", "participants[1].email"), ("phone_format", "gestionnaire.phone"),
        ("civilite", "participants[0].civilite"), ("total_matches", "declared_total"),
        ("siret_required_public", "client.siret"), ("signature_signatory", "signature.signatory"),
    ]
    assert errors(form) == expected
    assert errors(form) == expected  # stable


# --- normalisation and warnings ----------------------------------------------------------------------


def test_given_a_form_as_typed_when_normalised_then_names_emails_phone_and_siret_are_canonical() -> None:
    def as_typed(d: dict[str, Any]) -> None:
        d["client"]["siret"] = "229 400 288 00010"
        d["gestionnaire"].update(first_name="sophie", last_name="Martin", email=" Formation@ValdeMarne.fr ",
                                 phone="01.43.99.70.00")
        d["participants"][0].update(first_name="jean-françois", last_name="le  troquier",
                                    email="JF.Le-Troquier@valdemarne.fr")

    original = form_with(as_typed)
    normalised = normalise_form(original)
    assert normalised.client.siret == "22940028800010"
    gestionnaire = normalised.gestionnaire
    assert (gestionnaire.first_name, gestionnaire.last_name, gestionnaire.email, gestionnaire.phone) == (
        "Sophie", "MARTIN", "formation@valdemarne.fr", "+33 1 43 99 70 00")
    participant = normalised.participants[0]
    assert (participant.first_name, participant.last_name, participant.email) == (
        "Jean-François", "LE TROQUIER", "jf.le-troquier@valdemarne.fr")
    assert original.gestionnaire.phone == "01.43.99.70.00"  # a copy: the form as received is kept
    assert errors(normalised) == []


def test_given_an_invalid_phone_when_normalised_then_it_is_kept_for_the_rule_to_report() -> None:
    normalised = normalise_form(form_with(set_path("gestionnaire.phone", "12 34")))
    assert normalised.gestionnaire.phone == "12 34"
    assert errors(normalised) == [("phone_format", "gestionnaire.phone")]


def test_given_missing_values_when_normalised_then_they_stay_missing() -> None:
    normalised = normalise_form(RegistrationForm())
    assert normalised == RegistrationForm()


def test_given_a_participant_registered_by_another_registration_then_a_warning_only() -> None:
    form = form_with()
    warnings = already_registered_warnings(form, {"Paul.Leroy@valdemarne.fr ", "someone@else.fr"})
    assert [(w.rule, w.field, w.severity) for w in warnings] == [
        ("participant_already_registered", "participants[1].email", "warning")]
    assert "n°2" in warnings[0].message_fr
    assert check_form(form, CATALOGUE, TODAY) == []


def test_given_no_participant_registered_elsewhere_then_no_warning() -> None:
    assert already_registered_warnings(form_with(), {"someone@else.fr"}) == []
    assert already_registered_warnings(form_with(), set()) == []
