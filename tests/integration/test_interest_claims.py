"""A public buyer that pays late is sent the claim of the interest and the 40 € indemnity (CCP R2192-31 to
R2192-36): the consumers as processes, RabbitMQ and PostgreSQL; the claim row, its letter read back from the
database with pypdf, `interest_claim.issued` on the bus, the letter e-mailed, then finance's waiver through
`regflow` and the back office."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from producers.commands import CommandClient
from regflow.web import create_app
from regflow.web.users import UserStore
from schemas.form import RegistrationForm
from tests.cli import regflow
from tests.conftest import EventTap, RunningConsumers, load_form, wait_until
from tests.integration.test_backoffice_pages import PASSWORD, login, token
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.orm import DocumentFileRow, InterestClaimRow
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)
HANDICAP = "cpom-handicap-2023-09-15"


def state(deps: Deps, registration_id: str) -> str | None:
    view = registration_timeline(deps.sessions, registration_id)
    return None if view is None else str(view["state"])


def claim(deps: Deps, number: str) -> InterestClaimRow | None:
    with deps.sessions() as session:
        return session.scalars(select(InterestClaimRow).where(InterestClaimRow.number == number)).one_or_none()


def letter_text(deps: Deps, name: str) -> str:
    with deps.sessions() as session:
        kept = session.get(DocumentFileRow, name)
        assert kept is not None, name
        pages = PdfReader(io.BytesIO(kept.content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def events(tap: EventTap, event_type: str) -> list[dict[str, Any]]:
    return [e["payload"] for e in tap.drain() if e["type"] == event_type]


def late_public_payment(settings: Settings, deps: Deps, clock: FileClock, registration_id: str) -> None:
    """The Département du Val-de-Marne's 1190.00 € invoice, due 15 October 2023, paid on 14 November 2023."""
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), registration_id)
    wait_until(lambda: state(deps, registration_id) == "invoiced", "invoiced")
    clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))
    with CommandClient(settings, producer="operations") as client:
        client.hold_session(HANDICAP, date(2023, 9, 15), reason="no sheet (test)")
    wait_until(lambda: state(deps, registration_id) == "session_held", "service fait")
    clock.set(datetime(2023, 11, 15, 10, tzinfo=PARIS))
    with CommandClient(settings, producer="finance") as client:
        client.record_payment(payment_id="DGFIP-LATE", invoice_number="2023-000001", amount=Decimal("1190.00"),
                              received_on=date(2023, 11, 14), means="mandat_administratif")
    wait_until(lambda: state(deps, registration_id) == "paid", "paid")


