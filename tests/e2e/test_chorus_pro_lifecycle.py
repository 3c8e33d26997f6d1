"""The issue's check, end to end: the consumers as OS processes on the real broker and database, Chorus Pro's API
served by the tests' own server (tests/integration/chorus_pro_server.py). A public buyer's invoice deposited once
while the invoicing consumer is killed between the platform's acceptance and its commit and redelivered; then
*à recycler*, corrected and accepted under the same number; *mise à disposition* on a given day moving the due
date; *rejetée*, then credited and reissued with a new number, deposited in turn."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import RunningConsumers, load_form
from tests.idle import wait_until
from tests.integration.chorus_pro_server import ACCOUNT, CLIENT_ID, CLIENT_SECRET, Platform, chorus_pro_server
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps, platform_of
from workflow.domain.clock import PARIS
from workflow.ops.einvoicing import Poll, correct_routing, poll_platform
from workflow.persistence.orm import CreditNoteRow, DepositRow, InvoiceRow, OutboxRow, ReceivableRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

pytestmark = pytest.mark.e2e

FLOW = "/cpro/factures/v1/deposer/flux"


def row(deps: Deps, table: type, key: str) -> object | None:
    with deps.sessions() as session:
        return session.get(table, key)


def deposit(deps: Deps, number: str) -> DepositRow:
    found = row(deps, DepositRow, number)
    assert isinstance(found, DepositRow)
    return found


def published(deps: Deps, routing_key: str) -> list[dict[str, object]]:
    with deps.sessions() as session:
        return [json.loads(b)["payload"] for b in session.scalars(
            select(OutboxRow.body).where(OutboxRow.routing_key == routing_key).order_by(OutboxRow.id))]


def test_an_invoice_deposited_once_through_chorus_pro_recycled_received_then_rejected_and_reissued(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tmp_path: Path) -> None:
    platform = Platform(structures={"22330001300016": {"codeServiceDoitEtreRenseigne": True,
                                                       "numeroEJDoitEtreRenseigne": True}})  # the Gironde
    login, password = ACCOUNT.split(":")
    with chorus_pro_server(platform) as url:
        api = {"REGFLOW_CHORUS_MODE": "api", "REGFLOW_CHORUS_OAUTH_URL": f"{url}/api/oauth/token",
               "REGFLOW_CHORUS_API_URL": url, "REGFLOW_CHORUS_CLIENT_ID": CLIENT_ID,
               "REGFLOW_CHORUS_CLIENT_SECRET": CLIENT_SECRET, "REGFLOW_CHORUS_LOGIN": login,
               "REGFLOW_CHORUS_PASSWORD": password}
        consumers.env.update({**api, "REGFLOW_CRASH_AT": "invoicing.after_deposit_before_commit"})
        consumers.kill("invoicing")
        consumers.restart("invoicing")
        with CommandClient(settings) as client:
            client.submit_form(RegistrationForm.model_validate(load_form("aide-domicile-departement-october.json")),
                               "gironde")

        # Given the platform accepted the deposit and the consumer died before recording it
        wait_until(lambda: consumers.processes["invoicing"].poll() is not None, "the crash after the deposit", 60)
        assert consumers.processes["invoicing"].returncode == -9
        assert list(platform.invoices) == ["2023-000001"]
        assert deposit(deps, "2023-000001").status == "pending"
        # When it comes back, the redelivered invoice.issued asks the platform first: deposited once
        consumers.restart("invoicing")
        wait_until(lambda: deposit(deps, "2023-000001").status == "accepted", "the deposit recorded", 60)
        assert platform.paths().count(FLOW) == 1
        assert deposit(deps, "2023-000001").reference == platform.invoices["2023-000001"]["numeroFluxDepot"]
        wait_until(lambda: row(deps, ReceivableRow, "2023-000001") is not None, "the receivable", 60)

        poll = Poll(deps.sessions, deps.clock, platform_of(settings.model_copy(update={
            "chorus_mode": "api", "chorus_oauth_url": f"{url}/api/oauth/token", "chorus_api_url": url,
            "chorus_client_id": CLIENT_ID, "chorus_client_secret": SecretStr(CLIENT_SECRET), "chorus_login": login,
            "chorus_password": SecretStr(password)}), deps.clock), deps.schedule, 0, deps.evidence)

        # À recycler: support corrects the service code, it goes again under the same number
        platform.set_status("2023-000001", "A_RECYCLER")
        # (polled until read: the invoicing consumer's own poll may hold the row at that moment, SKIP LOCKED)
        wait_until(lambda: poll_platform(poll) is not None
                   and deposit(deps, "2023-000001").platform_status == "A_RECYCLER", "À recycler read", 30)
        with UnitOfWork(deps.sessions, deps.clock, actor="support") as uow:
            correct_routing(uow, "2023-000001", service_code="DGAS-AUTONOMIE-2", commitment_number=None,
                            now=deps.clock.now(), by="support")
            uow.commit()
        wait_until(lambda: poll_platform(poll) is not None and "recycled_with" in platform.invoices["2023-000001"],
                   "the corrected invoice sent again", 30)
        assert platform.invoices["2023-000001"]["recycled_with"]["destinataire"] == {
            "codeServiceExecutant": "DGAS-AUTONOMIE-2"}

        # Mise à disposition on 20 October 2024: the receipt date, and the due date moved from it (R2192-12)
        assert str(deposit(deps, "2023-000001").platform_status) == "A_RECYCLER"
        clock.set(datetime(2024, 10, 20, 9, tzinfo=PARIS))
        platform.set_status("2023-000001", "MISE_A_DISPOSITION")
        wait_until(lambda: poll_platform(poll) is not None
                   and deposit(deps, "2023-000001").platform_status == "MISE_A_DISPOSITION", "mise à disposition", 30)
        receivable = row(deps, ReceivableRow, "2023-000001")
        assert isinstance(receivable, ReceivableRow)
        assert (receivable.received_on, receivable.due_on) == (date(2024, 10, 20), date(2024, 11, 19))

        # Rejetée: credited and reissued with a new number by the invoicing consumer, both deposited
        platform.set_status("2023-000001", "REJETEE")
        wait_until(lambda: poll_platform(poll) is not None
                   and deposit(deps, "2023-000001").platform_status == "REJETEE", "rejetée read", 30)
        # (the clock is in 2024 now: the 2024 series, CGI annexe II 242 nonies A allows one per year)
        wait_until(lambda: row(deps, DepositRow, "2024-000002") is not None
                   and deposit(deps, "2024-000002").status == "accepted", "the new invoice deposited", 60)
        with deps.sessions() as session:
            credit = session.scalars(select(CreditNoteRow)).one()
            numbers = [i.number for i in session.scalars(select(InvoiceRow).order_by(InvoiceRow.id))]
        assert (credit.number, credit.invoice_number) == ("2024-000001", "2023-000001")
        assert credit.reason == "facture rejetée par Chorus Pro : motif non communiqué"
        assert numbers == ["2023-000001", "2024-000002"]
        wait_until(lambda: "2024-000001" in platform.invoices, "the credit note deposited", 60)
        assert platform.paths().count(FLOW) == 3  # the first invoice once, its credit note, the new invoice
        statuses = [p["status"] for p in published(deps, "invoice.platform_status_changed")]
        # the invoicing consumer's own poll, at its start, may have seen the fresh deposit first (DEPOSEE, once)
        assert statuses in (["A_RECYCLER", "MISE_A_DISPOSITION", "REJETEE"],
                            ["DEPOSEE", "A_RECYCLER", "MISE_A_DISPOSITION", "REJETEE"])
