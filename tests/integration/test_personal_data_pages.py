"""Personal data over the real database: rows written with the ORM as the consumers write them, then
`python -m regflow.cli personal-data ...` in its own process and support's page through Flask's test client.
What the law keeps is kept and said (an unpaid registration), what has no use is deleted (the scan of a form the
person signed, their survey comment; the ratings stay), the scheduled purge takes only what is past its time (a
dry run changes nothing), and the page is support's only."""

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
from sqlalchemy import func, select

from regflow.web import create_app
from regflow.web.users import UserStore
from tests.integration.test_backoffice_pages import PASSWORD, login, token
from workflow.bootstrap import Deps
from workflow.ops.personal_data import personal_data_tables
from workflow.persistence.orm import (
    Base,
    InvoiceRow,
    ParticipantAccessRow,
    PaymentRow,
    PersonalDataRequestRow,
    RegistrationRow,
    SessionParticipantRow,
    SignatureScanRow,
    SurveyRow,
)
from workflow.settings import Settings

pytestmark = pytest.mark.integration

S1 = "cpom-handicap-2023-09-15"
AT = datetime.fromisoformat
ZOE, MARC, LEA = "zoe.quillet@acme.example", "marc.vaneau@dep94.example", "lea.brunoy@acme.example"


def regflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_CLOCK": settings.clock,
           "REGFLOW_DEVELOPMENT": "1"}
    return subprocess.run([sys.executable, "-m", "regflow.cli", "personal-data", *args], env=env,
                          capture_output=True, text=True, check=False, timeout=60)


def _form(gestionnaire: tuple[str, str, str], participants: list[tuple[str, str, str]]) -> dict[str, Any]:
    def one(who: tuple[str, str, str]) -> dict[str, str]:
        return {"email": who[0], "first_name": who[1], "last_name": who[2]}

    return {"training_id": "cpom-handicap", "session_id": S1, "client": {"name": "Acme"},
            "gestionnaire": {**one(gestionnaire), "phone": "01 43 99 70 00", "service": "RH"},
            "participants": [{"civilite": "Mme", **one(p)} for p in participants],
            "declared_participant_count": len(participants), "declared_total": f"{595 * len(participants)}.00",
            "signature": {"place": "Paris", "signatory": f"{gestionnaire[1]} {gestionnaire[2]}"}}


def _registration(rid: str, state: str, form: dict[str, Any]) -> RegistrationRow:
    at = AT("2023-08-01T08:00:00+00:00")
    return RegistrationRow(id=rid, state=state, version=1, training_id="cpom-handicap", session_id=S1,
                           client_name="Acme", client_is_public=False, form=form, errors=[], warnings=[],
                           created_at=at, updated_at=at)


def _invoice(number: str, rid: str) -> InvoiceRow:
    year, sequence = number.split("-")
    return InvoiceRow(number=number, year=int(year), sequence=int(sequence), issued_on=date(2023, 8, 2),
                      lines=[{"description": "Formation CPOM", "quantity": 1, "unit_price": "595.00",
                              "total": "595.00"}], total=Decimal("595.00"), document_path=None, registration_id=rid,
                      quantity=1, unit_price=Decimal("595.00"), due_on=None, created_at=AT("2023-08-02T09:00+00:00"))


@pytest.fixture
def people(deps: Deps) -> None:
    """acme (paid on 1 October 2023): Léa its gestionnaire (who sent the scan), Zoé a participant (who left a
    comment on the survey). dep-94 (invoiced, unpaid): Marc, its gestionnaire, and Zoé again, as a participant."""
    with deps.sessions() as session, session.begin():
        session.add_all([
            _registration("acme", "paid", _form((LEA, "Léa", "BRUNOY"), [(ZOE, "Zoé", "QUILLET")])),
            _registration("dep-94", "invoiced", _form((MARC, "Marc", "VANEAU"), [(ZOE, "Zoé", "QUILLET")]))])
        session.flush()
        session.add_all([_invoice("2023-000001", "acme"), _invoice("2023-000002", "dep-94")])
        session.flush()
        session.add(PaymentRow(payment_id="PAY-1", invoice_number="2023-000001", matched=True,
                               amount=Decimal("595.00"), received_on=date(2023, 10, 1), payer=None, means="transfer",
                               anomalies=[], recorded_at=AT("2023-10-01T10:00+00:00"), recorded_by="fanny"))
        for n, (rid, email, first, last) in enumerate([("acme", ZOE, "Zoé", "QUILLET"),
                                                       ("dep-94", ZOE, "Zoé", "QUILLET")]):
            session.add(SessionParticipantRow(registration_id=rid, email=email, session_id=S1))
            session.add(ParticipantAccessRow(id=f"access-{n}", registration_id=rid, session_id=S1, email=email,
                                             first_name=first, last_name=last, civilite="Mme", token_hash=f"{n:064d}",
                                             status="active", sequence=0, created_at=AT("2023-08-01T08:00+00:00")))
        session.add(SignatureScanRow(registration_id="acme", media_type="image/png", size=4, sha256="0" * 64,
                                     content=b"\x89PNG", uploaded_at=AT("2023-08-01T09:00+00:00"), status="accepted"))
        session.add(SurveyRow(session_id=S1, training_id="cpom-handicap", registration_id="acme", access_id="access-0",
                              invited_at=AT("2023-09-15T17:00+00:00"), remind_at=AT("2023-09-18T17:00+00:00"),
                              answered_at=AT("2023-09-16T08:00+00:00"), overall=5, objectives=4, content=5, speaker=5,
                              organisation=4, comment="Très bien. Zoé QUILLET"))


