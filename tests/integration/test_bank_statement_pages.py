"""A CSV statement imported over the real database, and finance's "Relevés bancaires" page over the real broker: the
treasury's transfer is proposed, the unknown credit is listed with its reason, the same file twice adds nothing;
confirming needs finance's role and the form's token, the broker away keeps the payment "à envoyer", and "Envoyer"
then puts the very command `regflow pay` would send in the payments queue."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pika
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from regflow.web import create_app
from regflow.web.users import UserStore
from tests.integration.test_backoffice_pages import NOWHERE, PASSWORD, token
from workflow.adapters.clocks import FileClock
from workflow.ops.bank_statements import bank_lines, import_statement
from workflow.persistence.orm import InvoiceRow, PaymentRow, ReceivableRow, RegistrationRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration
CSV = ("Date;Référence;Montant;Payeur;Libellé\r\n"
       "20/10/2024;VIR-77;1 785,00;DDFIP DU VAL DE MARNE;MANDAT 4512 BORDEREAU 231\r\n"
       "20/10/2024;VIR-78;312,40;M DUPONT JEAN;REMBOURSEMENT ACOMPTE\r\n"
       "20/10/2024;VIR-79;abc;M DUPONT JEAN;X\r\n").encode("cp1252")


def seed_invoice(sessions: sessionmaker[Session]) -> None:
    now = datetime(2024, 10, 1, 8, tzinfo=UTC)
    client = {"name": "Département du Val-de-Marne", "category": "local_authority", "siret": "22940028800010"}
    with sessions.begin() as session:
        session.add(RegistrationRow(id="dep", state="invoiced", version=1, training_id="cpom-handicap",
                                    session_id="cpom-handicap-2024", client_name=client["name"], client_is_public=True,
                                    form={"client": client}, errors=[], warnings=[], created_at=now, updated_at=now))
        session.flush()
        session.add(InvoiceRow(number="2024-000015", year=2024, sequence=15, issued_on=date(2024, 10, 1), lines=[],
                               total=Decimal("1785.00"), created_at=now, registration_id="dep", quantity=3,
                               unit_price=Decimal("595.00"), due_on=date(2024, 11, 14)))
        session.flush()
        session.add(ReceivableRow(invoice_number="2024-000015", registration_id="dep", client_name=client["name"],
                                  client_category="local_authority", total=Decimal("1785.00"), paid=Decimal("0.00"),
                                  sent_on=date(2024, 10, 1), received_on=None, service_fait_on=None,
                                  due_on=date(2024, 11, 14), status="open", updated_at=now))


def client_of(settings: Settings, tmp_path: Path, *, broker_url: str | None = None, role: str = "finance"
              ) -> FlaskClient:
    users = UserStore(tmp_path / f"users-{role}.json")
    users.add("fanny", PASSWORD, [role])
    app = create_app(settings.model_copy(update={"web_users_file": users.path, "development": True,
                                                 "broker_url": broker_url or settings.broker_url}))
    client = app.test_client()
    client.post("/login", data={"name": "fanny", "password": PASSWORD, "csrf_token": token(client)})
    return client


def page(client: FlaskClient) -> str:
    return unescape(client.get("/payments/bank").get_data(as_text=True))


def queued(settings: Settings) -> list[dict[str, Any]]:
    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        channel, found = connection.channel(), []
        while True:
            method, _, body = channel.basic_get(f"{settings.namespace}.payments", auto_ack=True)
            if method is None:
                return found
            found.append(json.loads(body))
    finally:
        connection.close()


def test_a_proposal_is_confirmed_on_the_page_and_its_payment_sent_once(
        settings: Settings, sessions: sessionmaker[Session], clock: FileClock, tmp_path: Path) -> None:
    seed_invoice(sessions)
    clock.set(datetime(2024, 10, 21, 9, tzinfo=UTC))
    report = import_statement(sessions, clock, CSV, file_name="releve.csv")
    assert [(line["bank_reference"], line["outcome"], line["rule"]) for line in report.lines] == [
        ("VIR-77", "proposed", "treasury"), ("VIR-78", "unmatched", "no_reference")]
    assert [(p["line"], p["en"]) for p in report.problems] == [
        (4, "VIR-79: unreadable amount 'abc' (e.g. 1 190,00)")]
    again = import_statement(sessions, clock, CSV, file_name="releve-bis.csv")
    assert (again.file_seen_before, again.lines, again.known) == (True, [], 2)

    support = client_of(settings, tmp_path, role="support")
    assert support.get("/payments/bank").status_code == 403

    away = client_of(settings, tmp_path, broker_url=NOWHERE)
    shown = page(away)
    assert "Propositions à confirmer" in shown
    assert "2024-000015 : 1\u202f785,00\u00a0€" in shown
    assert "comptable public et montant exact de 2024-000015 : à confirmer" in shown
    assert "aucun numéro de facture dans le libellé, payeur non reconnu" in shown
    [proposed] = bank_lines(sessions, "proposed")
    assert away.post(f"/payments/bank/{proposed['id']}", data={"decision": "confirm"}).status_code == 400  # no token
    answer = away.post(f"/payments/bank/{proposed['id']}", data={"decision": "confirm",
                                                                 "csrf_token": token(away, "/payments/bank")})
    assert answer.status_code == 303
    shown = page(away)
    assert "Courtier injoignable" in shown
    assert "Paiements à envoyer" in shown
    assert "2024-000015 : 1\u202f785,00\u00a0€ — en attente" in shown
    assert queued(settings) == []

    finance = client_of(settings, tmp_path)
    finance.post("/payments/bank/send", data={"csrf_token": token(finance, "/payments/bank")})
    [command] = queued(settings)
    assert command["type"] == "cmd.payment.record"
    assert {k: command["payload"][k] for k in ("invoice_number", "amount", "received_on", "requested_by", "means")} == {
        "invoice_number": "2024-000015", "amount": "1785.00", "received_on": "2024-10-20", "requested_by": "fanny",
        "means": "mandat_administratif"}  # a public accountant's payment
    assert re.fullmatch(r"bank:VIR-77:[0-9a-f]{10}:1", command["payload"]["payment_id"])
    finance.post("/payments/bank/send", data={"csrf_token": token(finance, "/payments/bank")})
    assert queued(settings) == []  # sent once
    assert "Paiements à envoyer" not in page(finance)
    assert "fanny" in page(finance).split("Rapprochées")[1]
    second = finance.post(f"/payments/bank/{proposed['id']}", data={"decision": "reject",
                                                                    "csrf_token": token(finance, "/payments/bank")})
    assert second.status_code == 409


def test_a_broker_away_at_import_keeps_the_payments_to_send_and_a_rerun_sends_them_once(  # noqa: PLR0917 (fixtures)
        settings: Settings, sessions: sessionmaker[Session], clock: FileClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from regflow.cli import main
    from tests.fleet import consumer_env

    seed_invoice(sessions)
    clock.set(datetime(2024, 10, 21, 9, tzinfo=UTC))
    for key, value in consumer_env(settings, tmp_path / "unused").items():
        monkeypatch.setenv(key, value)
    statement = tmp_path / "releve.csv"
    statement.write_bytes(b"Date,Reference,Montant,Payeur,SIRET,Libelle\n"
                          b"20/10/2024,VIR-90,1785.00,DEPARTEMENT VAL DE MARNE,22940028800010,VIREMENT\n")
    monkeypatch.setenv("REGFLOW_BROKER_URL", NOWHERE)
    assert main(["bank", "import", str(statement)]) == 3
    out, err = capsys.readouterr()
    assert "payments kept to send: `regflow bank send`" in err
    assert "1 nouvelle(s) / new: 1 rapprochée(s) / matched" in out
    assert "SIRET du payeur et montant exact de 2024-000015" in out
    [line] = bank_lines(sessions)
    assert (line["outcome"], line["to_send"]) == ("matched", True)
    assert queued(settings) == []

    monkeypatch.setenv("REGFLOW_BROKER_URL", settings.broker_url)
    assert main(["bank", "send"]) == 0
    assert capsys.readouterr().out.startswith("1 ligne(s) envoyée(s)")
    [command] = queued(settings)
    assert {k: command["payload"][k] for k in ("invoice_number", "requested_by", "means")} == {
        "invoice_number": "2024-000015", "requested_by": "bank-import", "means": "transfer"}
    assert main(["bank", "send"]) == 0
    assert capsys.readouterr().out.startswith("0 ligne(s)")
    assert queued(settings) == []
    assert main(["bank", "import", str(statement)]) == 0  # the same file: nothing new, nothing sent
    assert "0 nouvelle(s) / new" in capsys.readouterr().out
    assert queued(settings) == []


def test_the_payments_pages_name_the_means_and_anomalies_in_french_or_english_when_asked(
        settings: Settings, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    seed_invoice(sessions)
    with sessions.begin() as session:
        session.add(PaymentRow(payment_id="VIR-12", invoice_number="2024-000015", matched=True,
                               amount=Decimal("1900.00"),
                               received_on=date(2024, 10, 20), payer=None, means="mandat_administratif",
                               anomalies=["overpayment"], recorded_at=datetime(2024, 10, 21, 9, tzinfo=UTC),
                               recorded_by="fanny"))
    finance = client_of(settings, tmp_path, broker_url=NOWHERE)
    listed = unescape(finance.get("/payments").get_data(as_text=True))
    row = listed.split("<td>VIR-12</td>", 1)[1].split("</tr>", 1)[0]
    for shown in ('<td class="num">1\u202f900,00\u00a0€</td>', "<td>20/10/2024</td>", ">mandat administratif</td>",
                  ">trop-perçu</td>"):
        assert shown in row, shown
    assert 'data-means="mandat_administratif"' in row  # the code stays for scripts
    form = unescape(finance.get("/payments/new").get_data(as_text=True))
    assert "Enregistrer le paiement" in form
    assert '<option value="mandat_administratif" >mandat administratif</option>' in form
    english = unescape(finance.get("/payments", headers={"Accept-Language": "en"}).get_data(as_text=True))
    row = english.split("<td>VIR-12</td>", 1)[1].split("</tr>", 1)[0]
    assert "€1,900.00" in row
    assert ">administrative mandate</td>" in row
    assert ">overpayment</td>" in row
    assert "No proposal." in unescape(finance.get("/payments/bank", headers={"Accept-Language": "en"})
                                      .get_data(as_text=True))
