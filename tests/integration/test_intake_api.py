"""The HTTP intake API (issue #19, point 4) over the real database and broker: a form accepted (202, Location, the
command in the validation queue), an idempotent retry, a key reused for another body (409), two requests with the
same key at once, every error status as a problem document in French and English, the broker away (503 with
Retry-After, the row kept, the retry publishing the very same envelope), and the signature of a form sent unsigned."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from regflow.api.keys import ApiKeyStore
from regflow.join import create_join_app
from tests.conftest import load_form
from tests.integration.test_online_form import published
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.orm import ApiRequestRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration
NOWHERE = "amqp://127.0.0.1:1/%2F"  # no broker: what got as far as publishing answers 503
URL = "/api/v1/registrations"
KEY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    store = ApiKeyStore(tmp_path / "api-keys.json")
    return {"crm": store.add("crm"), "erp": store.add("erp"), "file": str(store.path)}


@pytest.fixture
def app_for(settings: Settings, clock: FileClock, keys: dict[str, str]) -> Callable[..., Flask]:
    clock.set(datetime(2023, 9, 1, 10, tzinfo=PARIS))

    def make(**changes: Any) -> Flask:
        return create_join_app(settings.model_copy(update={"api_keys_file": Path(keys["file"]), **changes}))

    return make


@pytest.fixture
def api(app_for: Callable[..., Flask]) -> FlaskClient:
    return app_for().test_client()


def headers(keys: dict[str, str], client: str = "crm", key: str | None = KEY) -> dict[str, str]:
    sent = {"Authorization": f"Bearer {keys[client]}"}
    return {**sent, "Idempotency-Key": key} if key is not None else sent


def post(api: FlaskClient, keys: dict[str, str], body: Any, *, path: str = URL, client: str = "crm",
         key: str | None = KEY) -> TestResponse:
    return api.post(path, data=json.dumps(body), content_type="application/json", headers=headers(keys, client, key))


def problem_of(answer: TestResponse, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    assert answer.mimetype == "application/problem+json"
    body: dict[str, Any] = answer.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    assert body["title_fr"]
    assert body["detail"]
    assert body["detail_fr"]
    return body


def test_a_form_is_accepted_once_and_a_retry_answers_the_same(api: FlaskClient, keys: dict[str, str],
                                                              settings: Settings, deps: Deps) -> None:
    form = load_form("handicap-departement.json")
    first = post(api, keys, form)
    assert first.status_code == 202, first.get_data(as_text=True)
    accepted = first.get_json()
    assert first.headers["Location"] == accepted["location"] == f"{URL}/{accepted['id']}"
    [command] = published(settings)
    assert (command["type"], command["registration_id"], command["event_id"], command["producer"]) == (
        "cmd.registration.submit", accepted["id"], accepted["command_id"], "api")

    reordered = json.dumps(dict(reversed(list(form.items()))), indent=4)  # the same document, written otherwise
    again = api.post(URL, data=reordered, content_type="application/json", headers=headers(keys))
    assert (again.status_code, again.get_json()) == (202, accepted)
    assert again.headers["Location"] == first.headers["Location"]
    assert published(settings) == [], "published once: its confirmation was recorded"
    with deps.sessions() as session:
        [row] = session.scalars(select(ApiRequestRow)).all()
    assert (row.client, row.idempotency_key, row.published_at is not None) == ("crm", KEY, True)

    other = post(api, keys, form, key="another-key-0001")
    assert other.status_code == 202
    assert other.get_json()["id"] != accepted["id"], "a new key is a new registration"


def test_the_same_key_with_another_body_is_a_conflict(api: FlaskClient, keys: dict[str, str],
                                                      settings: Settings) -> None:
    form = load_form("handicap-departement.json")
    assert post(api, keys, form).status_code == 202
    changed = {**form, "participants": form["participants"][:1], "declared_participant_count": 1,
               "declared_total": "595.00"}
    body = problem_of(post(api, keys, changed), 409)
    assert body["type"] == "urn:regflow:problem:idempotency-key-reused"
    assert "Idempotency-Key" in body["detail_fr"]
    assert post(api, keys, changed, client="erp").status_code == 202, "keys are per client system"
    assert len(published(settings)) == 2


def test_two_requests_with_the_same_key_at_once_make_one_registration(
        app_for: Callable[..., Flask], keys: dict[str, str], deps: Deps) -> None:
    app, form = app_for(), load_form("handicap-departement.json")
    answers: list[TestResponse] = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait()
        answers.append(post(app.test_client(), keys, form, key="same-key-at-once"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [202] * 4
    assert len({a.headers["Location"] for a in answers}) == 1
    with deps.sessions() as session:
        assert len(session.scalars(select(ApiRequestRow)).all()) == 1


def test_with_the_broker_away_the_request_is_kept_and_the_retry_sends_the_same_envelope(
        app_for: Callable[..., Flask], keys: dict[str, str], settings: Settings, deps: Deps) -> None:
    form = load_form("handicap-departement.json")
    away = app_for(broker_url=NOWHERE).test_client()
    answer = post(away, keys, form)
    body = problem_of(answer, 503)
    assert int(answer.headers["Retry-After"]) > 0
    assert "Idempotency-Key" in body["detail"]
    problem_of(post(away, keys, form), 503)  # still away: the retry finds the row, publishing fails again
    with deps.sessions() as session:
        [row] = session.scalars(select(ApiRequestRow)).all()
    assert row.published_at is None
    back = post(app_for().test_client(), keys, form)
    assert back.status_code == 202
    [command] = published(settings)
    assert command["event_id"] == row.envelope["event_id"] == back.get_json()["command_id"]
    assert command["registration_id"] == row.registration_id


def test_without_a_valid_api_key_nothing_is_said(api: FlaskClient, keys: dict[str, str]) -> None:
    form = load_form("handicap-departement.json")
    missing = problem_of(api.post(URL, json=form, headers={"Idempotency-Key": KEY}), 401)
    assert api.post(URL, json=form).headers["WWW-Authenticate"] == 'Bearer realm="regflow"'
    assert "clé" in missing["detail_fr"]
    for wrong in (f"Bearer {keys['crm']}x", f"Basic {keys['crm']}", "Bearer " + "x" * 5000):
        answer = api.post(URL, json=form, headers={"Authorization": wrong, "Idempotency-Key": KEY})
        problem_of(answer, 401)
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    problem_of(api.get(f"{URL}/anything"), 401)


@pytest.mark.parametrize(("key", "why"), [
    (None, "missing"), ("short", "too short"), ("k" * 101, "too long"), ("clé-accentuée-1", "not ASCII"),
    ("a b c d e f g h", "a space"), ("-starts-with-dash", "its first character"),
])
def test_an_idempotency_key_missing_or_malformed_is_a_400(api: FlaskClient, keys: dict[str, str], key: str | None,
                                                           why: str) -> None:
    sent = headers(keys, key=None)
    if key is not None:
        sent["Idempotency-Key"] = key
    answer = api.post(URL, data=json.dumps(load_form("handicap-departement.json")), content_type="application/json",
                      headers={k: v.encode().decode("latin-1") for k, v in sent.items()})
    assert problem_of(answer, 400)["type"] == "urn:regflow:problem:idempotency-key", why


def test_a_quoted_key_is_the_same_key(api: FlaskClient, keys: dict[str, str]) -> None:
    form = load_form("handicap-departement.json")
    first = post(api, keys, form)
    second = post(api, keys, form, key=f'"{KEY}"')
    assert (second.status_code, second.headers["Location"]) == (202, first.headers["Location"])


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"{}", "text/plain", 415),
    (b"{}", "application/x-www-form-urlencoded", 415),
    (b"{}", "application/json; charset=latin-1", 415),
    (b"\xff\xfe{}", "application/json", 400),
    (b"{'not': 'json'}", "application/json", 400),
    (b"", "application/json", 400),
    (b'{"declared_total": NaN}', "application/json", 400),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    (b"\xef\xbb\xbf{}", "application/json", 400),
])
def test_a_body_that_is_not_utf8_json_is_refused(api: FlaskClient, keys: dict[str, str], body: bytes,
                                                 content_type: str, status: int) -> None:
    problem_of(api.post(URL, data=body, content_type=content_type, headers=headers(keys)), status)


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: FlaskClient, keys: dict[str, str],
                                                            settings: Settings) -> None:
    huge = b'{"client": {"name": "' + b"x" * settings.max_message_bytes + b'"}}'
    body = problem_of(api.post(URL, data=huge, content_type="application/json", headers=headers(keys)), 413)
    assert str(settings.max_message_bytes) in body["detail"]
    chunked = api.post(URL, input_stream=io.BytesIO(huge), content_type="application/json",
                       headers={**headers(keys), "Transfer-Encoding": "chunked"},  # no Content-Length: read, bounded
                       environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    problem_of(chunked, 413)


def test_every_schema_error_is_named_in_french_and_english(api: FlaskClient, keys: dict[str, str],
                                                          settings: Settings) -> None:
    form = load_form("handicap-departement.json")
    form["participants"][1] = {**form["participants"][1], "age": 40}
    form["declared_participant_count"] = "deux"
    form["client"]["category"] = "pirate"
    form["signature"]["signed_on"] = "28/08/2023"
    body = problem_of(post(api, keys, form), 422)
    found = {(e["field"], e["rule"]) for e in body["errors"]}
    assert found == {("participants[1].age", "schema.extra_forbidden"),
                     ("declared_participant_count", "schema.int_parsing"), ("client.category", "schema.enum"),
                     ("signature.signed_on", "schema.date_from_datetime_parsing")}
    assert all(e["message_fr"] and e["message_en"] for e in body["errors"])
    assert "champ inconnu" in next(e["message_fr"] for e in body["errors"] if e["rule"] == "schema.extra_forbidden")
    problem_of(post(api, keys, ["not", "an", "object"]), 422)
    assert published(settings) == []


def test_every_broken_rule_is_named_against_the_catalogue_and_the_clock(
        api: FlaskClient, keys: dict[str, str], settings: Settings, clock: FileClock) -> None:
    form = load_form("handicap-departement.json")
    form["client"]["siret"] = "22940028800011"
    form["participants"][1]["email"] = "paul.leroy@"
    form["gestionnaire"]["first_name"] = "Sophie\u202e"
    body = problem_of(post(api, keys, form), 422)
    rules = {e["field"]: e["rule"] for e in body["errors"]}
    assert {"client.siret", "participants[1].email", "gestionnaire.first_name"} <= set(rules)
    assert body["type"] == "urn:regflow:problem:invalid-form"
    assert all(e["message_fr"] != e["message_en"] for e in body["errors"])

    clock.set(datetime(2023, 9, 20, 10, tzinfo=PARIS))  # after the session's last registration day
    late = problem_of(post(api, keys, load_form("handicap-departement.json"), key="late-key-0001"), 422)
    assert any(e["field"] == "session_id" for e in late["errors"]), late["errors"]
    assert published(settings) == []


def test_a_registration_is_seen_only_by_the_client_that_submitted_it(api: FlaskClient, keys: dict[str, str]) -> None:
    accepted = post(api, keys, load_form("handicap-departement.json"))
    location = accepted.headers["Location"]
    seen = api.get(location, headers=headers(keys, key=None))
    assert seen.status_code == 200
    status = seen.get_json()
    assert (status["id"], status["state"], status["history"]) == (accepted.get_json()["id"], "pending", [])
    assert status["state_fr"]
    assert status["state_en"]
    problem_of(api.get(location, headers=headers(keys, "erp", key=None)), 404)
    problem_of(api.get(f"{URL}/no-such-registration", headers=headers(keys, key=None)), 404)
    problem_of(api.get(f"{URL}/" + "x" * 200, headers=headers(keys, key=None)), 404)
    problem_of(api.get(f"{URL}/dep%0094", headers=headers(keys, key=None)), 404)  # a NUL never reaches PostgreSQL
    problem_of(api.get(f"{URL}/%ED%A0%80", headers=headers(keys, key=None)), 404)


def test_the_api_s_own_404_and_405_are_problem_documents(api: FlaskClient, keys: dict[str, str]) -> None:
    problem_of(api.get("/api/v1/nothing-here"), 404)
    not_allowed = problem_of(api.delete(URL, headers=headers(keys)), 405)
    assert not_allowed["title_fr"] == "Méthode non autorisée"
    assert "POST" in api.delete(URL).headers["Allow"]
    assert api.get("/j/not-a-token").mimetype == "text/html", "the join pages keep their own 404"


def test_the_openapi_document_is_served(api: FlaskClient) -> None:
    answer = api.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.get_json()["openapi"] == "3.1.0"


def test_a_form_sent_unsigned_is_signed_through_the_api(api: FlaskClient, keys: dict[str, str],
                                                        settings: Settings) -> None:
    form = load_form("handicap-departement.json")
    signature = form.pop("signature")
    registration = post(api, keys, form).get_json()["id"]
    sign_path = f"{URL}/{registration}/signature"
    problem_of(post(api, keys, signature, path=f"{URL}/someone-else/signature", key="sign-key-0001"), 404)
    problem_of(post(api, keys, signature, path=sign_path, client="erp", key="sign-key-0001"), 404)
    refused = problem_of(post(api, keys, {**signature, "place": "", "method": None}, path=sign_path,
                              key="sign-key-0001"), 422)
    assert {e["field"] for e in refused["errors"]} >= {"signature.place", "signature.method"}
    signed = post(api, keys, signature, path=sign_path, key="sign-key-0001")
    assert (signed.status_code, signed.headers["Location"]) == (202, f"{URL}/{registration}")
    assert signed.get_json()["command"] == "cmd.registration.sign"
    assert post(api, keys, signature, path=sign_path, key="sign-key-0001").status_code == 202, "a retry"
    assert [c["type"] for c in published(settings)] == ["cmd.registration.submit", "cmd.registration.sign"]

    already = post(api, keys, load_form("handicap-departement.json"), key="signed-form-0001").get_json()["id"]
    problem_of(post(api, keys, signature, path=f"{URL}/{already}/signature", key="sign-key-0002"), 409)



def test_a_signature_for_a_form_the_broker_has_not_taken_yet_sends_the_form_first(
        app_for: Callable[..., Flask], keys: dict[str, str], settings: Settings, deps: Deps) -> None:
    form = load_form("handicap-departement.json")
    signature = form.pop("signature")
    away, back = app_for(broker_url=NOWHERE).test_client(), app_for().test_client()
    problem_of(post(away, keys, form), 503)
    with deps.sessions() as session:
        registration = session.scalars(select(ApiRequestRow.registration_id)).one()
    sign_path = f"{URL}/{registration}/signature"
    problem_of(post(away, keys, signature, path=sign_path, key="sign-key-0003"), 503)
    assert post(back, keys, signature, path=sign_path, key="sign-key-0003").status_code == 202
    assert [c["type"] for c in published(settings)] == ["cmd.registration.submit", "cmd.registration.sign"]
    assert post(back, keys, form).status_code == 202, "the form's own retry: already sent"
    assert published(settings) == []
