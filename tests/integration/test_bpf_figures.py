"""The BPF figures over the real database: rows written with the ORM as the consumers write them, then
`python -m regflow.cli bpf --year 2023 --json` in its own process and finance's page through Flask's test
client, both giving the same lines; a year out of range is refused by both, with why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from regflow.web import create_app
from regflow.web.users import UserStore
from tests.conftest import load_form
from tests.integration.test_backoffice_pages import PASSWORD, login
from workflow.bootstrap import Deps
from workflow.persistence.orm import (
    CreditNoteRow,
    InvoiceRow,
    ParticipantAccessRow,
    ReceivableRow,
    RegistrationRow,
    SessionRecordRow,
    TrainingSessionRow,
)
from workflow.settings import Settings

pytestmark = pytest.mark.integration

S1, S2 = "cpom-handicap-2023-09-15", "cpom-aide-domicile-2023-11-20"  # the first is in the seeded catalogue


def regflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_CLOCK": settings.clock,
           "REGFLOW_DEVELOPMENT": "1"}
    return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=env, capture_output=True, text=True,
                          check=False, timeout=60)


def _registration(rid: str, session_id: str, category: str) -> RegistrationRow:
    form = load_form("handicap-departement.json")
    form = {**form, "session_id": session_id, "client": {**form["client"], "name": rid, "category": category}}
    at = datetime.fromisoformat("2023-08-01T08:00:00+00:00")
    return RegistrationRow(id=rid, state="paid", version=1, training_id=form["training_id"], session_id=session_id,
                           client_name=rid, client_is_public=category == "local_authority", form=form, errors=[],
                           warnings=[], created_at=at, updated_at=at)


def _invoice(number: str, rid: str, on: str, total: str) -> InvoiceRow:
    year, sequence = number.split("-")
    return InvoiceRow(number=number, year=int(year), sequence=int(sequence), issued_on=date.fromisoformat(on),
                      lines=[], total=Decimal(total), document_path=None, registration_id=rid, quantity=1,
                      unit_price=Decimal(total), due_on=None, created_at=datetime.fromisoformat(f"{on}T09:00+00:00"))


def _receivable(number: str, rid: str, category: str, total: str, on: str, *, status: str = "settled") -> ReceivableRow:
    return ReceivableRow(invoice_number=number, registration_id=rid, client_name=rid, client_category=category,
                         total=Decimal(total), paid=Decimal(total), sent_on=date.fromisoformat(on), received_on=None,
                         service_fait_on=None, due_on=date.fromisoformat(on), status=status,
                         updated_at=datetime.fromisoformat(f"{on}T09:00+00:00"))


def _seat(n: int, rid: str, session_id: str, presence: str, minutes: int | None) -> ParticipantAccessRow:
    return ParticipantAccessRow(id=f"access-{n}", registration_id=rid, session_id=session_id,
                                email=f"p{n}@{rid}.example", token_hash=f"{n:064d}", status="active", sequence=0,
                                created_at=datetime.fromisoformat("2023-08-01T08:00:00+00:00"), presence=presence,
                                minutes_followed=minutes)


@pytest.fixture
def year_2023(deps: Deps) -> None:
    """A company (2 present on the signed sheet), the Département (present, absent, half-day; its receivable not
    opened yet: the form's category), an association on a webinar held without a sheet (present: the day),
    credited; and a company's invoice of December 2022."""
    at = deps.clock.now()
    with deps.sessions() as session, session.begin():
        session.add(TrainingSessionRow(id=S2, training_id="cpom-aide-domicile", date=date(2023, 11, 20), state="held",
                                       capacity=None, registration_deadline=None, join_url=None, trainer=None,
                                       version=1, created_at=at, updated_at=at))
        session.add_all([_registration("acme", S1, "company"), _registration("dep-94", S1, "local_authority"),
                         _registration("admr", S2, "association"), _registration("acme-2022", S1, "company")])
        session.flush()
        session.add_all([_invoice("2023-000001", "acme", "2023-08-01", "1190.00"),
                         _invoice("2023-000002", "dep-94", "2023-08-02", "1785.00"),
                         _invoice("2023-000003", "admr", "2023-10-01", "625.00"),
                         _invoice("2022-000001", "acme-2022", "2022-12-10", "595.00")])
        session.flush()
        session.add_all([_receivable("2023-000001", "acme", "company", "1190.00", "2023-08-01"),
                         _receivable("2023-000003", "admr", "association", "625.00", "2023-10-01", status="credited"),
                         _receivable("2022-000001", "acme-2022", "company", "595.00", "2022-12-10")])
        session.add(CreditNoteRow(number="2023-000004", year=2023, sequence=4, issued_on=date(2023, 10, 5), lines=[],
                                  total=Decimal("625.00"), document_path=None, invoice_number="2023-000003",
                                  registration_id="admr", reason="annulée",
                                  created_at=datetime.fromisoformat("2023-10-05T09:00+00:00")))
        session.add_all([SessionRecordRow(session_id=S1, held_on=date(2023, 9, 15), absent_emails=[], recorded_at=at,
                                          evidence="signed_sheet"),
                         SessionRecordRow(session_id=S2, held_on=date(2023, 11, 20), absent_emails=[],
                                          recorded_at=at, evidence="operations", reason="feuille perdue")])
        session.add_all([_seat(1, "acme", S1, "present", 360), _seat(2, "acme", S1, "present", 360),
                         _seat(3, "dep-94", S1, "present", 360), _seat(4, "dep-94", S1, "absent", 0),
                         _seat(5, "dep-94", S1, "partial", 180), _seat(6, "admr", S2, "present", None)])


EXPECTED = {"C-1": "1190.00", "C-3": "1785.00", "C-total": "2975.00", "F-1a-stagiaires": 3, "F-1a-heures": "18.00",
            "F-1e-stagiaires": 2, "F-1e-heures": "9.00", "F-1-total-stagiaires": 5, "F-1-total-heures": "27.00",
            "B-distance": "oui", "part-distance-seances": "100.0", "seances": 2, "formations": 2}
# The same figures as the page writes them in French (a narrow no-break space in thousands, a decimal comma).
ON_THE_PAGE = {**{key: str(value) for key, value in EXPECTED.items()},
               "C-1": "1\u202f190,00", "C-3": "1\u202f785,00", "C-total": "2\u202f975,00", "F-1a-heures": "18,00",
               "F-1e-heures": "9,00", "F-1-total-heures": "27,00", "part-distance-seances": "100,0"}


def _json_values(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {line["key"]: line["value"] for line in lines}


@pytest.mark.usefixtures("year_2023")
def test_the_command_line_gives_the_year_s_figures_with_their_cerfa_lines(settings: Settings) -> None:
    done = regflow(settings, "bpf", "--year", "2023", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["year"], answer["cerfa"]) == (2023, "10443*17")
    values = _json_values(answer["lines"])
    assert {key: values[key] for key in EXPECTED} == EXPECTED
    by_key = {line["key"]: line for line in answer["lines"]}
    assert (by_key["C-3"]["frame"], by_key["C-3"]["line"]) == ("C", "3")
    assert "1 place(s) sans minutes mesurées" in by_key["F-1-total-heures"]["basis"]


def test_a_year_after_the_clock_s_is_refused_in_french_and_english(settings: Settings) -> None:
    done = regflow(settings, "bpf", "--year", "2024")  # the clock reads 1 September 2023
    assert done.returncode == 2
    assert "année « 2024 » invalide : de 2000 à 2023" in done.stderr
    assert "invalid year '2024'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def finance(settings: Settings, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "users.json")
    users.add("fanny", PASSWORD, ["finance"])
    users.add("alice", PASSWORD, ["support"])
    return create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()


@pytest.mark.usefixtures("year_2023")
def test_finance_s_page_shows_the_same_figures_line_by_line(finance: FlaskClient) -> None:
    login(finance, name="fanny")
    answer = finance.get("/bpf", query_string={"year": "2023"})
    assert answer.status_code == 200
    page = unescape(answer.get_data(as_text=True))
    assert "Bilan pédagogique et financier 2023" in page
    for key, value in ON_THE_PAGE.items():
        assert f'<tr id="bpf-{key}">' in page, key
        row = page.split(f'<tr id="bpf-{key}">', 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num">{value}</td>' in row, (key, row)
    assert 'href="/bpf"' in page  # the finance menu's link
    last_year = unescape(finance.get("/bpf").get_data(as_text=True))  # by default: the year filed this spring
    assert "Bilan pédagogique et financier 2022" in last_year
    english = unescape(finance.get("/bpf", query_string={"year": "2023"}, headers={"Accept-Language": "en"})
                       .get_data(as_text=True))
    assert "Training activity report 2023" in english
    assert "Frame C — Financial statement before tax" in english
    assert '<td class="num">1,190.00</td>' in english.split('<tr id="bpf-C-1">', 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("typed", ["2024", "abc", "1999", "2023' OR 1=1", "9" * 5000])
def test_a_bad_year_on_the_page_is_a_400_that_says_why(finance: FlaskClient, typed: str) -> None:
    login(finance, name="fanny")
    answer = finance.get("/bpf", query_string={"year": typed})
    assert answer.status_code == 400
    page = unescape(answer.get_data(as_text=True))
    assert "invalide : de 2000 à 2023, quatre chiffres" in page
    assert "invalid year" not in page  # French only, the page's language


def test_the_page_is_for_finance_only(finance: FlaskClient) -> None:
    login(finance, name="alice")
    assert finance.get("/bpf").status_code == 403
