"""The satisfaction survey over the real database: the participant's page behind the personal link (/j/<token>/avis:
the form, each refusal next to its field, answered once, `evaluation.received` in the outbox with no comment text),
and the back office's results page and CSV, for operations and trainers only."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from regflow.join import create_join_app
from regflow.web import create_app
from regflow.web.users import UserStore
from tests.integration.test_backoffice_pages import PASSWORD, login
from tests.integration.test_join_service import SESSION, grant, text_of
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.access_links import REVOKED, token_hash
from workflow.domain.clock import PARIS
from workflow.persistence.orm import OutboxRow, ParticipantAccessRow, SurveyRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)
ANSWER = {"overall": "4", "objectives": "5", "content": "4", "speaker": "5", "organisation": "3",
          "comment": "Très concret.\r\nLe son a coupé vers 11h."}


def invited(deps: Deps, status: str = "active") -> str:
    """A seat present at the session, invited as the notifications consumer does after service fait."""
    token = grant(deps, status)
    with deps.sessions() as session:
        access = session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.token_hash == token_hash(token))).one()
        session.add(SurveyRow(session_id=SESSION, training_id="cpom-handicap", registration_id="r-1",
                              access_id=access.id, invited_at=EVENING, remind_at=EVENING + timedelta(hours=72),
                              reminded_at=None, answered_at=None))
        session.commit()
    return token


def evaluations(deps: Deps) -> list[dict[str, object]]:
    with deps.sessions() as session:
        return [json.loads(r.body)["payload"] for r in session.scalars(
            select(OutboxRow).where(OutboxRow.routing_key == "evaluation.received"))]


@pytest.fixture
def join(settings: Settings, clock: FileClock) -> FlaskClient:
    clock.set(EVENING + timedelta(hours=1))
    return create_join_app(settings.model_copy(update={"join_requests_per_minute": 1000})).test_client()


def test_the_participant_answers_once_and_the_answer_is_kept_with_its_event(join: FlaskClient, deps: Deps) -> None:
    token = invited(deps)
    form = text_of(join.get(f"/j/{token}/avis"))
    assert "Votre avis sur la journée" in form
    assert "Les objectifs annoncés ont été atteints" in form
    assert "5 – Très satisfait" in form

    answer = join.post(f"/j/{token}/avis", data=ANSWER)
    assert answer.status_code == 200
    assert "Merci : votre réponse est enregistrée" in text_of(answer)
    with deps.sessions() as session:
        row = session.scalars(select(SurveyRow)).one()
        assert (row.overall, row.objectives, row.content, row.speaker, row.organisation) == (4, 5, 4, 5, 3)
        assert row.comment == "Très concret.\nLe son a coupé vers 11h."
        assert row.answered_at == EVENING + timedelta(hours=1)
    [event] = evaluations(deps)
    assert event["overall"] == 4
    assert event["commented"] is True
    assert "comment" not in event  # the text stays with the back office

    again = join.post(f"/j/{token}/avis", data={**ANSWER, "overall": "1"})
    assert "Vous avez déjà répondu à ce questionnaire" in text_of(again)
    assert "déjà répondu" in text_of(join.get(f"/j/{token}/avis"))
    assert len(evaluations(deps)) == 1
    with deps.sessions() as session:
        assert session.scalars(select(SurveyRow.overall)).one() == 4


@pytest.mark.parametrize(("changes", "field", "said"), [
    ({"speaker": "9"}, "speaker", "La note doit être un nombre entier de 1 à 5."),
    ({"overall": ""}, "overall", "Choisissez une note de 1 à 5."),
    ({"comment": "x" * 2001}, "comment", "Le commentaire dépasse 2000 caractères (2001)."),
    ({"comment": "ok\u202egnp.exe"}, "comment", "Le commentaire contient un caractère refusé"),
])
def test_a_refused_answer_is_shown_again_with_the_message_next_to_its_field_and_nothing_kept(
        join: FlaskClient, deps: Deps, changes: dict[str, str], field: str, said: str) -> None:
    token = invited(deps)
    answer = join.post(f"/j/{token}/avis", data={**ANSWER, **changes})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert f'id="error-{field}"' in html
    assert said in text_of(answer)
    assert 'value="4" required checked' in html or field == "overall"  # what was chosen is kept
    assert evaluations(deps) == []
    with deps.sessions() as session:
        assert session.scalars(select(SurveyRow.answered_at)).one() is None


def test_a_link_without_survey_a_revoked_one_or_a_forged_one_finds_nothing(join: FlaskClient, deps: Deps) -> None:
    not_invited = grant(deps)
    revoked = invited(deps, REVOKED)
    for token in (not_invited, revoked, "A" * 43, "court"):
        answer = join.post(f"/j/{token}/avis", data=ANSWER)
        assert answer.status_code == 404
        assert "Lien inconnu" in text_of(answer)
    assert evaluations(deps) == []


def test_a_form_too_large_is_refused_before_it_is_read(join: FlaskClient, deps: Deps) -> None:
    token = invited(deps)
    answer = join.post(f"/j/{token}/avis", data={**ANSWER, "comment": "x" * 100_000})
    assert answer.status_code == 413
    assert evaluations(deps) == []


# --- the back office ----------------------------------------------------------------------------------------


@pytest.fixture
def office(settings: Settings, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "users.json")
    users.add("olga", PASSWORD, ["operations"])
    users.add("fanny", PASSWORD, ["finance"])
    return create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()


def test_operations_read_the_results_per_session_and_per_training_and_download_them(
        join: FlaskClient, office: FlaskClient, deps: Deps) -> None:
    tokens = [invited(deps) for _ in range(4)]
    for token, overall in zip(tokens[:3], ("5", "4", "2"), strict=True):
        assert join.post(f"/j/{token}/avis", data={**ANSWER, "overall": overall, "speaker": overall,
                                                   "comment": "=HYPERLINK(\"http://x\")" if overall == "2" else ""
                                                   }).status_code == 200
    login(office, name="olga")
    page = office.get("/avis")
    assert page.status_code == 200
    shown = text_of(page)
    assert "3 réponse(s) sur 4 participant(s) invité(s)" in shown
    assert "taux de réponse 75,0 %" in shown
    assert "satisfaits 66,7 %" in shown
    html = page.get_data(as_text=True)
    assert f'id="avg-{SESSION}-overall"' in html
    assert "3,67" in html  # (5 + 4 + 2) / 3
    assert "<svg" in html
    assert 'href="/avis"' in html  # the menu's link
    english = text_of(office.get("/avis", headers={"Accept-Language": "en"}))
    assert "3 answer(s) from 4 participant(s) invited" in english
    assert "response rate 75.0%" in english
    assert "3.67" in english
    assert "The stated objectives were met" in english

    by_training = text_of(office.get("/avis", query_string={"by": "training"}))
    assert "3 réponse(s) sur 4 participant(s) invité(s)" in by_training
    assert office.get("/avis", query_string={"by": "<script>"}).status_code == 400

    download = office.get("/avis.csv", query_string={"by": "session"})
    assert download.headers["Content-Type"].startswith("text/csv")
    [line] = list(csv.DictReader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert (line["key"], line["invited"], line["answered"], line["response_rate"]) == (SESSION, "4", "3", "75.0")
    assert line["average_overall"] == "3.67"
    assert line["comments"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it


def test_finance_does_not_see_the_participants_comments(office: FlaskClient) -> None:
    login(office, name="fanny")
    assert office.get("/avis").status_code == 403
    assert office.get("/avis.csv").status_code == 403
