"""The back-office page's login throttle, its proxy headers and HTTPS, through Flask's test client over the real
database: what a person trying to log in sees, what the logs keep of it.

Time is the page's injected monotonic source, moved by the test: no sleep."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import structlog
from flask import Flask
from flask.testing import FlaskClient

from regflow.web import create_app
from regflow.web.users import UserStore
from workflow.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"
NOWHERE = "amqp://127.0.0.1:1/%2F"
WINDOW = 900.0
TOO_MANY = "Trop de connexions échouées : réessayez dans"


class Monotonic:
    """The page's monotonic time, moved by hand."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def make_app(settings: Settings, tmp_path: Path, time: Monotonic, **changes: Any) -> Flask:
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD, ["support"])
    users.add("bernard", PASSWORD, ["finance"])
    return create_app(settings.model_copy(update={
        "web_users_file": users.path, "broker_url": NOWHERE, "development": True, **changes}), monotonic=time)


@pytest.fixture
def time() -> Monotonic:
    return Monotonic()


@pytest.fixture
def app(settings: Settings, tmp_path: Path, time: Monotonic) -> Flask:
    return make_app(settings, tmp_path, time)


def log_in(client: FlaskClient, name: str, password: str, address: str = "192.0.2.10",
           headers: dict[str, str] | None = None) -> Any:
    """The login form as a browser at `address` sends it (a fresh CSRF token from the login page)."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ, headers=headers).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return client.post("/login", data={"name": name, "password": password, "csrf_token": found.group(1)},
                       environ_base=environ, headers=headers)


def logged_in_as(client: FlaskClient, name: str) -> bool:
    answer = client.get("/registrations")
    return answer.status_code == 200 and f">{name} (" in answer.get_data(as_text=True)


def test_beyond_the_allowed_failures_even_the_right_password_is_refused_until_the_window_passes(
        app: Flask, time: Monotonic) -> None:
    client = app.test_client()
    for _ in range(5):
        answer = log_in(client, "alice", WRONG)
        assert answer.status_code == 401
        assert "Nom ou mot de passe incorrect." in answer.get_data(as_text=True)

    refused = log_in(client, "alice", PASSWORD)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert f"{TOO_MANY} 15 minute(s)." in page
    assert refused.headers["Retry-After"] == "900"
    assert not logged_in_as(client, "alice")

    time.now += WINDOW - 60
    refused = log_in(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert f"{TOO_MANY} 1 minute(s)." in refused.get_data(as_text=True)

    time.now += 60
    assert log_in(client, "alice", PASSWORD).status_code == 302
    assert logged_in_as(client, "alice")


def test_refused_attempts_are_not_counted_so_the_lock_ends_a_window_after_the_failures(
        app: Flask, time: Monotonic) -> None:
    client = app.test_client()
    for _ in range(5):
        log_in(client, "alice", WRONG)
    for _ in range(20):  # someone keeps trying: refused, without pushing the end of the lock further
        time.now += 40
        assert log_in(client, "alice", WRONG).status_code == 429
    time.now += WINDOW - 20 * 40
    assert log_in(client, "alice", PASSWORD).status_code == 302


def test_failures_under_the_limit_then_the_right_password_log_in_and_start_the_count_again(app: Flask) -> None:
    client = app.test_client()
    for _ in range(4):
        log_in(client, "alice", WRONG)
    assert log_in(client, "alice", PASSWORD).status_code == 302
    other = app.test_client()
    for _ in range(4):  # four more for the name from elsewhere: the success above cleared its count
        assert log_in(other, "alice", WRONG, address="192.0.2.99").status_code == 401
    assert log_in(other, "alice", PASSWORD, address="192.0.2.99").status_code == 302


def test_one_address_guessing_at_many_names_is_refused_for_every_name(app: Flask) -> None:
    client = app.test_client()
    for n in range(5):
        assert log_in(client, f"guess{n}", WRONG, address="198.51.100.7").status_code == 401
    assert log_in(client, "alice", PASSWORD, address="198.51.100.7").status_code == 429
    elsewhere = app.test_client()
    assert log_in(elsewhere, "alice", PASSWORD, address="198.51.100.8").status_code == 302


def test_one_name_guessed_from_many_addresses_is_refused_from_every_address(app: Flask) -> None:
    client = app.test_client()
    for n in range(5):
        assert log_in(client, "alice", WRONG, address=f"198.51.100.{n + 1}").status_code == 401
    assert log_in(client, "alice", PASSWORD, address="198.51.100.200").status_code == 429
    assert log_in(client, "bernard", PASSWORD, address="198.51.100.200").status_code == 302


def test_the_limit_and_the_window_come_from_the_settings(settings: Settings, tmp_path: Path, time: Monotonic
                                                         ) -> None:
    client = make_app(settings, tmp_path, time, web_login_attempts=2, web_login_window_seconds=60).test_client()
    log_in(client, "alice", WRONG)
    log_in(client, "alice", WRONG)
    assert log_in(client, "alice", PASSWORD).status_code == 429
    time.now += 60
    assert log_in(client, "alice", PASSWORD).status_code == 302


def test_a_forged_x_forwarded_for_does_not_reset_the_throttle_without_a_trusted_proxy(app: Flask) -> None:
    client = app.test_client()
    for n in range(5):
        forged = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
        assert log_in(client, f"guess{n}", WRONG, headers=forged).status_code == 401
    answer = log_in(client, "alice", PASSWORD, headers={"X-Forwarded-For": "203.0.113.250"})
    assert answer.status_code == 429, "the client address is the socket's, whatever the header says"


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(settings: Settings, tmp_path: Path,
                                                                    time: Monotonic) -> None:
    """Every request comes from the proxy's socket: the throttle counts each client by X-Forwarded-For."""
    client = make_app(settings, tmp_path, time, web_trusted_proxies=1).test_client()
    proxy = "10.0.0.2"
    for n in range(5):
        assert log_in(client, f"guess{n}", WRONG, proxy, {"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    assert log_in(client, "alice", PASSWORD, proxy, {"X-Forwarded-For": "203.0.113.9"}).status_code == 429
    assert log_in(client, "alice", PASSWORD, proxy, {"X-Forwarded-For": "203.0.113.10"}).status_code == 302


def test_failed_and_refused_logins_are_logged_with_the_name_masked_and_never_the_password(app: Flask) -> None:
    client = app.test_client()
    with structlog.testing.capture_logs() as logs:
        for _ in range(5):
            log_in(client, "claire.durand@valdemarne.fr", WRONG)
        log_in(client, "claire.durand@valdemarne.fr", PASSWORD)
        log_in(client, "alice", WRONG, address="192.0.2.50")
    failed = [e for e in logs if e["event"] == "back office: failed login"]
    refused = [e for e in logs if e["event"] == "back office: login refused, too many failures"]
    assert [e["login"] for e in failed] == ["c***@v***.fr"] * 5 + ["a***"]
    assert [(e["login"], e["client"]) for e in refused] == [("c***@v***.fr", "192.0.2.10")]
    assert refused[0]["retry_after_seconds"] == 900
    written = repr(logs)
    for secret in (WRONG, PASSWORD, "claire", "alice"):
        assert secret not in written


def test_over_https_the_session_cookie_is_secure_and_hsts_is_sent(settings: Settings, tmp_path: Path,
                                                                  time: Monotonic) -> None:
    client = make_app(settings, tmp_path, time, web_https=True).test_client()
    answer = log_in(client, "alice", PASSWORD)
    [cookie] = answer.headers.getlist("Set-Cookie")
    assert cookie.startswith("regflow_session=")
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_over_plain_http_neither_secure_cookie_nor_hsts(app: Flask) -> None:
    client = app.test_client()
    answer = log_in(client, "alice", PASSWORD)
    assert "Secure" not in answer.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in answer.headers