def test_a_late_public_payment_is_claimed_with_the_hand_figures_and_finance_can_waive_it(  # noqa: PLR0917 (fixtures)
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tap: EventTap,
        tmp_path: Path, smtp: MailSink) -> None:
    late_public_payment(settings, deps, clock, "late-dep")

    # 30 days late at 4.00 % (ECB on 1 July 2023) + 8 points: 1190.00 x 12 % x 30 / 365 = 11.7370 -> 11.74
    row = claim(deps, "INT-2023-000001")
    assert row is not None
    assert (row.invoice_number, row.days_late, row.percent, row.interest, row.indemnity, row.total, row.status,
            row.payable_by) == ("2023-000001", 30, Decimal("12.00"), Decimal("11.74"), Decimal("40.00"),
                                Decimal("51.74"), "open", date(2023, 12, 29))
    text = letter_text(deps, "interets-INT-2023-000001.pdf")
    for shown in ("Demande de paiement d'intérêts moratoires N° INT-2023-000001", "Facture 2023-000001",
                  "Date d'échéance 15/10/2023", "Date de paiement du principal 14/11/2023", "Jours de retard 30",
                  "Taux annuel 12,00 %", "taux BCE au 1er jour du semestre + 8 points (CCP R2192-31)",
                  "Intérêts moratoires 11,74 €", "40,00 €", "Total à payer 51,74 €"):
        assert shown in text, shown
    issued = wait_until(lambda: events(tap, "interest_claim.issued"), "interest_claim.issued")
    assert (issued[0]["number"], issued[0]["total"]) == ("INT-2023-000001", "51.74")
    settled = [e["payload"] for e in tap.seen if e["type"] == "invoice.settled"]
    assert (settled[0]["days_late"], settled[0]["interest"], settled[0]["indemnity"],
            settled[0]["interest_claim_number"]) == (30, "11.74", "40.00", "INT-2023-000001")

    # the letter to the gestionnaire, once, after the commit (notifications consumer)
    [mail] = wait_until(lambda: [m for m in smtp.received if m["X-Regflow-Kind"] == "interest_claim"], "the e-mail")
    assert mail["To"] == "formation@valdemarne.fr"
    assert mail["Subject"] == "Intérêts moratoires n° INT-2023-000001 sur la facture n° 2023-000001"
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "interets-INT-2023-000001.pdf"
    assert "Total à payer 51,74 €" in " ".join(
        PdfReader(io.BytesIO(attached.get_content())).pages[0].extract_text().split())

    listed = regflow(consumers, "interest-claims", "--open", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(c["number"], c["outstanding"]) for c in json.loads(listed.stdout)] == [("INT-2023-000001", "51.74")]
    out = tmp_path / "claim.pdf"
    written = regflow(consumers, "interest-claims", "letter", "INT-2023-000001", "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert out.read_bytes().startswith(b"%PDF")

    refused = regflow(consumers, "interest-claims", "waive", "INT-2023-000001", "--reason", "no", "--by", "fanny")
    assert refused.returncode == 2
    assert "3 au moins" in refused.stderr
    waived = regflow(consumers, "interest-claims", "waive", "INT-2023-000001", "--reason",
                     "Geste commercial accordé au Département", "--by", "fanny", "--json")
    assert waived.returncode == 0, waived.stderr
    row = claim(deps, "INT-2023-000001")
    assert row is not None
    assert (row.status, row.waived_by, row.waive_reason) == (
        "waived", "fanny", "Geste commercial accordé au Département")
    assert row.closed_at is not None
    again = regflow(consumers, "interest-claims", "waive", "INT-2023-000001", "--reason", "encore", "--by", "fanny")
    assert again.returncode == 2
    assert "INT-2023-000001 est déjà abandonnée / INT-2023-000001 is already waived" in again.stderr
    closed = wait_until(lambda: events(tap, "interest_claim.closed"), "interest_claim.closed")
    assert (closed[0]["outcome"], closed[0]["by"], closed[0]["reason"]) == (
        "waived", "fanny", "Geste commercial accordé au Département")
    assert json.loads(regflow(consumers, "interest-claims", "--open", "--json").stdout) == []


def test_finance_sees_the_open_claim_on_the_back_office_gets_its_letter_and_waives_it_with_a_reason(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tmp_path: Path) -> None:
    late_public_payment(settings, deps, clock, "late-page")
    users = UserStore(tmp_path / "users.json")
    users.add("fanny", PASSWORD, ["finance"])
    users.add("alice", PASSWORD, ["support"])
    browser = create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()
    login(browser, name="alice")
    assert browser.get("/interest-claims").status_code == 403  # finance only
    browser.post("/logout", data={"csrf_token": token(browser, "/registrations")})
    login(browser, name="fanny")

    page = unescape(browser.get("/interest-claims").get_data(as_text=True))
    row = page.split("<td>INT-2023-000001</td>", 1)[1].split("</tr>", 1)[0]
    for shown in ("<td>2023-000001</td>", "<td>Département du Val-de-Marne</td>", '<td data-status="open">ouverte</td>',
                  '<td class="num">30</td>', '<td class="num">12\u00a0%</td>', '<td class="num">11,74\u00a0€</td>',
                  '<td class="num">40,00\u00a0€</td>', '<td class="num">51,74\u00a0€</td>', "<td>29/12/2023</td>"):
        assert shown in row, shown
    english = unescape(browser.get("/interest-claims", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert "Open late-payment interest claims" in english
    assert '<td class="num">€51.74</td>' in english
    letter = browser.get("/interest-claims/INT-2023-000001.pdf")
    assert (letter.status_code, letter.mimetype) == (200, "application/pdf")
    assert "Total à payer 51,74 €" in " ".join(PdfReader(io.BytesIO(letter.data)).pages[0].extract_text().split())

    csrf = token(browser, "/interest-claims")
    refused = browser.post("/interest-claims/INT-2023-000001/waive", data={"reason": "x", "csrf_token": csrf},
                           follow_redirects=True)
    assert "Renonciation refusée : Une renonciation demande un motif de 3 à 500 caractères" in unescape(
        refused.get_data(as_text=True))
    done = browser.post("/interest-claims/INT-2023-000001/waive",
                        data={"reason": "Litige réglé avec le payeur départemental", "csrf_token": csrf},
                        follow_redirects=True)
    assert "abandonnée par fanny : Litige réglé avec le payeur départemental" in unescape(done.get_data(as_text=True))
    assert "Aucune demande ouverte." in unescape(browser.get("/interest-claims").get_data(as_text=True))
    row = claim(deps, "INT-2023-000001")
    assert row is not None
    assert (row.status, row.waived_by, row.waive_reason) == (
        "waived", "fanny", "Litige réglé avec le payeur départemental")


def test_a_claim_paid_in_two_parts_closes_as_paid_and_more_than_owed_is_refused(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tap: EventTap) -> None:
    late_public_payment(settings, deps, clock, "late-paid")

    first = regflow(consumers, "interest-claims", "pay", "INT-2023-000001", "--amount", "40.00", "--on",
                    "2023-12-10", "--by", "fanny", "--json")
    assert first.returncode == 0, first.stderr
    assert (json.loads(first.stdout)["status"], json.loads(first.stdout)["outstanding"]) == ("open", "11.74")
    too_much = regflow(consumers, "interest-claims", "pay", "INT-2023-000001", "--amount", "40.00", "--on",
                       "2023-12-11")
    assert too_much.returncode == 2
    assert "INT-2023-000001 : 40.00 EUR dépasse les 11.74 EUR encore dus" in too_much.stderr
    rest = regflow(consumers, "interest-claims", "pay", "INT-2023-000001", "--amount", "11.74", "--on", "2023-12-12")
    assert rest.returncode == 0, rest.stderr

    row = claim(deps, "INT-2023-000001")
    assert row is not None
    assert (row.status, row.paid, row.paid_on) == ("paid", Decimal("51.74"), date(2023, 12, 12))
    closed = wait_until(lambda: events(tap, "interest_claim.closed"), "interest_claim.closed")
    assert (closed[0]["outcome"], closed[0]["paid"]) == ("paid", "51.74")
    waive = regflow(consumers, "interest-claims", "waive", "INT-2023-000001", "--reason", "trop tard", "--by", "x")
    assert waive.returncode == 2
    assert "INT-2023-000001 est déjà payée" in waive.stderr