def _naming(deps: Deps, *texts: str) -> set[str]:
    """The tables, of those workflow.ops.personal_data sweeps, with a row whose text holds one of `texts` (case
    folded), read whole here: a table added to the models is in the list, so the export cannot leave it out."""
    wanted = [t.casefold() for t in texts]
    found = set()
    with deps.sessions() as session:
        for name in personal_data_tables():
            for row in session.execute(select(Base.metadata.tables[name])).mappings():
                seen = json.dumps([v for v in row.values() if not isinstance(v, bytes)], default=str,
                                  ensure_ascii=False).casefold()
                if any(t in seen for t in wanted):
                    found.add(name)
    assert found, "the fixture names the person somewhere"
    return found


def _count(deps: Deps, model: Any) -> int:
    with deps.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.usefixtures("people")
def test_an_unpaid_registration_is_kept_and_said_the_paid_one_is_erased(settings: Settings, deps: Deps) -> None:
    done = regflow(settings, "erase", ZOE, "--reason", "demande du 2 décembre", "--actor", "sam", "--json")
    assert done.returncode == 1, done.stderr  # something of hers was kept
    answer = json.loads(done.stdout)
    assert {"what": "registration", "identifier": "dep-94", "reason": "registration-in-progress"} in answer["kept"]
    assert answer["deleted"] == {"surveys.comment": 1}
    with deps.sessions() as session:
        forms = {rid: form for rid, form in session.execute(  # noqa: C416 (a Result is no mapping's input)
            select(RegistrationRow.id, RegistrationRow.form))}
        seats = {rid: email for rid, email in session.execute(  # noqa: C416
            select(ParticipantAccessRow.registration_id, ParticipantAccessRow.email))}
        survey = session.scalars(select(SurveyRow)).one()
    assert forms["dep-94"]["participants"][0]["email"] == ZOE  # kept until it is paid
    assert seats["dep-94"] == ZOE
    assert forms["acme"]["participants"][0]["email"] == seats["acme"] == f"{answer['subject']}@pseudonyme.invalid"
    assert (survey.comment, survey.overall, survey.organisation) == (None, 5, 4)  # the figures stay
    assert _count(deps, SignatureScanRow) == 1  # Léa's scan: not Zoé's to erase


@pytest.mark.usefixtures("people")
def test_the_gestionnaire_s_scan_and_details_go(settings: Settings, deps: Deps) -> None:
    done = regflow(settings, "erase", LEA, "--reason", "départ", "--actor", "sam")
    assert done.returncode == 0, done.stderr
    assert "supprimé / deleted : signature_scans ×1" in done.stdout
    with deps.sessions() as session:
        form = session.scalars(select(RegistrationRow.form).where(RegistrationRow.id == "acme")).one()
    assert form["gestionnaire"]["phone"] is None
    assert form["gestionnaire"]["email"].endswith("@pseudonyme.invalid")
    assert form["signature"]["signatory"].startswith("Personne ")
    assert _count(deps, SignatureScanRow) == 0


