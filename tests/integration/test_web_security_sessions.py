"""The back-office page's sessions (ended on the server at logout), the characters a request may carry and the
cookie key, through Flask's test client over the real database and the real broker."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr

from regflow.web import create_app
from regflow.web.users import UserStore
from workflow.bootstrap import Deps
from workflow.settings import InsecureSecretError, Settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
NOWHERE = "amqp://127.0.0.1:1/%2F"  # no broker: a command that got past every check answers 503
SECRET = "s" * 40
BAD_REQUEST = "Requête invalide / Bad request"
CONTROL = "Requête invalide : l'adresse ou un champ du formulaire contient un caractère de contrôle"


class Monotonic:
    def __init__(self) -> None:
        self.now = 50_000.0

    def __call__(self) -> float:
        return self.now


def make_app(settings: Settings, tmp_path: Path, time: Monotonic | None = None, **changes: Any) -> Flask:
    users = UserStore(tmp_path / "users.json")
    users.add("admin", PASSWORD, ["support", "finance", "operations"])
    users.add("alice", PASSWORD, ["support"])
    configured = settings.model_copy(update={"web_users_file": users.path, "broker_url": NOWHERE,
                                             "development": True, **changes})
    return create_app(configured) if time is None else create_app(configured, monotonic=time)


def token(client: FlaskClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: FlaskClient, name: str = "admin") -> None:
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token(client)})
    assert answer.status_code == 302


def with_cookie(app: Flask, value: str) -> FlaskClient:
    """Another browser holding a copy of a session cookie."""
    other = app.test_client()
    other.set_cookie("regflow_session", value)
    return other


def sees_the_list(client: FlaskClient) -> bool:
    answer = client.get("/registrations")
    if answer.status_code == 302:
        assert answer.headers["Location"].startswith("/login?next=")
        return False
    assert answer.status_code == 200
    return ">admin (" in answer.get_data(as_text=True)


# --- sessions ----------------------------------------------------------------------------------------------


def test_a_cookie_copied_before_logout_no_longer_works_after_it(settings: Settings, tmp_path: Path) -> None:
    app = make_app(settings, tmp_path)
    client = app.test_client()
    log_in(client)
    cookie = client.get_cookie("regflow_session")
    assert cookie is not None
    copy = with_cookie(app, cookie.value)
    assert sees_the_list(copy), "the copy works while the session lives"

    client.post("/logout", data={"csrf_token": token(client, "/registrations")})
    assert not sees_the_list(client)
    assert not sees_the_list(copy), "logged out on the server: the copied cookie is a visitor's"
    assert not sees_the_list(with_cookie(app, cookie.value))


def test_a_new_process_does_not_know_the_sessions_of_the_one_before(settings: Settings, tmp_path: Path) -> None:
    """In memory, per process: a restart (or another replica) logs everyone out, even with the same key."""
    before = make_app(settings, tmp_path, web_secret=SecretStr(SECRET))
    client = before.test_client()
    log_in(client)
    cookie = client.get_cookie("regflow_session")
    assert cookie is not None
    after = make_app(settings, tmp_path, web_secret=SecretStr(SECRET))
    assert not sees_the_list(with_cookie(after, cookie.value))
    assert sees_the_list(with_cookie(before, cookie.value))


def test_a_session_idle_for_ten_hours_is_over(settings: Settings, tmp_path: Path) -> None:
    time = Monotonic()
    client = make_app(settings, tmp_path, time).test_client()
    log_in(client)
    time.now += 9 * 3600
    assert sees_the_list(client), "each request restarts the idle time"
    time.now += 10 * 3600 - 1
    assert sees_the_list(client)
    time.now += 10 * 3600
    assert not sees_the_list(client)


# --- control characters and invalid UTF-8 ------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/registrations?state=%00",
    "/registrations?session=cpom%00handicap",
    "/registrations?session=%1b%5b2J",
    "/registrations?state=%FF",
    "/registrations/dep%00-94",
    "/registrations/dep%FF-94",
    "/registrations/dep-94/requests/ev%7Fent",
    "/invoices?show=all%00",
    "/payments?anomalies=%C2%85",  # NEL: a C1 control character
    "/payments/new?invoice=2023-000001%0A",
    "/login?next=/registrations%00",
])
def test_a_control_character_or_invalid_utf8_in_an_address_is_a_400_page(
        settings: Settings, deps: Deps, tmp_path: Path, path: str) -> None:
    client = make_app(settings, tmp_path).test_client()
    log_in(client)
    answer = client.get(path)
    assert answer.status_code == 400, answer.get_data(as_text=True)[:500]
    page = unescape(answer.get_data(as_text=True))
    assert BAD_REQUEST in page
    assert CONTROL in page
    assert "/ Bad request: the address or a form field holds a control character or is not valid UTF-8." in page
    assert "database" not in page


def test_the_same_addresses_without_the_bad_character_are_served(settings: Settings, deps: Deps,
                                                                  tmp_path: Path) -> None:
    client = make_app(settings, tmp_path).test_client()
    log_in(client)
    for path in ("/registrations?state=invoiced", "/registrations?session=cpom-handicap-2023-09-15",
                 "/invoices?show=all", "/payments?anomalies=1", "/registrations?session=R%C3%A9union"):
        assert client.get(path).status_code == 200, path
    assert client.get("/registrations/dep-94").status_code == 404


FORMS = [
    ("/registrations/dep-94/replace", {"replaced": "paul.leroy@valdemarne.fr", "civilite": "Mme",
                                       "first_name": "In\x00ès", "last_name": "Roy", "email": "ines@example.org"}),
    ("/payments/new", {"payment_id": "BANK-1", "amount": "10", "received_on": "2023-09-20", "payer": "A\x00B"}),
    ("/payments/new", {"payment_id": "BANK-1\x1b", "amount": "10", "received_on": "2023-09-20"}),
    ("/sessions/held", {"session_id": "cpom-handicap-2023-09-15\x00", "held_on": "2023-09-15"}),
    ("/sessions/held", {"session_id": "cpom-handicap-2023-09-15", "held_on": "2023-09-15",
                        "absent_emails": "a@example.org\x0bb@example.org"}),
]


@pytest.mark.parametrize(("path", "form"), FORMS)
def test_a_control_character_in_a_form_field_is_a_400_page_and_nothing_is_sent(
        settings: Settings, deps: Deps, tmp_path: Path, path: str, form: dict[str, str]) -> None:
    client = make_app(settings, tmp_path).test_client()
    log_in(client)
    answer = client.post(path, data={**form, "csrf_token": token(client, "/registrations")})
    assert answer.status_code == 400
    assert CONTROL in unescape(answer.get_data(as_text=True))


def test_invalid_utf8_in_a_form_field_is_a_400_page(settings: Settings, deps: Deps, tmp_path: Path) -> None:
    client = make_app(settings, tmp_path).test_client()
    log_in(client)
    csrf = token(client, "/registrations")
    body = f"csrf_token={csrf}&payment_id=BANK-%FF1&amount=10&received_on=2023-09-20"
    answer = client.post("/payments/new", data=body, content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400
    assert CONTROL in unescape(answer.get_data(as_text=True))


def test_a_textarea_s_line_breaks_are_text_not_a_bad_request(settings: Settings, deps: Deps, tmp_path: Path
                                                            ) -> None:
    """TAB, CR and LF pass in a form field (a textarea's lines come as CR LF): this one gets as far as the
    broker, which is away, so 503."""
    client = make_app(settings, tmp_path).test_client()
    log_in(client)
    answer = client.post("/sessions/held", data={
        "session_id": "cpom-handicap-2023-09-15", "held_on": "2023-09-15",
        "absent_emails": "a@example.org\r\n\tb@example.org", "csrf_token": token(client, "/sessions/held")})
    assert answer.status_code == 503
    assert "The broker did not confirm the command" in answer.get_data(as_text=True)


def test_a_nul_in_the_login_name_is_a_400_page(settings: Settings, tmp_path: Path) -> None:
    client = make_app(settings, tmp_path).test_client()
    answer = client.post("/login", data={"name": "ad\x00min", "password": PASSWORD, "csrf_token": token(client)})
    assert answer.status_code == 400
    assert CONTROL in unescape(answer.get_data(as_text=True))


# --- the cookie key ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "short-secret"])
def test_outside_development_a_missing_or_short_secret_stops_the_page(
        settings: Settings, tmp_path: Path, secret: str | None) -> None:
    with pytest.raises(InsecureSecretError, match="REGFLOW_WEB_SECRET"):
        make_app(settings, tmp_path, development=False,
                 web_secret=None if secret is None else SecretStr(secret))


def test_outside_development_a_long_secret_signs_the_cookies(settings: Settings, tmp_path: Path) -> None:
    app = make_app(settings, tmp_path, development=False, web_secret=SecretStr(SECRET))
    assert app.secret_key == SECRET
    client = app.test_client()
    log_in(client)
    assert sees_the_list(client)


def test_in_development_an_unset_or_empty_secret_is_a_random_key_per_start(settings: Settings, tmp_path: Path
                                                                          ) -> None:
    keys = {make_app(settings, tmp_path, web_secret=value).secret_key for value in (None, SecretStr(""))}
    assert len(keys) == 2
    assert all(isinstance(key, str) and len(key) >= 32 for key in keys)


# --- French first ------------------------------------------------------------------------------------------


def test_the_error_pages_speak_french_first(settings: Settings, deps: Deps, tmp_path: Path) -> None:
    client = make_app(settings, tmp_path).test_client()
    log_in(client)
    missing = unescape(client.get("/registrations/nobody").get_data(as_text=True))
    assert "Introuvable / Not found" in missing
    assert "Inscription nobody introuvable. / No registration nobody." in missing
    nowhere = unescape(client.get("/nowhere").get_data(as_text=True))
    assert "Cette page n'existe pas. / This page does not exist." in nowhere
    stale = unescape(client.post("/payments/new", data={"csrf_token": "stale"}).get_data(as_text=True))
    assert "Le jeton de sécurité du formulaire manque ou n'est plus valable" in stale


def test_a_page_refused_to_a_role_says_so_in_french_first(settings: Settings, tmp_path: Path) -> None:
    client = make_app(settings, tmp_path).test_client()
    log_in(client, "alice")
    answer = client.get("/queues")
    assert answer.status_code == 403
    page = unescape(answer.get_data(as_text=True))
    assert "Accès refusé / Forbidden" in page
    assert "Il faut le rôle operations pour cette page. / This needs the operations role." in page
