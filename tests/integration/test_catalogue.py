"""The catalogue in the database, managed with `regflow sessions` while the consumers run: a change reaches the
validation consumer at its next message (no restart), a full, closed or cancelled session refuses new forms with
a named error, and each change is a `session.created` / `session.updated` event."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.cli import regflow
from tests.conftest import EventTap, RunningConsumers, load_form, wait_until
from workflow.bootstrap import Deps
from workflow.ops.catalogue import CatalogueDesk
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)

NEW = "cpom-handicap-2023-12-01"


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def form_for(session_id: str, *emails: str) -> RegistrationForm:
    """The Département's form, for `session_id`, with one participant per e-mail."""
    seed = load_form("handicap-departement.json")
    participants = [{"civilite": "Mme", "first_name": "Claire", "last_name": f"DURAND {i}", "email": email}
                    for i, email in enumerate(emails)]
    return RegistrationForm.model_validate({
        **seed, "session_id": session_id, "participants": participants,
        "declared_participant_count": len(participants), "declared_total": f"{595 * len(participants)}.00"})


def state_of(deps: Deps, registration_id: str, *states: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        view = registration_timeline(deps.sessions, registration_id)
        return view if view is not None and view["state"] in states else None

    found: dict[str, Any] = wait_until(reached, f"{registration_id} in {states}")
    return found


def test_a_session_added_with_a_capacity_takes_forms_until_full_then_more_seats_let_the_same_form_in(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tap: EventTap) -> None:
    added = json.loads(ok(regflow(consumers, "sessions", "add", NEW, "--training", "cpom-handicap", "--date",
                                  "2023-12-01", "--capacity", "3", "--join-url", "https://visio.example.org/b/cpom",
                                  "--trainer", "Jean-François LE TROQUIER", "--json")))
    assert (added["state"], added["capacity"], added["seats_left"], added["registration_deadline"]) == (
        "open", 3, 3, "2023-11-30")
    with CommandClient(settings) as client:
        client.submit_form(form_for(NEW, "a@valdemarne.fr", "b@valdemarne.fr"), "first-two")
        state_of(deps, "first-two", "invoiced")
        client.submit_form(form_for(NEW, "c@valdemarne.fr", "d@valdemarne.fr"), "two-more")
        refused = state_of(deps, "two-more", "rejected")
        assert [(e["rule"], e["field"]) for e in refused["errors"]] == [("session_full", "participants")]
        assert "il reste 1 place(s) pour 2 participant(s)" in refused["errors"][0]["message_fr"]
        assert "2/3 places / seats" in ok(regflow(consumers, "sessions", "list"))

        ok(regflow(consumers, "sessions", "edit", NEW, "--capacity", "4"))  # no consumer restarted
        client.submit_form(form_for(NEW, "c@valdemarne.fr", "d@valdemarne.fr"), "two-more")
        state_of(deps, "two-more", "invoiced")
    listed = {s["id"]: s for s in json.loads(ok(regflow(consumers, "sessions", "list", "--json")))}
    assert (listed[NEW]["seats_taken"], listed[NEW]["seats_left"], listed[NEW]["state"]) == (4, 0, "full")
    wait_until(lambda: len([e for e in tap.drain() if e["type"].startswith("session.")]) >= 2,
               "session.created then session.updated", timeout=15)
    changes = [e for e in tap.seen if e["type"].startswith("session.")]
    assert [(e["type"], e["payload"]["capacity"], e["payload"]["version"]) for e in changes] == [
        ("session.created", 3, 1), ("session.updated", 4, 2)]
    assert changes[0]["payload"]["has_join_url"] is True
    assert "visio.example.org" not in json.dumps(changes)


def test_a_cancelled_session_refuses_a_new_form_and_a_closed_one_until_it_is_reopened(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    ok(regflow(consumers, "sessions", "add", NEW, "--training", "cpom-handicap", "--date", "2023-12-01"))
    ok(regflow(consumers, "sessions", "close", NEW))
    with CommandClient(settings) as client:
        client.submit_form(form_for(NEW, "a@valdemarne.fr"), "while-closed")
        refused = state_of(deps, "while-closed", "rejected")
        assert [e["rule"] for e in refused["errors"]] == ["session_closed"]
        ok(regflow(consumers, "sessions", "reopen", NEW))
        client.submit_form(form_for(NEW, "a@valdemarne.fr"), "while-closed")
        state_of(deps, "while-closed", "invoiced")

    ok(regflow(consumers, "cancel-session", NEW, "--reason", "formateur indisponible", "--wait", "30"))
    state_of(deps, "while-closed", "credited")
    with CommandClient(settings) as client:
        client.submit_form(form_for(NEW, "late@valdemarne.fr"), "after-cancel")
        refused = state_of(deps, "after-cancel", "rejected")
    assert [e["rule"] for e in refused["errors"]] == ["session_cancelled"]
    assert "annulée" in refused["errors"][0]["message_fr"]
    assert "annulée / cancelled" in ok(regflow(consumers, "sessions", "list"))
    reopened = regflow(consumers, "sessions", "reopen", NEW)
    assert reopened.returncode == 2
    assert "est annulée : elle le reste / session cpom-handicap-2023-12-01 is cancelled" in reopened.stderr


@pytest.mark.parametrize(("args", "said"), [
    (("add", "x-1", "--training", "cpom-handicap", "--date", "2023-12-01", "--join-url", "javascript:alert(1)"),
     "join_url: Value error, must be an http(s) address with a host"),
    (("add", "x-1", "--training", "no-such-training", "--date", "2023-12-01"), "aucune formation no-such-training"),
    (("add", "x-1", "--training", "cpom-handicap", "--date", "2023-08-01"), "la date 01/08/2023 est passée"),
    (("add", "cpom-handicap-2023-09-15", "--training", "cpom-handicap", "--date", "2023-12-01"), "existe déjà"),
    (("add", "x-1", "--training", "cpom-handicap", "--date", "2023-12-01", "--trainer", "a\x1b[2Jb"),
     "trainer: Value error, must be one line of printable characters"),
    (("edit", "no-such-session", "--capacity", "3"), "aucune séance no-such-session"),
    (("edit", "cpom-handicap-2023-09-15"), "rien à changer / nothing to change"),
    (("add", "x-1", "--training", "cpom-handicap", "--date", "2023-12-01", "--capacity", "0"),
     "0 is not in the range 1<=x<=10000"),
])
def test_a_change_the_catalogue_cannot_take_is_refused_with_its_reason_and_changes_nothing(
        deps: Deps, consumers: RunningConsumers, args: tuple[str, ...], said: str) -> None:
    desk = CatalogueDesk(deps.sessions, deps.clock, deps.schedule)
    before = desk.catalogue()
    done = regflow(consumers, "sessions", *args)
    assert done.returncode == 2, done.stdout
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert desk.catalogue() == before


REPORT = """email,name,join,leave
claire.durand@valdemarne.fr,Claire DURAND,2023-09-15T09:25:00+02:00,2023-09-15T12:50:00+02:00
Claire.Durand@ValDeMarne.fr,Claire DURAND,2023-09-15T13:40:00+02:00,2023-09-15T15:00:00+02:00
paul.leroy@valdemarne.fr,Paul LEROY,2023-09-15T10:30:00+02:00,2023-09-15T11:00:00+02:00
invite@example.org,Invité,2023-09-15T09:30:00+02:00,2023-09-15T17:00:00+02:00
"""


def test_an_attendance_report_is_matched_by_email_kept_once_and_gives_each_participant_their_half_days(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tmp_path: Path) -> None:
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "attended")
    state_of(deps, "attended", "invoiced")
    wait_until(lambda: len(registration_timeline(deps.sessions, "attended")["links"]) == 2,  # type: ignore[index]
               "the participants' accesses")
    report = tmp_path / "rapport.csv"
    report.write_text(REPORT, encoding="utf-8")

    first = regflow(consumers, "attendance", "import", "cpom-handicap-2023-09-15", str(report), "--json")
    again = regflow(consumers, "attendance", "import", "cpom-handicap-2023-09-15", str(report), "--json")

    assert (first.returncode, again.returncode) == (1, 1), first.stderr  # a line matched nobody: look at it
    done, redone = json.loads(first.stdout), json.loads(again.stdout)
    assert (done["added"], done["already"], redone["added"], redone["already"]) == (4, 0, 0, 4)
    assert [(u["line"], u["email"]) for u in done["unmatched"]] == [(5, "invite@example.org")]
    sheet = json.loads(ok(regflow(consumers, "attendance", "show", "cpom-handicap-2023-09-15", "--json")))
    seen = {p["email"]: [(part["presence"], part["connected_minutes"]) for part in p["parts"]] + [p["hours_followed"]]
            for p in sheet["participants"]}
    assert seen == {"claire.durand@valdemarne.fr": [("present", 195), ("partial", 75), 4.25],
                    "paul.leroy@valdemarne.fr": [("partial", 30), ("absent", 0), 0.5]}
    assert [u["email"] for u in sheet["unmatched"]] == ["invite@example.org"]
    lowered = json.loads(ok(regflow(consumers, "attendance", "show", "cpom-handicap-2023-09-15", "--threshold",
                                    "60", "--json")))
    assert [p["presence"] for p in lowered["participants"][0]["parts"]] == ["present", "present"]
