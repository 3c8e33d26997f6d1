"""The named rules of the registration form, one sample form per rule (tests/forms/invalid)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from schemas.form import RegistrationForm
from workflow.catalogue import load_catalogue
from workflow.form_rules import RULES, already_registered_warnings, check_form, euros, normalise_form

FORMS = Path(__file__).parent.parent / "forms"
CATALOGUE = load_catalogue()
TODAY = date(2023, 9, 1)
INVALID = sorted((FORMS / "invalid").glob("*.json"))


@pytest.mark.parametrize("path", sorted((FORMS / "valid").glob("*.json")), ids=lambda p: p.stem)
def test_the_source_documents_registrations_break_no_rule(path: Path) -> None:
    form = RegistrationForm.model_validate_json(path.read_text(encoding="utf-8"))
    assert check_form(normalise_form(form), CATALOGUE, TODAY) == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_each_invalid_form_reports_exactly_its_errors(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    form = normalise_form(RegistrationForm.model_validate(case["form"]))
    today = date.fromisoformat(case.get("today", TODAY.isoformat()))
    found = [(v.rule, v.field) for v in check_form(form, CATALOGUE, today)]
    assert found == [(e["rule"], e["field"]) for e in case["expected"]]


def test_every_rule_has_an_invalid_sample_form() -> None:
    covered = {e["rule"] for p in INVALID for e in json.loads(p.read_text(encoding="utf-8"))["expected"]}
    assert {rule.__name__ for rule in RULES} <= covered


def test_all_errors_are_reported_at_once_in_french_and_english() -> None:
    form = RegistrationForm.model_validate({
        "training_id": "cpom-handicap", "session_id": "cpom-handicap-2023-09-15",
        "client": {"name": "CCAS de Vitry", "category": "local_public_establishment",
                   "address": {"street": "1 rue", "postal_code": "94400", "city": "Vitry"}},
        "gestionnaire": {"email": "rh@ccas", "first_name": "A", "last_name": "B", "service": "RH",
                         "phone": "01 02 03 04 05"},
        "participants": [{"civilite": "Mme", "first_name": "C", "last_name": "D", "email": "c@d.fr"}],
        "declared_participant_count": 1, "declared_total": "625.00"})
    violations = check_form(normalise_form(form), CATALOGUE, TODAY)
    assert [(v.rule, v.field) for v in violations] == [
        ("email_syntax", "gestionnaire.email"), ("total_matches", "declared_total"),
        ("siret_required_public", "client.siret")]
    total = violations[1]
    assert total.message_fr == "Le montant total déclaré (625,00 €) devrait être 1 x 595,00 € = 595,00 €."
    assert total.message_en == "declared_total is 625.00, expected 595.00 (1 x 595.00)"
    assert "Chorus Pro" in violations[2].message_fr


def test_a_session_is_open_until_the_day_before() -> None:
    form = RegistrationForm.model_validate_json((FORMS / "valid" / "handicap-departement.json").read_text())
    assert check_form(form, CATALOGUE, date(2023, 9, 14)) == []
    assert [v.rule for v in check_form(form, CATALOGUE, date(2023, 9, 15))] == ["session_open"]


def test_normalisation_capitalises_names_and_formats_the_phone() -> None:
    form = RegistrationForm.model_validate_json(
        (FORMS / "valid" / "aide-domicile-association-unsigned.json").read_text(encoding="utf-8"))
    normalised = normalise_form(form)
    participant = normalised.participants[0]
    assert (participant.first_name, participant.last_name, participant.email) == (
        "Jean-François", "LEFÈVRE", "jf.lefevre@asd-rhone.org")
    assert (normalised.gestionnaire.first_name, normalised.gestionnaire.last_name) == ("Marc", "BERNARD")
    assert normalised.gestionnaire.phone == "+33 4 78 00 00 01"


def test_a_participant_registered_by_another_registration_is_a_warning_only() -> None:
    form = RegistrationForm.model_validate_json((FORMS / "valid" / "handicap-departement.json").read_text())
    warnings = already_registered_warnings(form, {"paul.leroy@valdemarne.fr"})
    assert [(w.rule, w.field, w.severity) for w in warnings] == [
        ("participant_already_registered", "participants[1].email", "warning")]


def test_euros_are_written_the_french_way() -> None:
    assert euros(Decimal("1875")) == "1 875,00 €"
    assert euros(Decimal("595.5")) == "595,50 €"