@pytest.mark.usefixtures("people")
def test_the_purge_takes_only_what_is_past_its_time_and_a_dry_run_changes_nothing(settings: Settings,
                                                                                 deps: Deps) -> None:
    early = regflow(settings, "purge", "--as-of", "2026-09-30", "--json")  # paid 1 October 2023 + 36 months
    assert early.returncode == 0, early.stderr
    assert json.loads(early.stdout)["registrations"] == []
    dry = regflow(settings, "purge", "--as-of", "2026-10-01", "--dry-run", "--json")
    assert json.loads(dry.stdout)["registrations"] == ["acme"]
    assert len(json.loads(dry.stdout)["subjects"]) == 2  # Léa and Zoé
    assert _count(deps, PersonalDataRequestRow) == 1  # the first run is recorded (nothing done), not the dry run
    with deps.sessions() as session:
        assert session.scalar(select(func.count()).where(SessionParticipantRow.email == ZOE)) == 2

    done = regflow(settings, "purge", "--as-of", "2026-10-01")
    assert done.returncode == 0, done.stderr
    assert "1 inscription(s) passée(s) la durée de conservation, 2 personne(s) pseudonymisées" in done.stdout
    with deps.sessions() as session:
        emails = {rid: email for rid, email in session.execute(  # noqa: C416
            select(SessionParticipantRow.registration_id, SessionParticipantRow.email))}
        purge = session.scalars(select(PersonalDataRequestRow).order_by(PersonalDataRequestRow.id.desc())).first()
        marc = session.scalars(select(RegistrationRow.form).where(RegistrationRow.id == "dep-94")).one()
    assert emails["dep-94"] == ZOE  # her unpaid registration waits
    assert emails["acme"].removesuffix("@pseudonyme.invalid") in json.loads(dry.stdout)["subjects"]
    assert marc["gestionnaire"]["email"] == MARC
    assert purge is not None
    assert (purge.kind, purge.subject, purge.actor) == ("purge", None, "purge")
    assert ZOE not in json.dumps(purge.counts)


def test_a_bad_address_or_reason_is_refused_before_anything_is_read(settings: Settings) -> None:
    done = regflow(settings, "erase", "zoe", "--reason", "demande", "--actor", "sam")
    assert done.returncode == 2
    assert "adresse e-mail « zoe » invalide / invalid e-mail address 'zoe'" in done.stderr
    done = regflow(settings, "erase", ZOE, "--reason", "x", "--actor", "sam")
    assert done.returncode == 2
    assert "motif requis, de 3 à 500 caractères" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def support(settings: Settings, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD, ["support"])
    users.add("fanny", PASSWORD, ["finance"])
    return create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()


PAGE = "/donnees-personnelles"


@pytest.mark.usefixtures("people")
def test_support_searches_exports_and_erases_on_the_page(support: FlaskClient, deps: Deps) -> None:
    login(support)
    csrf = token(support, PAGE)
    page = unescape(support.post(PAGE, data={"email": ZOE.upper(), "csrf_token": csrf}).get_data(as_text=True))
    assert f"Ce qui est conservé sur {ZOE}" in page
    assert "<td>registrations</td><td>2</td>" in page
    assert "dep-94 (facturée) — conservée : inscription en cours ou non soldée" in page

    exported = support.post(PAGE, data={"email": ZOE, "action": "export", "csrf_token": csrf})
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith('attachment; filename="donnees-personne-')
    held = json.loads(exported.get_data(as_text=True))
    assert set(held["tables"]) == _naming(deps, ZOE, "QUILLET")

    short = support.post(PAGE, data={"email": ZOE, "action": "erase", "reason": "x", "csrf_token": csrf})
    assert short.status_code == 400
    assert "motif requis" in unescape(short.get_data(as_text=True))
    erased = unescape(support.post(PAGE, data={"email": ZOE, "action": "erase", "reason": "demande écrite",
                                                "csrf_token": csrf}).get_data(as_text=True))
    assert "Effacement fait : personne-" in erased
    assert "inscription dep-94 — inscription en cours ou non soldée" in erased
    with deps.sessions() as session:
        recorded = session.scalars(select(PersonalDataRequestRow).order_by(PersonalDataRequestRow.id)).all()
    assert [(r.kind, r.actor) for r in recorded] == [("export", "alice"), ("erase", "alice")]


def test_the_page_is_support_s_and_checks_its_token(support: FlaskClient, settings: Settings, tmp_path: Path
                                                   ) -> None:
    users = UserStore(tmp_path / "users.json")
    finance = create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()
    login(finance, name="fanny")
    assert finance.get(PAGE).status_code == 403
    login(support)
    assert support.post(PAGE, data={"email": ZOE}).status_code == 400  # no CSRF token
    bad = support.post(PAGE, data={"email": "pas une adresse", "csrf_token": token(support, PAGE)})
    assert bad.status_code == 400
    assert "adresse e-mail « pas une adresse » invalide" in unescape(bad.get_data(as_text=True))
    english = support.post(PAGE, data={"email": "pas une adresse", "csrf_token": token(support, PAGE)},
                           headers={"Accept-Language": "en"})
    shown = unescape(english.get_data(as_text=True))
    assert "invalid e-mail address 'pas une adresse'" in shown
    assert "E-mail address" in shown
    assert "adresse e-mail" not in shown.lower()
