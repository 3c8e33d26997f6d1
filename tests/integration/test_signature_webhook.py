"""The e-signature platform's callback over the real database and broker (issue #19), the test playing Yousign as
its documentation describes it: a signed `signature_request.done` for a registration waiting in *received* puts
one `cmd.registration.sign` in the validation queue with the platform's reference; a bad signature, an old event,
a replay, another event, an unknown registration and the broker away are each answered as documented."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr
from sqlalchemy import select

from regflow.join import create_join_app
from tests.integration.test_online_form import published
from tests.integration.test_signature_scans import waiting
from tests.unit.test_signature_callback import SECRET, signed
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.orm import SignatureCallbackRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime(2023, 9, 4, 10, tzinfo=PARIS)


@pytest.fixture
def platform_settings(settings: Settings, clock: FileClock) -> Settings:
    clock.set(NOW)
    return settings.model_copy(update={"signature_webhook_secret": SecretStr(SECRET)})


def client_of(settings: Settings) -> FlaskClient:
    return create_join_app(settings.model_copy(update={"join_requests_per_minute": 1000})).test_client()


def callback(client: FlaskClient, *, event_id: str = "evt-1", name: str = "signature_request.done",
             external_id: str = "dep-94", at: datetime = NOW - timedelta(minutes=1), signature: str | None = None,
             ) -> Any:
    import json

    raw = json.dumps({"event_id": event_id, "event_name": name, "event_time": str(int(at.timestamp())),
                      "data": {"signature_request": {"id": "sr-17", "status": "done",
                                                     "external_id": external_id}}}).encode()
    return client.post("/webhooks/signature", data=raw, content_type="application/json",
                       headers={"X-Yousign-Signature-256": signature or signed(raw)})


def outcomes(deps: Deps) -> list[tuple[str, str]]:
    with deps.sessions() as session:
        return [(r.event_id, r.outcome) for r in session.scalars(select(SignatureCallbackRow))]


def test_a_done_callback_signs_the_waiting_registration_once_whatever_is_replayed(
        platform_settings: Settings, deps: Deps) -> None:
    waiting(deps)
    client = client_of(platform_settings)
    first = callback(client)
    assert (first.status_code, first.json["outcome"]) == (200, "published")
    assert callback(client).json["outcome"] == "published"  # the platform's retry: nothing sent again
    [command] = published(platform_settings)
    assert (command["type"], command["registration_id"]) == ("cmd.registration.sign", "dep-94")
    assert command["producer"] == "signature"
    signature = command["payload"]["signature"]
    assert (signature["method"], signature["electronic_reference"], signature["signed_on"]) == (
        "electronic", "sr-17", "2023-09-04")
    assert signature["signatory"] == "Sophie MARTIN"
    assert outcomes(deps) == [("evt-1", "published")]


@pytest.mark.parametrize(("changes", "status", "code"), [
    ({"signature": "sha256=" + "0" * 64}, 401, "bad_signature"),
    ({"at": NOW - timedelta(days=4)}, 401, "stale"),
])
def test_a_forged_or_stale_callback_is_refused_and_nothing_kept(
        platform_settings: Settings, deps: Deps, changes: dict[str, Any], status: int, code: str) -> None:
    waiting(deps)
    answer = callback(client_of(platform_settings), **changes)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["type"].endswith(code)
    assert outcomes(deps) == []
    assert published(platform_settings) == []


def test_another_event_or_an_unknown_registration_is_kept_as_ignored(platform_settings: Settings,
                                                                       deps: Deps) -> None:
    waiting(deps)
    client = client_of(platform_settings)
    assert callback(client, event_id="evt-2", name="signature_request.activated").json["outcome"] == "ignored"
    assert callback(client, event_id="evt-3", external_id="nobody").json["outcome"] == "ignored"
    assert sorted(outcomes(deps)) == [("evt-2", "ignored"), ("evt-3", "ignored")]
    assert published(platform_settings) == []


def test_with_the_broker_away_the_callback_is_kept_and_the_retry_publishes(platform_settings: Settings,
                                                                          deps: Deps) -> None:
    waiting(deps)
    away = client_of(platform_settings.model_copy(update={"broker_url": "amqp://127.0.0.1:1/%2F"}))
    assert callback(away).status_code == 503
    assert outcomes(deps) == [("evt-1", "pending")]
    assert callback(client_of(platform_settings)).json["outcome"] == "published"
    assert len(published(platform_settings)) == 1


def test_without_a_secret_or_with_another_media_type_nothing_is_believed(settings: Settings, deps: Deps,
                                                                         platform_settings: Settings) -> None:
    assert callback(client_of(settings)).status_code == 503
    answer = client_of(platform_settings).post("/webhooks/signature", data="event_id=1",
                                               content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 415
    assert outcomes(deps) == []
