"""The dashboards through Flask's test client over the real database: finance reads the receivables by age as a
chart and as the table beneath it, in euros written the French way, and downloads the CSV; support sees the
e-mails and not the receivables."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from regflow.web import create_app
from regflow.web.users import UserStore
from tests.conftest import load_form
from tests.integration.test_backoffice_pages import NOWHERE, PASSWORD, login
from workflow.bootstrap import Deps
from workflow.persistence.orm import DocumentFileRow, EmailRow, InvoiceRow, ReceivableRow, RegistrationRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration
AT = datetime.fromisoformat("2023-09-01T08:00:00+00:00")  # the tests' clock starts on 1 September 2023, Paris


def _owed(deps: Deps, number: str, *, category: str, total: str, paid: str, due_on: date, status: str = "open") -> None:
    form = load_form("handicap-departement.json")
    with deps.sessions() as session, session.begin():
        session.add(RegistrationRow(id=f"r-{number}", state="invoiced", version=1, training_id=form["training_id"],
                                    session_id=form["session_id"], client_name="Client", client_is_public=True,
                                    form=form, errors=[], warnings=[], created_at=AT, updated_at=AT))
        session.flush()
        session.add(InvoiceRow(number=number, year=2023, sequence=int(number[-6:]), issued_on=date(2023, 7, 1),
                               lines=[], total=Decimal(total), document_path=None, registration_id=f"r-{number}",
                               quantity=1, unit_price=Decimal(total), due_on=due_on, created_at=AT))
        session.flush()
        session.add(ReceivableRow(invoice_number=number, registration_id=f"r-{number}", client_name="Client",
                                  client_category=category, total=Decimal(total), paid=Decimal(paid),
                                  sent_on=date(2023, 7, 1), received_on=None, service_fait_on=None, due_on=due_on,
                                  status=status, updated_at=AT))


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD, ["support"])
    users.add("fanny", PASSWORD, ["finance"])
    app = create_app(settings.model_copy(update={"web_users_file": users.path, "broker_url": NOWHERE,
                                                 "development": True}))
    return app.test_client()


def _table(page: str, key: str) -> list[list[str]]:
    section = page.split(f'id="chart-{key}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
            for row in body.split("</tr>") if "<td>" in row]


def test_finance_reads_the_receivables_by_age_and_downloads_them(client: FlaskClient, deps: Deps) -> None:
    # on 1 September 2023: one not due, one 10 days late, one 45 days late, one settled (owes nothing)
    _owed(deps, "2023-000001", category="local_authority", total="1190.00", paid="0.00", due_on=date(2023, 9, 30))
    _owed(deps, "2023-000002", category="local_authority", total="1190.00", paid="595.00", due_on=date(2023, 8, 22))
    _owed(deps, "2023-000003", category="association", total="595.00", paid="0.00", due_on=date(2023, 7, 18))
    _owed(deps, "2023-000004", category="association", total="595.00", paid="595.00", due_on=date(2023, 6, 1),
          status="settled")
    login(client, name="fanny")
    page = client.get("/tableau-de-bord").get_data(as_text=True)
    assert "Créances par ancienneté" in page
    assert '<svg role="img" aria-labelledby="title-creances"' in page
    # Babel's French: a narrow no-break space in thousands, a no-break space before €
    assert _table(page, "creances") == [
        ["Non échu", "1", "1\u202f190,00\u00a0€", "1\u202f190,00\u00a0€", "0,00\u00a0€"],
        ["Retard de 1 à 30 jours", "1", "595,00\u00a0€", "595,00\u00a0€", "0,00\u00a0€"],
        ["Retard de 31 à 60 jours", "1", "595,00\u00a0€", "0,00\u00a0€", "595,00\u00a0€"],
        ["Retard de plus de 60 jours", "0", "0,00\u00a0€", "0,00\u00a0€", "0,00\u00a0€"],
        ["Total", "3", "2\u202f380,00\u00a0€", "1\u202f785,00\u00a0€", "595,00\u00a0€"]]
    assert _table(page, "encaissements") == [["07/2023", "1", "595,00\u00a0€", "oui"],
                                             ["08/2023", "1", "595,00\u00a0€", "oui"],
                                             ["09/2023", "1", "1\u202f190,00\u00a0€", "non"]]
    assert ">07/2023 (échu)</text>" in page  # the bar's label
    answer = client.get("/tableau-de-bord/creances.csv")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["Ancienneté", "Factures", "Montant dû", "Collectivités", "Associations"]
    assert rows[-1] == ["Total", "3", "2 380,00 €", "1 785,00 €", "595,00 €"]
    english = client.get("/tableau-de-bord", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Receivables by age" in english
    assert _table(english, "creances")[0] == ["Not due", "1", "€1,190.00", "€1,190.00", "€0.00"]
    assert "<th scope=\"col\">Local authorities</th>" in english
    same_file = client.get("/tableau-de-bord/creances.csv", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert same_file == answer.get_data(as_text=True)  # the CSV is French whoever downloads it


def test_support_sees_the_emails_not_the_receivables(client: FlaskClient, deps: Deps) -> None:
    with deps.sessions() as session, session.begin():
        for n, status in enumerate(["sent", "sent", "pending", "failed"]):
            session.add(EmailRow(idempotency_key=f"k-{n}", kind="confirmation", registration_id="r-1",
                                 recipient=f"p{n}@example.org", subject="Confirmation", template="confirmation",
                                 context={}, attachments=[], status=status, attempts=0, next_attempt_at=AT,
                                 message_id=f"<k-{n}@example.org>", created_at=AT))
    login(client)
    page = client.get("/tableau-de-bord").get_data(as_text=True)
    assert _table(page, "emails") == [["Envoyés", "2"], ["En attente", "1"], ["En échec", "1"]]
    assert "Créances par ancienneté" not in page
    assert client.get("/tableau-de-bord/creances.csv").status_code == 403
    assert client.get("/tableau-de-bord/nothing.csv").status_code == 404


def test_support_finds_a_registration_by_participant_siret_or_invoice_and_opens_its_invoice(
        client: FlaskClient, deps: Deps, settings: Settings) -> None:
    _owed(deps, "2023-000007", category="local_authority", total="1190.00", paid="0.00", due_on=date(2023, 9, 30))
    form = load_form("handicap-departement.json")
    participant = form["participants"][0]
    siret = form["client"]["siret"]
    with deps.sessions() as session, session.begin():
        session.add(DocumentFileRow(name="facture-2023-000007.pdf", kind="invoice", number="2023-000007",
                                    content=b"%PDF-1.7 the issued invoice", sha256="0" * 64, created_at=AT,
                                    stored_at=None))
    login(client)
    for words in (participant["last_name"].upper(), participant["email"], f"{siret[:3]} {siret[3:6]} {siret[6:]}",
                  "000007", "r-2023-000007"):
        page = client.get("/registrations", query_string={"q": words}).get_data(as_text=True)
        assert "r-2023-000007" in page, words
        assert "1 inscription." in page, words
    for words in ("100%", "r_2023", "personne-inconnue@example.org"):  # % and _ are not wildcards
        assert "0 inscription." in client.get("/registrations", query_string={"q": words}).get_data(as_text=True)
    exported = client.get("/registrations.csv", query_string={"q": participant["email"]}).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:2] == ["Inscription", "État"]
    assert [row[0] for row in rows[1:]] == ["r-2023-000007"]
    timeline = client.get("/registrations/r-2023-000007").get_data(as_text=True)
    assert '/documents/facture-2023-000007.pdf' in timeline
    opened = client.get("/documents/facture-2023-000007.pdf")
    assert (opened.status_code, opened.mimetype) == (200, "application/pdf")
    assert opened.data == b"%PDF-1.7 the issued invoice"
    missing = client.get("/documents/facture-2023-000099.pdf")
    assert missing.status_code == 404
    assert "Le document facture-2023-000099.pdf est introuvable" in unescape(missing.get_data(as_text=True))
    for name in ("..%2F..%2Fetc%2Fpasswd", "facture-2023-000007.pdf.exe", "facture-x.pdf"):
        assert client.get(f"/documents/{name}").status_code == 404


def test_a_certificate_is_not_opened_by_finance(client: FlaskClient) -> None:
    login(client, name="fanny")
    assert client.get("/documents/certificat-2023-0123456789AB.pdf").status_code == 403
