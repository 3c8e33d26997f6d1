"""The back-office page's guards, through Flask's test client over the real database: where a login may send
the browser, the CSRF token, a replacement checked before anything is published, the database away."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from regflow.web import create_app
from regflow.web.users import UserStore
from tests.conftest import RunningConsumers, load_form
from workflow.bootstrap import Deps
from workflow.persistence.orm import RegistrationRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
NOWHERE = "amqp://127.0.0.1:1/%2F"  # no broker: a command that got as far as publishing would answer 503


def token(client: FlaskClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: FlaskClient, next_path: str | None = None, name: str = "alice") -> Any:
    query = {"next": next_path} if next_path is not None else {}
    return client.post("/login", query_string=query, data={"name": name, "password": PASSWORD,
                                                           "csrf_token": token(client)})


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD, ["support"])
    app = create_app(settings.model_copy(update={"web_users_file": users.path, "broker_url": NOWHERE,
                                                 "development": True}))
    return app.test_client()


@pytest.mark.parametrize("next_path", ["//evil.example/", "/\\evil.example", "https://evil.example/",
                                       "javascript:alert(1)"])
def test_a_login_never_sends_the_browser_to_another_site(client: FlaskClient, next_path: str) -> None:
    answer = login(client, next_path)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/registrations"


@pytest.mark.parametrize("next_path", ["/\t/evil.example", "/\r\nSet-Cookie: x=1"])
def test_a_login_whose_next_page_holds_a_control_character_is_refused(client: FlaskClient, next_path: str) -> None:
    """Browsers drop tabs and newlines from an address ("/", a tab, "/evil.example" would be "//evil.example"):
    the whole request is refused, before the login."""
    answer = login(client, next_path)
    assert answer.status_code == 400
    assert "Requête invalide" in answer.get_data(as_text=True)
    assert "Location" not in answer.headers
    assert "x=1" not in answer.headers.get("Set-Cookie", "")


def test_a_login_goes_back_to_the_page_asked_for(client: FlaskClient) -> None:
    assert login(client, "/invoices?show=all").headers["Location"] == "/invoices?show=all"


def test_a_token_that_is_not_ascii_is_refused_not_a_crash(client: FlaskClient) -> None:
    login(client)
    answer = client.post("/registrations/x/replace", data={"csrf_token": "é"})
    assert answer.status_code == 400
    page = unescape(answer.get_data(as_text=True))
    assert "Le jeton de sécurité du formulaire manque ou n'est plus valable" in page


def _add_registration(deps: Deps, registration_id: str) -> None:
    form = load_form("handicap-departement.json")
    with deps.sessions() as session, session.begin():
        now = deps.clock.now()
        session.add(RegistrationRow(
            id=registration_id, state="invoiced", version=1, training_id=form["training_id"],
            session_id=form["session_id"], client_name="Département du Val-de-Marne", client_is_public=True,
            form=form, errors=[], warnings=[], created_at=now, updated_at=now))


NEWCOMER = {"civilite": "Mme", "first_name": "Inès", "last_name": "Roy", "email": "ines.roy@valdemarne.fr"}


def test_no_replacement_is_sent_for_a_registration_that_does_not_exist(client: FlaskClient) -> None:
    login(client)
    answer = client.post("/registrations/nobody/replace", data={
        **NEWCOMER, "replaced": "paul.leroy@valdemarne.fr", "csrf_token": token(client, "/registrations")})
    assert answer.status_code == 404  # not 503: nothing was even tried on the broker


def test_no_replacement_is_sent_for_someone_who_is_not_a_participant(client: FlaskClient, deps: Deps) -> None:
    _add_registration(deps, "dep-94")
    login(client)
    answer = client.post("/registrations/dep-94/replace", data={
        **NEWCOMER, "replaced": "stranger@example.org", "csrf_token": token(client, "/registrations/dep-94")})
    assert answer.status_code == 400
    assert "Participant remplacé : ne fait pas partie de cette inscription" in unescape(answer.get_data(as_text=True))


def test_the_database_away_is_a_clear_503_not_a_crash(settings: Settings, tmp_path: Path) -> None:
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD, ["support"])
    app = create_app(settings.model_copy(update={
        "web_users_file": users.path, "database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none",
        "development": True}))
    client = app.test_client()
    login(client)
    answer = client.get("/registrations")
    assert answer.status_code == 503
    page = unescape(answer.get_data(as_text=True))
    assert "La base de données ne répond pas pour l'instant" in page


def test_a_session_held_before_it_started_is_answered_with_the_refusal_in_french(
        settings: Settings, tmp_path: Path, consumers: RunningConsumers) -> None:
    """The page waits for the decision as the command line does: operations read the refusal, not "sent"."""
    users = UserStore(tmp_path / "ops.json")
    users.add("olga", PASSWORD, ["operations"])
    app = create_app(settings.model_copy(update={"web_users_file": users.path, "development": True}),
                     decision_wait_seconds=20)
    client = app.test_client()
    login(client, name="olga")
    answer = client.post("/sessions/held", data={
        "session_id": "cpom-handicap-2023-09-15", "held_on": "2023-09-15", "absent_emails": "",
        "csrf_token": token(client, "/sessions/held")}, follow_redirects=True)
    page = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200
    assert "refusée" in page
    assert "elle ne peut pas encore avoir eu lieu" in page
    assert "it cannot have been held" not in page  # the page's language only


def operations_client(settings: Settings, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "ops.json")
    users.add("olga", PASSWORD, ["operations"])
    client = create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()
    login(client, name="olga")
    return client


def test_operations_add_a_session_then_close_and_reopen_it_on_the_sessions_page(
        settings: Settings, tmp_path: Path) -> None:
    client = operations_client(settings, tmp_path)
    added = client.post("/sessions", data={
        "training_id": "cpom-handicap", "session_id": "cpom-handicap-2023-12-01", "date": "2023-12-01",
        "capacity": "12", "registration_deadline": "2023-11-20", "join_url": "https://visio.example.org/b/x",
        "trainer": "Jean Dupont", "csrf_token": token(client, "/sessions")}, follow_redirects=True)
    page = unescape(added.get_data(as_text=True))
    assert added.status_code == 200
    assert "Séance cpom-handicap-2023-12-01 ajoutée" in page
    row = re.search(r'<tr id="session-cpom-handicap-2023-12-01">(.*?)</tr>', page, re.S)
    assert row is not None
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1))).split("Clore")[0].split() == [
        "cpom-handicap-2023-12-01", "01/12/2023", "Etablissements", "et", "services", '"Handicap"', ":", "les",
        "outils", "de", "construction", "d'un", "CPOM", "ouverte", "0", "/", "12", "20/11/2023", "Jean", "Dupont",
        "oui"]
    closed = client.post("/sessions/cpom-handicap-2023-12-01", data={
        "action": "close", "csrf_token": token(client, "/sessions")}, follow_redirects=True)
    assert "Séance cpom-handicap-2023-12-01 close." in unescape(closed.get_data(as_text=True))
    assert '<td class="state-closed">close</td>' in closed.get_data(as_text=True)
    reopened = client.post("/sessions/cpom-handicap-2023-12-01", data={
        "action": "reopen", "csrf_token": token(client, "/sessions")}, follow_redirects=True)
    assert '<td class="state-open">ouverte</td>' in reopened.get_data(as_text=True)
    english = unescape(client.get("/sessions", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert '<td class="state-open">open</td>' in english
    assert "Add a session" in english
    assert "Ajouter une séance" not in english


@pytest.mark.parametrize(("fields", "said"), [
    ({"session_id": "a b", "date": "2023-12-01"}, "identifiant : String should match pattern"),
    ({"session_id": "x-1", "date": "2023-12-01", "join_url": "ftp://files.example.org/"},
     "adresse de la visioconférence : Value error, must be an http(s) address"),
    ({"session_id": "x-1", "date": "2023-12-01", "capacity": "-3"}, "places : Input should be greater than"),
    ({"session_id": "x-1", "date": "pas une date"}, "date : Input should be a valid date"),
    ({"session_id": "x-1", "date": "2023-08-01"}, "la date 01/08/2023 est passée"),
    ({"session_id": "cpom-handicap-2023-09-15", "date": "2023-12-01"}, "existe déjà"),
])
def test_a_session_the_catalogue_cannot_take_is_refused_on_the_page_with_its_field_named(
        settings: Settings, tmp_path: Path, fields: dict[str, str], said: str) -> None:
    client = operations_client(settings, tmp_path)
    answer = client.post("/sessions", data={"training_id": "cpom-handicap", **fields,
                                            "csrf_token": token(client, "/sessions")})
    assert answer.status_code == 400
    assert said in unescape(answer.get_data(as_text=True))
    assert "x-1" not in unescape(client.get("/sessions").get_data(as_text=True)).split("Ajouter une séance")[0]


def test_the_sessions_page_is_for_operations_only(client: FlaskClient) -> None:
    login(client)
    assert client.get("/sessions").status_code == 403
