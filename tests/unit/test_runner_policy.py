"""Whatever a delivery holds (body, headers, properties), the runner's decoding and classification raise nothing
but a named MalformedMessageError: a poison message is parked, it never ends a consumer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pika
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers import invoicing, notifications, payments, validation
from consumers.policy import MAX_ATTEMPT_HEADER, decode, delivery_attempt, peek, safe_headers, text_header
from workflow.domain.errors import MalformedMessageError
from workflow.messaging.consuming import copy_properties
from workflow.ops.metrics import type_label

APPS = [validation.APP, invoicing.APP, notifications.APP, payments.APP]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
header_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63 - 1) | st.text(max_size=20)
    | st.binary(max_size=20) | st.decimals(allow_nan=False, allow_infinity=False, places=2),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10)
headers = st.none() | st.dictionaries(st.sampled_from(["x-regflow-attempt", "x-regflow-routing-key", "x-other"])
                                      | st.text(max_size=10), header_values, max_size=5)


def envelope_like() -> st.SearchStrategy[dict[str, Any]]:
    """Envelopes with every field possibly wrong: most fields right, so decoding goes deep."""
    return st.fixed_dictionaries({
        "event_id": st.one_of(st.just(str(uuid4())), json_values),
        "type": st.sampled_from([t for app in APPS for t in app.handlers]) | st.text(max_size=70),
        "schema_version": st.one_of(st.just(1), st.integers()),
        "occurred_at": st.one_of(st.just("2023-09-01T08:00:00+00:00"), st.just("0001-01-01T00:00:00+14:00"),
                                 st.just("9999-12-31T23:59:59-14:00"), st.text(max_size=30), json_values),
        "registration_id": st.one_of(st.just("reg-1"), st.text(max_size=80), json_values),
        "correlation_id": st.one_of(st.just(str(uuid4())), json_values),
        "producer": st.one_of(st.just("intake"), st.text(max_size=50)),
        "payload": st.one_of(json_values, st.dictionaries(st.text(max_size=12), json_values, max_size=6)),
    })


@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_raise_a_named_error(body: bytes) -> None:
    for app in APPS:
        reason = "decoded"
        try:
            decode(app.handlers, app.name, body)
        except MalformedMessageError as exc:
            reason = str(exc)
        assert reason
        peek(body)


@given(envelope_like())
def test_any_envelope_like_body_decodes_or_raises_a_named_error(data: dict[str, Any]) -> None:
    body = json.dumps(data, default=str).encode()
    for app in APPS:
        try:
            envelope, _ = decode(app.handlers, app.name, body)
        except MalformedMessageError as exc:
            reason = str(exc)
        else:
            assert envelope.occurred_at.tzinfo is UTC
            continue
        assert len(reason) < 2000  # the reason goes into a header: bounded


@given(headers)
def test_any_headers_give_an_attempt_and_properties_that_can_be_published(raw: Any) -> None:
    attempt = delivery_attempt(raw)
    assert 1 <= attempt <= MAX_ATTEMPT_HEADER
    copied = safe_headers(raw)
    text_header(copied, "x-regflow-routing-key")
    copied.update({"x-regflow-attempt": attempt + 1})
    properties = copy_properties(pika.BasicProperties(headers=copied, type="cmd.registration.submit"), copied, "500")
    properties.encode()  # what pika sends: any header pika decoded, it encodes again


@given(st.one_of(st.none(), st.text(max_size=80), st.integers(), st.binary(max_size=20)))
def test_metrics_labels_stay_bounded(message_type: Any) -> None:
    label = type_label(message_type, validation.APP.handlers)
    assert label in validation.APP.handlers or label == "other"


@pytest.mark.parametrize(("value", "attempt"), [("abc", 1), (b"3", 3), (-4, 1), (10**30, MAX_ATTEMPT_HEADER),
                                                 (True, 1), (2.5, 1), ([1], 1), ("7", 7)])
def test_the_attempt_header_is_read_whatever_it_holds(value: object, attempt: int) -> None:
    assert delivery_attempt({"x-regflow-attempt": value}) == attempt


def test_the_two_poison_messages_of_the_issue_are_named_errors() -> None:
    body = json.dumps({"event_id": str(uuid4()), "type": "cmd.registration.submit", "schema_version": 1,
                       "occurred_at": "0001-01-01T00:00:00+14:00", "registration_id": "reg-1",
                       "correlation_id": str(uuid4()), "producer": "intake", "payload": {"form": {}}}).encode()
    with pytest.raises(MalformedMessageError, match="occurred_at"):
        decode(validation.APP.handlers, "validation", body)
    assert delivery_attempt({"x-regflow-attempt": "abc"}) == 1


@pytest.mark.parametrize("registration_id", ["a\r\nBcc: x@evil.example", "../../etc", "a/b", "x" * 65, "-start", ""])
def test_registration_ids_outside_the_format_are_malformed(registration_id: str) -> None:
    body = json.dumps({"event_id": str(uuid4()), "type": "cmd.registration.submit",
                       "occurred_at": datetime(2023, 9, 1, tzinfo=UTC).isoformat(), "registration_id": registration_id,
                       "correlation_id": str(uuid4()), "producer": "intake", "payload": {"form": {}}}).encode()
    with pytest.raises(MalformedMessageError, match="registration_id"):
        decode(validation.APP.handlers, "validation", body)
