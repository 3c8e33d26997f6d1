"""Every validation rule, fed as a real message through RabbitMQ to the running validation consumer."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from producers.commands import CommandClient, FormFileError, load_forms
from schemas.form import RegistrationForm
from tests.conftest import FORMS, EventTap, RunningConsumers, load_form, wait_until
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.domain.identifiers import normalise_email
from workflow.persistence.views import awaiting_signature, registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.integration
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)

INVALID = sorted((FORMS / "invalid").glob("*.json"))


def view_in(deps: Deps, registration_id: str, state: str) -> dict[str, object]:
    def reached() -> dict[str, object] | None:
        view = registration_timeline(deps.sessions, registration_id)
        return view if view is not None and view["state"] == state else None

    found: dict[str, object] = wait_until(reached, f"{registration_id} in {state}")
    return found


def rejections_sent(deps: Deps, names: list[str]) -> None:
    def sent() -> bool:
        return all(any(e["kind"] == "rejection" and e["status"] == "sent"
                       for e in registration_timeline(deps.sessions, f"bad-{n}")["emails"])  # type: ignore[index]
                   for n in names)

    wait_until(sent, f"the rejection e-mails of {', '.join(names)} sent")


def test_every_rule_rejects_its_sample_form_with_every_error_named(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tap: EventTap, clock: FileClock) -> None:
    cases = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in INVALID}
    addressed = [name for name, case in cases.items()
                 if normalise_email(case["form"]["gestionnaire"].get("email") or "") is not None]
    with CommandClient(settings) as client:
        for name, case in cases.items():
            when = date.fromisoformat(case.get("today", "2023-09-01"))
            moment = datetime(when.year, when.month, when.day, 10, tzinfo=PARIS)
            if moment != clock.now():  # what is due on one day is not on an earlier one: sent before the clock moves
                rejections_sent(deps, [n for n in addressed if n in list(cases)[:list(cases).index(name)]])
                clock.set(moment)
            client.submit_form(RegistrationForm.model_validate(case["form"]), f"bad-{name}")
            view_in(deps, f"bad-{name}", "rejected")
    rejections_sent(deps, addressed)
    rejected = {e["registration_id"]: e["payload"] for e in tap.drain() if e["type"] == "registration.rejected"}
    for name, case in cases.items():
        view = registration_timeline(deps.sessions, f"bad-{name}")
        assert view is not None
        expected = [(e["rule"], e["field"]) for e in case["expected"]]
        assert [(e["rule"], e["field"]) for e in view["errors"]] == expected, name
        assert [(e["rule"], e["field"]) for e in rejected[f"bad-{name}"]["errors"]] == expected, name
        assert all(e["message_fr"] and e["message_en"] for e in view["errors"])
        emails = registration_timeline(deps.sessions, f"bad-{name}")["emails"]  # type: ignore[index]
        if name not in addressed:  # nobody to write to: the rejection stays on the registration for support
            assert emails == [], name
            continue
        assert [(e["kind"], e["status"]) for e in emails] == [("rejection", "sent")], name


def test_a_corrected_form_with_the_same_id_reenters_validation_and_history_shows_both(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    good = load_form("handicap-departement.json")
    bad = {**good, "gestionnaire": {**good["gestionnaire"], "phone": "12"}}
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(bad), "fix-1")
        view_in(deps, "fix-1", "rejected")
        client.submit_form(RegistrationForm.model_validate(good), "fix-1")
        view = view_in(deps, "fix-1", "invoiced")
    assert [(h["trigger"], h["to"]) for h in view["history"]] == [  # type: ignore[attr-defined]
        ("submit", "received"), ("reject", "rejected"), ("resubmit", "received"), ("sign", "signed"),
        ("confirm", "confirmed"), ("invoice", "invoiced")]
    assert view["errors"] == []


def test_a_participant_already_registered_by_another_registration_is_a_warning_not_a_rejection(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "first")
        view_in(deps, "first", "invoiced")
        client.submit_form(form, "second")
        second = view_in(deps, "second", "invoiced")
    assert [(w["rule"], w["field"]) for w in second["warnings"]] == [  # type: ignore[attr-defined]
        ("participant_already_registered", "participants[0].email"),
        ("participant_already_registered", "participants[1].email")]


def test_an_unsigned_form_waits_and_is_flagged_to_support_after_the_configured_delay(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock) -> None:
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("aide-domicile-association-unsigned.json")),
                           "unsigned-1")
    view_in(deps, "unsigned-1", "received")
    assert awaiting_signature(deps.sessions, clock.now() + timedelta(hours=71), timedelta(hours=72)) == []
    late = awaiting_signature(deps.sessions, clock.now() + timedelta(hours=73), timedelta(hours=72))
    assert [(r["id"], r["gestionnaire_email"], r["waiting_hours"]) for r in late] == [
        ("unsigned-1", "direction@asd-rhone.org", 73.0)]


def test_intake_refuses_a_folder_with_one_bad_file_and_sends_nothing(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps(load_form("handicap-departement.json")), encoding="utf-8")
    (tmp_path / "bad.json").write_text('{"participants": "three", "colour": "blue"}', encoding="utf-8")
    with pytest.raises(FormFileError) as refused:
        load_forms([tmp_path])
    message = str(refused.value)
    assert message.startswith("nothing sent:")
    assert "bad.json: not a registration form: participants: Input should be a valid array" in message
    assert "colour: Extra inputs are not permitted" in message
    assert [p.name for p, _ in load_forms([tmp_path / "good.json", FORMS / "valid"])] == [
        "good.json", "aide-domicile-association-unsigned.json", "aide-domicile-departement-october.json",
        "handicap-departement.json"]
