"""The sample forms: each file of tests/forms/invalid names exactly the errors check_form returns.

A case is {"expected": [{"rule", "field"}...], "form": {...}}, checked on 1 September 2023 (two weeks
before the "Handicap" session). The catalogue holds no session that is past on that day, so
past_session.json alone carries a "today" of its own.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schemas.form import RegistrationForm
from workflow.adapters.data_files import load_catalogue
from workflow.domain.form_normalisation import normalise_form
from workflow.domain.form_rules import RULES, check_form

FORMS = Path(__file__).parent.parent / "forms"
INVALID = sorted((FORMS / "invalid").glob("*.json"))
VALID_FILES = sorted((FORMS / "valid").glob("*.json"))
CATALOGUE = load_catalogue()
TODAY = date(2023, 9, 1)

VALID_FORM: dict[str, Any] = {
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


def load(path: Path) -> tuple[RegistrationForm, date, list[tuple[str, str]]]:
    case = json.loads(path.read_text(encoding="utf-8"))
    assert set(case) <= {"expected", "form", "today"}, f"{path.name}: unknown keys"
    expected = [(e["rule"], e["field"]) for e in case["expected"]]
    return RegistrationForm.model_validate(case["form"]), date.fromisoformat(case.get("today", "2023-09-01")), expected


def test_given_the_valid_form_on_1_september_2023_then_check_form_finds_nothing() -> None:
    form = RegistrationForm.model_validate(VALID_FORM)
    assert check_form(form, CATALOGUE, TODAY) == []
    assert check_form(normalise_form(form), CATALOGUE, TODAY) == []


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.stem)
def test_given_a_valid_sample_form_when_normalised_then_check_form_finds_nothing(path: Path) -> None:
    form = RegistrationForm.model_validate_json(path.read_text(encoding="utf-8"))
    assert check_form(normalise_form(form), CATALOGUE, TODAY) == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_given_an_invalid_sample_form_then_check_form_returns_exactly_its_expected_errors(path: Path) -> None:
    form, today, expected = load(path)
    assert expected, f"{path.name} expects no error"
    assert [(v.rule, v.field) for v in check_form(form, CATALOGUE, today)] == expected


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_given_an_invalid_sample_form_when_normalised_first_then_the_same_errors(path: Path) -> None:
    form, today, expected = load(path)
    assert [(v.rule, v.field) for v in check_form(normalise_form(form), CATALOGUE, today)] == expected


def test_only_past_session_needs_a_date_of_its_own() -> None:
    dated = [p.name for p in INVALID if "today" in json.loads(p.read_text(encoding="utf-8"))]
    assert dated == ["past_session.json"]


# A full session is no property of a form: it depends on the seats other registrations hold (test_form_rules.py,
# and tests/integration/test_catalogue.py through the validation consumer).
NOT_OF_THE_FORM = {"session_full"}


def test_every_rule_has_an_invalid_sample_form() -> None:
    covered = {rule for path in INVALID for rule, _ in load(path)[2]}
    assert [rule.__name__ for rule in RULES if rule.__name__ not in covered | NOT_OF_THE_FORM] == []
