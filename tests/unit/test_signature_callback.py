"""The e-signature platform's callback as Yousign documents it (workflow/adapters/yousign.py): the HMAC of the raw
body, the documented shape, the replay window; whatever bytes arrive, a named refusal or a callback, never a crash."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.adapters.yousign import CallbackError, read_callback

SECRET = "yousign-subscription-secret-key-0123456789"
NOW = datetime(2023, 9, 4, 10, tzinfo=UTC)
DAY = timedelta(days=1)
GOOD = "the body's own signature"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body(**changes: object) -> bytes:
    event = {"event_id": "b6c63685-c556-4a30-8fe9-b6f2b187d936", "event_name": "signature_request.done",
             "event_time": str(int(NOW.timestamp()) - 60), "sandbox": False,
             "data": {"signature_request": {"id": "sr-2023-0904-17", "status": "done", "external_id": "saad-69"}}}
    return json.dumps({**event, **changes}).encode()


def test_a_signed_callback_gives_the_event_the_request_and_our_registration() -> None:
    raw = body()
    callback = read_callback(SECRET, raw, signed(raw), now=NOW, tolerance=DAY)
    assert (callback.event_name, callback.reference, callback.registration_id) == (
        "signature_request.done", "sr-2023-0904-17", "saad-69")
    assert callback.event_time == NOW - timedelta(seconds=60)


@pytest.mark.parametrize(("raw", "signature", "status", "code"), [
    (body(), signed(body(), "another-secret"), 401, "bad_signature"),
    (body(), None, 401, "bad_signature"),
    (body(), signed(body())[:-1], 401, "bad_signature"),
    (body(event_time=str(int((NOW - 2 * DAY).timestamp()))), GOOD, 401, "stale"),
    (body(event_time=str(int((NOW + timedelta(hours=1)).timestamp()))), GOOD, 401, "stale"),
    (b"\xff\xfe not json", GOOD, 400, "not_json"),
    (body(event_id="../../etc/passwd"), GOOD, 400, "bad_shape"),
    (body(event_time="yesterday"), GOOD, 400, "bad_shape"),
])
def test_a_callback_that_is_not_genuine_or_not_fresh_is_refused_by_name(raw: bytes, signature: str | None,
                                                                       status: int, code: str) -> None:
    with pytest.raises(CallbackError) as refused:
        read_callback(SECRET, raw, signed(raw) if signature == GOOD else signature, now=NOW, tolerance=DAY)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert refused.value.fr != refused.value.en


@given(st.binary(max_size=2000))
def test_whatever_bytes_arrive_signed_the_answer_is_a_callback_or_a_named_refusal(raw: bytes) -> None:
    try:
        callback = read_callback(SECRET, raw, signed(raw), now=NOW, tolerance=DAY)
    except CallbackError as refused:
        status = refused.status
    else:
        status = 200
        assert len(callback.event_id) <= 100
        assert callback.registration_id is None or len(callback.registration_id) <= 64
    assert status in (200, 400, 401)
