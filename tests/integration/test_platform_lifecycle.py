"""An invoice's life on the e-invoicing platform against the real PostgreSQL, with the file drop standing in for
Chorus Pro (its status files written here as the platform would answer): held for a missing service code, then
released; mise à disposition moving the due date; à recycler corrected and sent again under the same number;
rejetée, then credited and reissued with a new number; suspendue, told in the history; a damaged answer kept."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from consumers import invoicing, notifications, payments
from consumers.runner import handle_message
from tests.integration.test_deposits import confirmed, outbox
from workflow.bootstrap import Deps
from workflow.ops.einvoicing import Poll, correct_routing, poll_platform
from workflow.persistence.orm import CreditNoteRow, DepositRow, EmailRow, HistoryRow, InvoiceRow, ReceivableRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.persistence.views import invoice_list
from workflow.settings import Settings

pytestmark = pytest.mark.integration

SIRET = "22940028800010"  # the Val-de-Marne of tests/forms/valid/handicap-departement.json


def issue(deps: Deps) -> str:
    """The Val-de-Marne's invoice issued, its receivable opened, and its deposit attempted (as the consumers do)."""
    assert handle_message(invoicing.APP, deps, confirmed(deps)).kind == "ack"
    [issued] = outbox(deps, "invoice.issued")
    assert handle_message(payments.APP, deps, issued).kind == "ack"
    assert handle_message(invoicing.APP, deps, issued).kind == "ack"
    return str(json.loads(issued)["payload"]["invoice_number"])


def answer(folder: Path, number: str, **fields: str) -> None:
    """What the platform says of `number`, in its status file."""
    (folder / f"{number}.status.json").write_text(json.dumps(fields), encoding="utf-8")


def poll(deps: Deps) -> None:
    poll_platform(Poll(deps.sessions, deps.clock, deps.chorus, deps.schedule,
                       deps.settings.private_payment_term_days, deps.evidence))


def deposit_of(deps: Deps, number: str) -> DepositRow:
    with deps.sessions() as session:
        row = session.get(DepositRow, number)
        assert row is not None
        return row


def history(deps: Deps) -> list[str]:
    with deps.sessions() as session:
        return [f"{h.trigger}: {h.reason}" for h in session.scalars(
            select(HistoryRow).where(HistoryRow.trigger.in_(
                ["deposit_held", "routing_corrected", "platform_status", "platform_recycled"]))
            .order_by(HistoryRow.id))]


@pytest.fixture
def drop(settings: Settings) -> Path:
    return settings.chorus_drop_dir


def test_an_invoice_missing_the_service_code_the_buyer_requires_is_held_then_released_by_its_correction(
        deps: Deps, drop: Path) -> None:
    (drop / "structures").mkdir(parents=True)
    (drop / "structures" / f"{SIRET}.json").write_text(json.dumps(
        {"parametres": {"codeServiceDoitEtreRenseigne": True, "numeroEJDoitEtreRenseigne": False}}))
    number = issue(deps)

    held = deposit_of(deps, number)
    assert held.status == "held"
    assert held.hold_reason is not None
    assert held.hold_reason.startswith("missing_service_code: l'acheteur exige un code service (BT-10)")
    assert not (drop / f"{number}.json").exists(), "nothing sent that the platform would reject"
    assert outbox(deps, "invoice.deposited") == []
    [row] = [r for r in invoice_list(deps.sessions, date(2023, 9, 1)) if r["invoice"] == number]
    assert row["platform"] == "retenue / held"
    assert row["hold_reason"] == held.hold_reason

    with UnitOfWork(deps.sessions, deps.clock, actor="support") as uow:
        assert correct_routing(uow, number, service_code="DA-FORMATION", commitment_number=None,
                               now=deps.clock.now(), by="support") == "released"
        uow.commit()
    poll(deps)

    sent = json.loads((drop / f"{number}.json").read_text())
    assert (sent["service_code"], deposit_of(deps, number).status) == ("DA-FORMATION", "accepted")
    assert len(outbox(deps, "invoice.deposited")) == 1
    assert history(deps)[0].startswith(f"deposit_held: {number} retenue, non envoyée")
    assert history(deps)[1].startswith(f"routing_corrected: {number} : routage corrigé par support")


def test_mise_a_disposition_on_a_given_day_is_the_receipt_date_and_moves_the_due_date(deps: Deps, drop: Path
                                                                                      ) -> None:
    number = issue(deps)
    with deps.sessions() as session:
        before = session.get(ReceivableRow, number)
        assert before is not None
        assert before.due_on == date(2023, 10, 15)  # planned service fait 15/09 + 30 days (R2192-10, R2192-13)

    answer(drop, number, statut="MISE_A_DISPOSITION", date="2023-09-20")
    poll(deps)
    poll(deps)  # nothing new: nothing published again

    with deps.sessions() as session:
        after = session.get(ReceivableRow, number)
        assert after is not None
        assert (after.received_on, after.due_on) == (date(2023, 9, 20), date(2023, 10, 20))
    [changed] = outbox(deps, "invoice.platform_status_changed")
    payload = json.loads(changed)["payload"]
    assert (payload["status"], payload["received_on"], payload["due_on"]) == (
        "MISE_A_DISPOSITION", "2023-09-20", "2023-10-20")
    assert history(deps) == [f"platform_status: {number} mise à disposition sur la plateforme ; reçue le "
                             "20/09/2023, échéance 20/10/2023"]
    [row] = [r for r in invoice_list(deps.sessions, date(2023, 9, 1)) if r["invoice"] == number]
    assert (row["platform"], row["due_on"]) == ("mise à disposition", "2023-10-20")


