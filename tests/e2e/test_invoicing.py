"""Invoices and credit notes end to end: consumers as processes, real broker and database, real PDFs."""

from __future__ import annotations

import json
from pathlib import Path

import facturx
import pytest
from sqlalchemy import select

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import EventTap, RunningConsumers, load_form, wait_until
from tests.idle import wait_until_idle
from workflow.bootstrap import Deps
from workflow.persistence.orm import CreditNoteRow, DepositRow, InvoiceRow
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.e2e
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)


def state_is(deps: Deps, registration_id: str, state: str) -> bool:
    view = registration_timeline(deps.sessions, registration_id)
    return view is not None and view["state"] == state


def stored(document_path: str | None) -> bytes:
    """The store's copy, written once the invoice's commit came back as its event (consumers.deposits)."""
    path = Path(document_path or "")
    wait_until(path.is_file, f"{path.name} in the document store")
    return path.read_bytes()


def test_a_public_buyers_invoice_is_a_facturx_pdf_deposited_to_chorus_pro(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tap: EventTap) -> None:
    form = RegistrationForm.model_validate(load_form("aide-domicile-departement-october.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "gironde")
    wait_until(lambda: state_is(deps, "gironde", "invoiced"), "invoiced")
    with deps.sessions() as session:
        invoice = session.scalars(select(InvoiceRow)).one()
    assert (invoice.number, invoice.total, str(invoice.due_on)) == ("2023-000001", 1875, "2024-11-10")
    pdf = stored(invoice.document_path)
    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert name == "factur-x.xml"
    assert b"EJ-2023-000451" in xml
    wait_until(lambda: "invoice.deposited" in tap.types_for("gironde"), "invoice.deposited on the bus")
    routing = json.loads((settings.chorus_drop_dir / "2023-000001.json").read_text(encoding="utf-8"))
    assert (routing["buyer_siret"], routing["service_code"], routing["commitment_number"]) == (
        "22330001300016", "DGAS-AUTONOMIE", "EJ-2023-000451")
    assert (settings.chorus_drop_dir / "2023-000001.pdf").read_bytes() == pdf
    with deps.sessions() as session:
        deposit = session.get(DepositRow, "2023-000001")
        assert deposit is not None
        assert (deposit.status, deposit.buyer_siret) == ("accepted", "22330001300016")
    issued = next(e for e in tap.seen if e["type"] == "invoice.issued")
    deposited = next(e for e in tap.seen if e["type"] == "invoice.deposited")
    assert "document" not in issued["payload"], "no event carries a path: the store resolves the number"
    assert issued["payload"]["due_on"] == "2024-11-10"
    assert deposited["payload"]["reference"].startswith("file-drop:2023-000001:")


def test_killed_between_the_platforms_acceptance_and_its_commit_the_invoice_is_deposited_once(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tap: EventTap) -> None:
    """The window the README names: the deposit made, the process killed (SIGKILL) before the acceptance commits.
    The redelivered `invoice.issued` asks the platform first and records the deposit it holds, sending nothing."""
    consumers.env["REGFLOW_CRASH_AT"] = "invoicing.after_deposit_before_commit"
    consumers.kill("invoicing")
    consumers.restart("invoicing")
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("aide-domicile-departement-october.json")),
                           "gironde")
    wait_until(lambda: consumers.processes["invoicing"].poll() is not None, "the crash after the deposit")
    assert consumers.processes["invoicing"].returncode == -9
    assert (settings.chorus_drop_dir / "2023-000001.json").is_file(), "the platform had accepted it"
    with deps.sessions() as session:
        pending = session.get(DepositRow, "2023-000001")
        assert pending is not None
        assert pending.status == "pending"
    consumers.restart("invoicing")
    wait_until(lambda: "invoice.deposited" in tap.types_for("gironde"), "invoice.deposited on the bus")
    wait_until_idle(settings, deps.sessions)
    assert "the platform already holds this deposit" in consumers.logs("invoicing")
    assert [e["type"] for e in tap.seen].count("invoice.deposited") == 1
    with deps.sessions() as session:
        deposit = session.get(DepositRow, "2023-000001")
        assert deposit is not None
        assert (deposit.status, deposit.reference) == ("accepted", json.loads(
            (settings.chorus_drop_dir / "2023-000001.json").read_text(encoding="utf-8"))["reference"])


