"""A command is answered, and a no is not an incident: `regflow` waits for the decision the real consumers
record (processes, RabbitMQ, PostgreSQL) and exits 0 when accepted, 1 when refused, with the reason in
French then English; nothing is parked for a refusal."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import regflow
from tests.conftest import FORMS, RunningConsumers, dead_letters
from workflow.bootstrap import Deps
from workflow.persistence.decisions import command_decision
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.integration
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)

WAIT = "30"


def said(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def refusal_lines(stdout: str) -> tuple[str, str]:
    """The French reason, then the English one, as the command line prints a refusal."""
    lines = stdout.splitlines()
    french = next(i for i, line in enumerate(lines) if line.startswith("refusé : "))
    english = next(i for i, line in enumerate(lines) if line.startswith("refused: "))
    assert french < english, "French first"
    return lines[french].removeprefix("refusé : "), lines[english].removeprefix("refused: ")


def test_holding_an_unknown_session_is_refused_with_the_reason_and_parks_nothing(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    done = regflow(consumers, "hold-session", "no-such-session", "--on", "2023-09-15", "--by", "olga",
                   "--wait", WAIT)
    assert done.returncode == 1, said(done)
    reason_fr, reason_en = refusal_lines(done.stdout)
    assert reason_fr
    assert reason_en
    assert "no-such-session" in reason_en
    assert "Traceback" not in done.stderr

    as_json = regflow(consumers, "hold-session", "no-such-session", "--on", "2023-09-15", "--wait", WAIT, "--json")
    assert as_json.returncode == 1, said(as_json)
    decision = json.loads(as_json.stdout)
    assert decision["outcome"] == "refused"
    assert decision["command_type"] == "cmd.session.hold"
    assert decision["reason_fr"]
    assert decision["reason_en"]
    recorded = command_decision(deps.sessions, decision["command_id"])
    assert recorded is not None
    assert (recorded.outcome, recorded.reason_en) == ("refused", decision["reason_en"])
    assert dead_letters(settings, "payments") == [], "a refusal is an answer, not a parked message"


def test_signing_an_unknown_registration_is_refused(settings: Settings, consumers: RunningConsumers) -> None:
    done = regflow(consumers, "sign", "no-such-registration", "--place", "Créteil", "--date", "2023-09-01",
                   "--signatory", "Mme Martin", "--method", "stamp", "--wait", WAIT)
    assert done.returncode == 1, said(done)
    reason_fr, reason_en = refusal_lines(done.stdout)
    assert reason_fr
    assert "no-such-registration" in reason_en
    assert dead_letters(settings, "validation") == []


def test_a_valid_form_submitted_is_accepted(deps: Deps, consumers: RunningConsumers) -> None:
    done = regflow(consumers, "submit", str(FORMS / "valid" / "handicap-departement.json"),
                   "--registration-id", "cli-dep-94", "--wait", WAIT)
    assert done.returncode == 0, said(done)
    assert "accepté / accepted: inscription cli-dep-94 enregistrée / registration cli-dep-94 recorded" in done.stdout
    assert "1 accepté(s), 0 refusé(s), 0 sans décision / 1 accepted, 0 refused, 0 without a decision" in done.stdout
    assert registration_timeline(deps.sessions, "cli-dep-94") is not None


def test_a_folder_is_answered_form_by_form_with_a_summary(consumers: RunningConsumers, tmp_path: Path) -> None:
    shutil.copy(FORMS / "valid" / "handicap-departement.json", tmp_path / "a-valid.json")
    sample = json.loads((FORMS / "invalid" / "bad_siret.json").read_text(encoding="utf-8"))  # {expected, form}
    (tmp_path / "b-bad-siret.json").write_text(json.dumps(sample["form"]), encoding="utf-8")
    done = regflow(consumers, "submit", str(tmp_path), "--wait", WAIT)
    assert done.returncode == 1, said(done)
    assert f"{tmp_path / 'a-valid.json'}: accepté / accepted" in done.stdout
    assert f"{tmp_path / 'b-bad-siret.json'}: refusé / refused: " in done.stdout
    assert "1 accepté(s), 1 refusé(s), 0 sans décision / 1 accepted, 1 refused, 0 without a decision" in done.stdout
