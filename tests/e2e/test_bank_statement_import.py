"""A bank statement imported end to end (issue #20, point 4: consumers as processes, real broker and database,
`regflow bank` as finance runs it): a CAMT.053 with a transfer naming its invoice, a treasury transfer without a
reference, one transfer paying two invoices, an unknown credit, then the same statement again. The payments are
those of `regflow pay`, recorded by the payments consumer; the proposal waits for finance; the unknown is listed
with its reason; nothing is counted twice, and a broker away leaves the payments to send."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import RunningConsumers, load_form, wait_until
from tests.e2e.test_payments import state
from workflow.bootstrap import Deps
from workflow.domain.identifiers import luhn_valid
from workflow.persistence.views import payment_list
from workflow.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)
TEMPLATE = Path(__file__).parents[1] / "data" / "bank" / "statement.camt053.xml"


def siret(base: str) -> str:
    return next(base + d for d in "0123456789" if luhn_valid(base + d))


def form(name: str, category: str, siret_: str, participants: int, key: str) -> dict[str, Any]:
    data = load_form("handicap-departement.json")
    data["client"] = {**data["client"], "name": name, "category": category, "siret": siret_}
    data["participants"] = [{"civilite": "Mme", "first_name": "Anne", "last_name": f"PERSONNE{key.upper()}{n}",
                             "email": f"anne.{key}{n}@example.org"} for n in range(participants)]
    data["declared_participant_count"] = participants
    data["declared_total"] = f"{595 * participants}.00"
    return data


def invoice_of(deps: Deps, registration_id: str) -> str:
    from sqlalchemy import select

    from workflow.persistence.orm import ReceivableRow

    def number() -> str | None:
        with deps.sessions() as session:
            return session.scalars(select(ReceivableRow.invoice_number).where(
                ReceivableRow.registration_id == registration_id)).first()

    return str(wait_until(number, f"the receivable of {registration_id}", timeout=60))


def regflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=env, capture_output=True, text=True,
                          timeout=90, check=False)


def bank_payments(deps: Deps) -> list[dict[str, Any]]:
    return [p for p in payment_list(deps.sessions) if str(p["payment_id"]).startswith("bank:")]


def test_a_statement_is_matched_proposed_and_kept_and_counted_once(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tmp_path: Path) -> None:
    clients = {"assoc": ("Association Les Genêts", "association", "77567227221138", 1),
               "dep": ("Département du Val-de-Marne", "local_authority", "22940028800010", 3),
               "ccas1": ("CCAS de Testville", "local_public_establishment", siret("2694001290001"), 1),
               "ccas2": ("CCAS de Testville", "local_public_establishment", siret("2694001290001"), 1)}
    with CommandClient(settings) as client:
        for key, (name, category, number, count) in clients.items():
            client.submit_form(RegistrationForm.model_validate(form(name, category, number, count, key)), key)
    for key in clients:
        wait_until(lambda k=key: state(deps, k) == "invoiced", f"{key} invoiced", timeout=120)  # type: ignore[misc]
    numbers = {key: invoice_of(deps, key) for key in clients}
    # booked a few days after the invoices (the clock of the fleet is in 2023), inside the payer's window
    text = TEMPLATE.read_text(encoding="utf-8").replace("2024-11-04", "2023-09-04").replace("2024-11-05", "2023-09-05")
    for key, value in {"{NAMED}": "595.00", "{NAMED_REF}": f"fact. {numbers['assoc'].replace('-', ' ')}",
                       "{TREASURY}": "1785.00", "{TWO}": "1190.00",
                       "{TWO_REFS}": f"FACTURES {numbers['ccas1']} ET {numbers['ccas2']}"}.items():
        text = text.replace(key, value)
    statement = tmp_path / "releve.xml"
    statement.write_text(text, encoding="utf-8")

    first = regflow(consumers.env, "bank", "import", str(statement), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    outcomes = {line["bank_reference"]: (line["outcome"], line["rule"]) for line in report["lines"]}
    assert outcomes == {"BQ20241104-0001": ("matched", "reference"), "BQ20241104-0002": ("proposed", "treasury"),
                        "BQ20241104-0003": ("matched", "reference_split"),
                        "BQ20241104-0004": ("unmatched", "no_reference")}
    assert report["totals"] == {"matched": 2, "proposed": 1, "unmatched": 1, "new": 4, "known": 0, "problems": 0,
                                "ignored": 1}
    wait_until(lambda: len(bank_payments(deps)) == 3, "the three payments recorded", timeout=60)
    recorded = {(p["invoice"], p["amount"]) for p in bank_payments(deps)}
    assert recorded == {(numbers["assoc"], "595.00"), (numbers["ccas1"], "595.00"), (numbers["ccas2"], "595.00")}
    wait_until(lambda: state(deps, "assoc") == "settled", "the association's invoice settled")
    listed = json.loads(regflow(consumers.env, "bank", "lines", "--json").stdout)
    shown = {line["bank_reference"]: line for line in listed}
    assert [(a["recorded"], a["anomalies"]) for a in shown["BQ20241104-0001"]["allocations"]] == [(True, [])]
    # a public buyer's money before the session is held: kept, and flagged as `regflow pay` would flag it
    assert [(a["recorded"], a["anomalies"]) for a in shown["BQ20241104-0003"]["allocations"]] == [
        (True, ["before_service_fait"])] * 2

    again = regflow(consumers.env, "bank", "import", str(statement), "--json")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["file_seen_before"] is True
    assert (second["totals"]["new"], second["totals"]["known"], second["lines"]) == (0, 4, [])
    as_text = regflow(consumers.env, "bank", "import", str(statement))
    assert as_text.returncode == 0, as_text.stderr
    assert "releve.xml : déjà importé (même SHA-256) / already imported (same SHA-256)" in as_text.stdout
    assert "0 nouvelle(s) / new: 0 rapprochée(s) / matched, 0 proposée(s) / proposed" in as_text.stdout
    assert "4 déjà connue(s) / already known" in as_text.stdout

    proposed = regflow(consumers.env, "bank", "lines", "--proposed", "--json")
    [line] = json.loads(proposed.stdout)
    assert line["allocations"][0]["invoice"] == numbers["dep"]
    unmatched = json.loads(regflow(consumers.env, "bank", "lines", "--unmatched", "--json").stdout)
    assert [(u["bank_reference"], u["reason_fr"]) for u in unmatched] == [
        ("BQ20241104-0004", "aucun numéro de facture dans le libellé, payeur non reconnu")]

    away = {**consumers.env, "REGFLOW_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    confirmed = regflow(away, "bank", "confirm", str(line["id"]), "--by", "fanny")
    assert confirmed.returncode == 3, confirmed.stderr
    assert "regflow bank send" in confirmed.stderr
    assert json.loads(regflow(consumers.env, "bank", "lines", "--json").stdout)[1]["to_send"] is True
    sent = regflow(consumers.env, "bank", "send")
    assert (sent.returncode, sent.stdout.split()[0]) == (0, "1"), sent.stderr
    wait_until(lambda: len(bank_payments(deps)) == 4, "the confirmed payment recorded", timeout=60)
    assert regflow(consumers.env, "bank", "send").stdout.split()[0] == "0"  # nothing left, nothing sent twice
    assert {p["recorded_by"] for p in bank_payments(deps) if p["invoice"] == numbers["dep"]} == {"fanny"}
    assert len(bank_payments(deps)) == 4
