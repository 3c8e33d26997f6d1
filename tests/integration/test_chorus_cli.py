"""`regflow chorus correct` and `regflow chorus poll` as support and finance run them, on the real PostgreSQL and
the file drop: what they print, what the platform got."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regflow.cli import main
from tests.integration.test_platform_lifecycle import SIRET, answer, deposit_of, issue
from workflow.bootstrap import Deps
from workflow.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in {"DATABASE_URL": settings.database_url, "CLOCK": settings.clock,
                        "NAMESPACE": settings.namespace, "DOCUMENTS_DIR": str(settings.documents_dir),
                        "CHORUS_DROP_DIR": str(settings.chorus_drop_dir), "DEVELOPMENT": "1"}.items():
        monkeypatch.setenv(f"REGFLOW_{name}", value)
    return settings.chorus_drop_dir


def test_support_corrects_a_held_invoice_and_it_is_deposited_with_the_service_code(
        deps: Deps, environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (environment / "structures").mkdir(parents=True)
    (environment / "structures" / f"{SIRET}.json").write_text(json.dumps(
        {"parametres": {"codeServiceDoitEtreRenseigne": True}}))
    number = issue(deps)

    assert main(["chorus", "correct", number, "--by", "support"]) == 2  # neither a code nor a commitment given
    assert main(["chorus", "correct", "2023-999999", "--service-code", "DA", "--by", "support"]) == 2
    assert "aucun dépôt pour 2023-999999 / no deposit for 2023-999999" in capsys.readouterr().err

    assert main(["chorus", "correct", number, "--service-code", "DA-FORMATION", "--by", "support"]) == 0
    said = capsys.readouterr().out
    assert f"{number}: libérée / released" in said
    assert f"{number}: envoyée / sent" in said
    assert json.loads((environment / f"{number}.json").read_text())["service_code"] == "DA-FORMATION"


def test_finance_polls_on_demand_and_reads_the_statuses_that_changed(
        deps: Deps, environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    number = issue(deps)
    answer(environment, number, statut="MANDATEE", date="2023-10-02", datePaiementPrevue="2023-10-12")

    assert main(["chorus", "poll", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == {"sent": [], "held": [], "failed": [],
                                                   "changed": [{"document": number, "status": "MANDATEE"}]}
    assert str(deposit_of(deps, number).expected_payment_on) == "2023-10-12"
