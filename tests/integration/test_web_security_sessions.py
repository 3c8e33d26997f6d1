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
BAD_REQUEST = "400 · Requête invalide"
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
    assert "Le courtier n'a pas confirmé la commande" in unescape(answer.get_data(as_text=True))


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
    assert "Introuvable" in missing
    assert "Inscription nobody introuvable." in missing
    assert "Not found" not in missing
    nowhere = unescape(client.get("/nowhere").get_data(as_text=True))
    assert "Cette page n'existe pas." in nowhere
    stale = unescape(client.post("/payments/new", data={"csrf_token": "stale"}).get_data(as_text=True))
    assert "Le jeton de sécurité du formulaire manque ou n'est plus valable" in stale
    english = unescape(client.get("/registrations/nobody", headers={"Accept-Language": "en-GB,en;q=0.8"}
                                  ).get_data(as_text=True))
    assert "404 · Not found" in english
    assert "No registration nobody." in english


def test_a_page_refused_to_a_role_says_so_in_french_first(settings: Settings, tmp_path: Path) -> None:
    client = make_app(settings, tmp_path).test_client()
    log_in(client, "alice")
    answer = client.get("/queues")
    assert answer.status_code == 403
    page = unescape(answer.get_data(as_text=True))
    assert "Accès refusé" in page
    assert "Il faut le rôle exploitation pour cette page." in page


def test_the_page_is_french_unless_the_browser_the_user_or_the_switch_asks_for_english(
        settings: Settings, deps: Deps, tmp_path: Path) -> None:
    app = make_app(settings, tmp_path)
    UserStore(tmp_path / "users.json").add("emma", PASSWORD, ["support"], language="en")
    client = app.test_client()
    log_in(client)
    french = client.get("/registrations").get_data(as_text=True)
    assert '<html lang="fr">' in french
    assert "<h1>Inscriptions</h1>" in french
    english = client.get("/registrations", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "<h1>Registrations</h1>" in english
    switched = client.post("/langue", data={"language": "en", "next": "/registrations?state=paid",
                                            "csrf_token": token(client, "/registrations")})
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/registrations?state=paid"
    chosen = client.get("/registrations", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>Registrations</h1>" in chosen  # the choice outranks the browser
    assert client.post("/langue", data={"language": "de", "csrf_token": token(client, "/registrations")}
                       ).status_code == 400
    setting = make_app(settings, tmp_path).test_client()
    log_in(setting, "emma")
    assert "<h1>Registrations</h1>" in setting.get("/registrations").get_data(as_text=True)
    anonymous = app.test_client()
    assert "<h1>Connexion</h1>" in anonymous.get("/login").get_data(as_text=True)
    anonymous.post("/langue", data={"language": "en", "csrf_token": token(anonymous)})
    assert "<h1>Log in</h1>" in anonymous.get("/login").get_data(as_text=True)  # before the login too
