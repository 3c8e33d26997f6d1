"""What the runner decides about a delivery, apart from the broker: decoding, attempts, outcomes.

Everything in a delivery is hostile until checked: the body, the headers, the properties. Nothing here
raises for what a message holds: an unreadable one is an outcome (parked, with its reason), so a poison
message never ends a consumer, nor blocks the messages behind it. Property-tested with Hypothesis
(tests/unit/test_runner_policy.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pika.data

from schemas.form import Contract
from schemas.limits import has_surrogate
from schemas.messages import MESSAGE_TYPES, SCHEMA_VERSION, Envelope
from workflow.domain.errors import MalformedMessageError

MAX_ATTEMPT_HEADER = 1000  # an attempt count beyond this is not ours: read as the last attempt
# Commands whose text the validation rules check, naming a refused character in their answer.
RULE_CHECKED = frozenset({"cmd.registration.submit", "cmd.registration.replace_participant"})


class Disposition(StrEnum):
    ACK = "ack"  # handled, or already handled
    REFUSED = "refused"  # a business "no", recorded with its reason and acknowledged
    RETRY = "retry"  # transient: re-published to the retry queue
    PARK = "park"  # cannot be processed: the dead-letter queue, with the reason


@dataclass(frozen=True)
class Outcome:
    kind: Disposition
    reason: str = ""


ACK = Outcome(Disposition.ACK)


def is_command(message_type: str) -> bool:
    """Commands come from outside and get a decision; events are facts published through the outbox."""
    return message_type.startswith("cmd.")


def body_digest(body: bytes) -> str:
    """SHA-256 of a body: the inbox keeps it, so the same id with another body is a conflict, not a duplicate."""
    return hashlib.sha256(body).hexdigest()


def delivery_attempt(headers: object) -> int:
    """The attempt this delivery is (1 for the first), from `x-regflow-attempt`, whatever that header holds:
    a missing, negative or unreadable value is a first attempt, a huge one the last."""
    if not isinstance(headers, dict):
        return 1
    value = headers.get("x-regflow-attempt", 1)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return 1
    try:
        number = int(value)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_ATTEMPT_HEADER)


def safe_headers(headers: object) -> dict[str, Any]:
    """The delivery's headers as a dict (pika gives None or a dict; anything else is dropped)."""
    return dict(headers) if isinstance(headers, dict) else {}


def publishable_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The headers as they can be re-published (retry, park): a value pika cannot encode again (a key that
    is not text, a number out of AMQP's range) is kept as its bounded `repr`, never a reason to fail."""
    kept: dict[str, Any] = {}
    for key, value in headers.items():
        name = key if isinstance(key, str) else repr(key)[:100]
        try:
            pika.data.encode_table([], {name: value})
            kept[name] = value
        except Exception:
            kept[name] = repr(value)[:200]
    return kept


def text_header(headers: dict[str, Any], name: str) -> str | None:
    """A header that should be text, or None when it is absent or not text."""
    value = headers.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def decode(handlers: dict[str, Any], consumer: str, body: bytes) -> tuple[Envelope, Contract]:
    """The envelope and its payload, or MalformedMessageError naming what is wrong. Never anything else:
    pydantic raises ValueError, OverflowError or RecursionError on some inputs, not only ValidationError."""
    try:
        envelope = Envelope.model_validate_json(body)
    except Exception as exc:
        raise MalformedMessageError(f"not a valid envelope: {_first_errors(exc)}") from None
    if envelope.type not in handlers:
        raise MalformedMessageError(f"unknown message type for {consumer}: {envelope.type!r}")
    if envelope.schema_version != SCHEMA_VERSION:
        raise MalformedMessageError(
            f"unsupported schema_version {envelope.schema_version} for {envelope.type} "
            f"(this consumer reads version {SCHEMA_VERSION})")
    if envelope.type not in RULE_CHECKED and has_surrogate(envelope.payload):
        raise MalformedMessageError(f"payload of {envelope.type} holds a lone surrogate (not Unicode text)",
                                    envelope=envelope)
    try:
        payload = MESSAGE_TYPES[envelope.type].model_validate(envelope.payload)
    except Exception as exc:
        raise MalformedMessageError(
            f"payload breaks the {envelope.type} schema: {_first_errors(exc)}", envelope=envelope) from None
    return envelope, payload


def _first_errors(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            found = errors()[:5]
            return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in found)[:1000]
        except Exception:
            pass
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def peek(body: bytes) -> str:
    """The start of an unreadable body, for the log line (never the whole form: personal data)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return repr(body[:80])
    if isinstance(parsed, dict):
        return f"json with keys {sorted(str(k)[:40] for k in parsed)[:8]}"
    return type(parsed).__name__