def test_a_cancelled_session_cancels_its_registrations_and_credits_their_invoices(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    unsigned = RegistrationForm.model_validate({**load_form("handicap-departement.json"), "signature": None,
                                                "participants": [{"civilite": "Mme", "first_name": "Ana",
                                                                  "last_name": "ROSA", "email": "a.rosa@x.fr"}],
                                                "declared_participant_count": 1, "declared_total": "595.00"})
    with CommandClient(settings) as client:
        client.submit_form(form, "dep-a")
        client.submit_form(unsigned, "dep-b")
        wait_until(lambda: state_is(deps, "dep-a", "invoiced") and state_is(deps, "dep-b", "received"), "states")
        client.cancel_session("cpom-handicap-2023-09-15", "intervenant indisponible")
    wait_until(lambda: state_is(deps, "dep-a", "credited"), "dep-a credited")
    wait_until(lambda: state_is(deps, "dep-b", "cancelled"), "dep-b cancelled")
    with deps.sessions() as session:
        credit = session.scalars(select(CreditNoteRow)).one()
    assert (credit.number, credit.invoice_number, credit.total, credit.reason) == (
        "2023-000002", "2023-000001", 1190, "intervenant indisponible")
    assert b"2023-000001" in facturx.get_xml_from_pdf(stored(credit.document_path))[1]
    view = registration_timeline(deps.sessions, "dep-a")
    assert view is not None
    assert [(h["trigger"], h["to"]) for h in view["history"]][-2:] == [
        ("cancel_session", "cancelled"), ("credit", "credited")]
    wait_until(lambda: any(e["kind"] == "credit_note" for e in
                           (registration_timeline(deps.sessions, "dep-a") or {"emails": []})["emails"]),
               "the credit note e-mail")


def test_a_moved_session_credits_the_old_invoice_and_reissues_it_with_the_new_date(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    form = RegistrationForm.model_validate(load_form("aide-domicile-departement-october.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "gironde")
        wait_until(lambda: state_is(deps, "gironde", "invoiced"), "invoiced")
        client.move_session("cpom-aide-domicile-2024-10-11", "cpom-aide-domicile-2024-03-21", "salle virtuelle")
    wait_until(lambda: len(_invoices(deps)) == 2, "a second invoice")
    old, new = _invoices(deps)
    with deps.sessions() as session:
        credit = session.scalars(select(CreditNoteRow)).one()
    assert (old.number, credit.number, new.number) == ("2023-000001", "2023-000002", "2023-000003")
    assert credit.invoice_number == old.number
    assert "session du 21/03/2024" in str(new.lines[0]["description"])
    assert str(new.due_on) == "2024-04-20"  # 30 days after the new service-fait date
    view = registration_timeline(deps.sessions, "gironde")
    assert view is not None
    assert (view["state"], view["session_id"]) == ("invoiced", "cpom-aide-domicile-2024-03-21")
    assert [h["trigger"] for h in view["history"]][-2:] == ["move_session", "reinvoice"]
    assert view["invoice"]["number"] == "2023-000003"


def test_a_wrong_invoice_is_credited_and_replaced_never_edited(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    form = load_form("handicap-departement.json")
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(form), "dep-94")
        wait_until(lambda: state_is(deps, "dep-94", "invoiced"), "invoiced")
        corrected = RegistrationForm.model_validate(
            {**form, "client": {**form["client"], "chorus_commitment_number": "EJ-94-2023-77"}}).client
        client.correct_invoice("2023-000001", "numéro d'engagement manquant", corrected)
    wait_until(lambda: len(_invoices(deps)) == 2, "the corrected invoice")
    old, new = _invoices(deps)
    assert old.number == "2023-000001"  # kept as issued
    assert new.number == "2023-000003"
    assert b"EJ-94-2023-77" in facturx.get_xml_from_pdf(stored(new.document_path))[1]
    view = registration_timeline(deps.sessions, "dep-94")
    assert view is not None
    assert view["history"][-1]["trigger"] == "reinvoice"
    assert "numéro d'engagement manquant" in view["history"][-1]["reason"]


def _invoices(deps: Deps) -> list[InvoiceRow]:
    with deps.sessions() as session:
        return list(session.scalars(select(InvoiceRow).order_by(InvoiceRow.id)).all())
