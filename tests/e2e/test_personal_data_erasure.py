"""End to end, the right to erasure: a registration through the real consumers (OS processes, RabbitMQ,
PostgreSQL) to 'paid' with its certificates, then `regflow personal-data export` and `erase` in their own
processes. Every table's text and JSON columns are scanned generically (SQLAlchemy's metadata): the participant's
e-mail and name are in none of them after the erasure, nor in what the commands and the consumers logged; the
invoice PDF already issued (its bytes), the invoice's totals and number and the BPF figures are unchanged; the
export listed every table where she appeared."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, String, select

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import EventTap, RunningConsumers, load_form, wait_until
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.orm import Base, InvoiceRow, PersonalDataRequestRow
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EMAIL, FIRST, LAST = "claire.durand@valdemarne.fr", "Claire", "DURAND"


def regflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_CLOCK": settings.clock,
           "REGFLOW_DEVELOPMENT": "1", "REGFLOW_LOG_FORMAT": "json"}
    return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=env, capture_output=True, text=True,
                          check=False, timeout=120)


def where_named(deps: Deps, *needles: str) -> set[tuple[str, str]]:
    """(table, column) of every text or JSON value holding one of the needles, whatever the case: every table."""
    found: set[tuple[str, str]] = set()
    with deps.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, JSON))]
            for row in session.execute(select(*columns)).mappings() if columns else []:
                for name, value in row.items():
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    if any(n.casefold() in text.casefold() for n in needles):
                        found.add((table.name, name))
    return found


def reach(deps: Deps, registration_id: str, expected: str) -> None:
    def state() -> str | None:
        view = registration_timeline(deps.sessions, registration_id)
        return None if view is None else str(view["state"])

    wait_until(lambda: state() == expected, f"{registration_id} to reach {expected} (is {state()})")


def reconciling(deps: Deps, settings: Settings) -> dict[str, Any]:
    """What must not move: the invoices (numbers, totals), the issued PDF's bytes, the year's BPF figures."""
    with deps.sessions() as session:
        invoices = [(i.number, i.quantity, str(i.unit_price), str(i.total))
                    for i in session.scalars(select(InvoiceRow).order_by(InvoiceRow.number))]
    pdf = (settings.documents_dir / "facture-2023-000001.pdf").read_bytes()
    bpf = regflow(settings, "bpf", "--year", "2023", "--json")
    assert bpf.returncode == 0, bpf.stderr
    return {"invoices": invoices, "pdf_sha256": hashlib.sha256(pdf).hexdigest(), "bpf": json.loads(bpf.stdout)}


def test_an_erased_participant_is_in_no_table_while_invoices_pdf_and_bpf_figures_stay(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tap: EventTap, clock: FileClock) -> None:
    # Given a registration of the Département, invoiced, held, paid, its certificates and surveys sent
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "dep-94")
        reach(deps, "dep-94", "invoiced")
        clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))
        client.hold_session("cpom-handicap-2023-09-15", date(2023, 9, 15), reason="no sheet (test)")
        reach(deps, "dep-94", "session_held")
        clock.set(datetime(2023, 10, 12, 10, tzinfo=PARIS))
        client.record_payment(payment_id="DGFIP-1", invoice_number="2023-000001", amount=Decimal("1190.00"),
                              received_on=date(2023, 10, 12), means="mandat_administratif")
    reach(deps, "dep-94", "paid")
    wait_until(lambda: tap.types_for("dep-94").count("email.sent") >= 9, "its nine e-mails sent")
    consumers.stop()  # a quiet database: the survey's reminder, due by now, would otherwise race the scan below
    before = reconciling(deps, settings)
    named = {table for table, _ in where_named(deps, EMAIL, LAST)}
    assert {"registrations", "session_participants", "participant_access", "emails", "outbox",
            "certificates"} <= named

    # When support exports, then erases her
    exported = regflow(settings, "personal-data", "export", EMAIL, "--actor", "sam")
    assert exported.returncode == 0, exported.stderr
    held = json.loads(exported.stdout)
    erased = regflow(settings, "personal-data", "erase", EMAIL.upper(), "--reason",
                     f"demande de {FIRST} {LAST} ({EMAIL}) du 12 octobre", "--actor", "sam")

    # Then the export listed every table where she was, and only her part of the shared form
    assert set(held["tables"]) == named
    form_record = next(r for r in held["records"] if r["table"] == "registrations")
    assert form_record["columns"]["form"] == [{"civilite": "Mme", "first_name": FIRST, "last_name": LAST,
                                               "email": EMAIL}]
    assert {d["number"] for d in held["documents"]} >= {"2023-000001"}
    # and she is in no column of any table, nor in what was logged
    assert erased.returncode == 0, erased.stderr
    assert where_named(deps, EMAIL, LAST, f"{FIRST} {LAST}") == set()
    assert EMAIL not in erased.stdout + erased.stderr
    assert LAST not in erased.stdout + erased.stderr
    assert "conservé / kept : invoice 2023-000001" in erased.stdout
    assert "code de commerce L123-22" in erased.stdout
    for name in consumers.processes:
        assert EMAIL not in consumers.logs(name), name
        assert LAST not in consumers.logs(name), name
    # the other participant and the gestionnaire are untouched
    assert ("registrations", "form") in where_named(deps, "paul.leroy@valdemarne.fr")
    assert ("registrations", "form") in where_named(deps, "formation@valdemarne.fr")
    # what reconciles did not move: the numbering, the totals, the PDF issued, the BPF figures
    assert reconciling(deps, settings) == before
    # and both requests were recorded by pseudonym, with who did them
    with deps.sessions() as session:
        requests = session.scalars(select(PersonalDataRequestRow).order_by(PersonalDataRequestRow.id)).all()
    assert [(r.kind, r.actor) for r in requests] == [("export", "sam"), ("erase", "sam")]
    assert requests[0].subject == requests[1].subject == held["pseudonym"]
    assert held["pseudonym"].startswith("personne-")
    assert requests[1].reason is not None
    assert LAST not in requests[1].reason
    assert EMAIL not in requests[1].reason
    # erasing again finds nothing more to do
    again = regflow(settings, "personal-data", "erase", EMAIL, "--reason", "relance", "--actor", "sam")
    assert again.returncode == 0, again.stderr
    assert "pseudonymisé" not in again.stdout