def test_an_invoice_to_recycle_is_corrected_and_sent_again_under_the_same_number_then_accepted(
        deps: Deps, drop: Path) -> None:
    number = issue(deps)
    answer(drop, number, statut="A_RECYCLER", date="2023-09-05", motif="code service inconnu du destinataire")
    poll(deps)
    assert deposit_of(deps, number).platform_status == "A_RECYCLER"

    with UnitOfWork(deps.sessions, deps.clock, actor="support") as uow:
        assert correct_routing(uow, number, service_code="DA-FORMATION", commitment_number="EJ-42",
                               now=deps.clock.now(), by="support") == "recycle"
        uow.commit()
    poll(deps)

    [recycled] = drop.glob(f"{number}-recycle-*.json")
    assert json.loads(recycled.read_text())["codeServiceExecutant"] == "DA-FORMATION"
    answer(drop, number, statut="MISE_A_DISPOSITION", date="2023-09-08")
    poll(deps)
    with deps.sessions() as session:
        assert [i.number for i in session.scalars(select(InvoiceRow))] == [number], "the same number, no other"
    assert [json.loads(b)["payload"]["status"] for b in outbox(deps, "invoice.platform_status_changed")] == [
        "A_RECYCLER", "MISE_A_DISPOSITION"]


def test_a_rejected_invoice_is_credited_and_reissued_with_a_new_number_and_the_reason(deps: Deps, drop: Path
                                                                                      ) -> None:
    number = issue(deps)
    answer(drop, number, statut="REJETEE", date="2023-09-06", motif="montant non conforme à l'engagement")
    poll(deps)
    [rejected] = outbox(deps, "invoice.platform_status_changed")

    assert handle_message(invoicing.APP, deps, rejected).kind == "ack"
    assert handle_message(invoicing.APP, deps, rejected).kind == "ack"  # redelivered: credited once

    with deps.sessions() as session:
        [credit] = session.scalars(select(CreditNoteRow)).all()
        numbers = [i.number for i in session.scalars(select(InvoiceRow).order_by(InvoiceRow.id))]
    assert credit.invoice_number == number
    assert credit.reason == "facture rejetée par Chorus Pro : montant non conforme à l'engagement"
    assert len(numbers) == 2
    assert numbers[1] not in (number, credit.number)
    issued = [json.loads(b)["payload"]["invoice_number"] for b in outbox(deps, "invoice.issued")]
    assert issued == numbers


def test_a_suspended_invoice_is_in_the_history_and_a_damaged_answer_is_kept_not_taken(deps: Deps, drop: Path
                                                                                      ) -> None:
    number = issue(deps)
    answer(drop, number, statut="SUSPENDUE", date="2023-09-06", motif="attestation de service fait manquante")
    poll(deps)
    assert history(deps) == [f"platform_status: {number} suspendue sur la plateforme : attestation de service "
                             "fait manquante"]
    [suspended] = outbox(deps, "invoice.platform_status_changed")
    told = dataclasses.replace(deps, settings=deps.settings.model_copy(update={"support_email": "support@ipp.fr"}))
    assert handle_message(notifications.APP, told, suspended).kind == "ack"
    assert handle_message(notifications.APP, told, suspended).kind == "ack"  # redelivered: one e-mail
    with deps.sessions() as session:
        [email] = session.scalars(select(EmailRow).where(EmailRow.kind == "invoice_suspended")).all()
    assert (email.recipient, email.subject) == ("support@ipp.fr", f"Facture {number} suspendue sur Chorus Pro")
    assert told.mail.render(email).text.count("attestation de service fait manquante") == 1

    (drop / f"{number}.status.json").write_text('{"statut": "PAYEE"')
    poll(deps)
    kept = deposit_of(deps, number)
    assert kept.platform_status == "SUSPENDUE"
    assert kept.platform_error is not None
    assert "not JSON" in kept.platform_error



def test_the_invoices_page_shows_finance_the_platform_status_the_hold_reason_and_the_expected_payment(
        deps: Deps, drop: Path, settings: Settings, tmp_path: Path) -> None:
    from html import unescape

    from regflow.web import create_app
    from regflow.web.users import UserStore
    from tests.integration.test_backoffice_pages import PASSWORD, login

    number = issue(deps)
    answer(drop, number, statut="MISE_EN_PAIEMENT", date="2023-10-02", datePaiementPrevue="2023-10-12")
    poll(deps)
    users = UserStore(tmp_path / "users.json")
    users.add("bernard", PASSWORD, ["finance"])
    client = create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()
    login(client, name="bernard")

    page = unescape(client.get("/invoices", query_string={"show": "all"}).get_data(as_text=True))

    row = page[page.index(f"<td>{number}</td>"):]
    row = row[:row.index("</tr>")]
    assert "mise en paiement (02/10/2023)" in row
    assert "paiement attendu le 12/10/2023" in row
    english = unescape(client.get("/invoices", query_string={"show": "all"}, headers={"Accept-Language": "en"})
                       .get_data(as_text=True))
    assert "payment expected on 10/12/23" in english  # Babel's short English date
