"""What the runner decides about a delivery, apart from the broker: decoding, outcomes, failures, backoff.

Everything in a delivery is hostile until checked: the body, the headers, the properties. Nothing here
raises for what a message holds: an unreadable one is an outcome (parked, with its reason), so a poison
message never ends a consumer, nor blocks the messages behind it. Property-tested with Hypothesis
(tests/unit/test_runner_policy.py).

Every wait before trying again is one `Backoff`, as dramatiq's retries middleware: exponential, capped,
jittered, with errors never retried and a hook when the attempts are spent. Its instances: the retry
queue's TTL per attempt (`retry_backoff`), the wait for the database (`DATABASE_BACKOFF`), the wait for
the broker (`reconnect_backoff`). Tested with a seeded random (tests/unit/test_backoff.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from random import Random
from typing import Any

from schemas.form import Contract
from schemas.limits import has_surrogate
from schemas.messages import MESSAGE_TYPES, SCHEMA_VERSION, Envelope
from workflow.domain.errors import (
    GuardRefusedError,
    IllegalTransitionError,
    InconsistentMessageError,
    InterestClaimError,
    InvoiceRulesError,
    MalformedMessageError,
    MessageConflictError,
    PlatformRefusedError,
    RegflowError,
    StatementFileError,
    UnknownRegistrationError,
)
from workflow.persistence.failures import DatabaseFailure, database_failure
from workflow.settings import Settings

MAX_ATTEMPT_HEADER = 1000  # an attempt count beyond this is not ours: read as the last attempt
MAX_EXPONENT = 20  # 2**20 times the first delay: beyond, doubling again means nothing but an overflow
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


class Failure(StrEnum):
    """What a handler's exception means for its message."""

    DATABASE_AWAY = "database_away"  # held unacknowledged while the database comes back, then one retry
    CONFLICT = "conflict"  # a constraint: acknowledged if another replica handled it meanwhile, else retried
    TRANSIENT = "transient"  # retried through the retry queue, parked once its attempts are spent
    UNEXPECTED = "unexpected"  # a bug, logged with its traceback: retried (it may be transient), then parked
    REFUSED = "refused"  # a business "no" to a command: its decision recorded, acknowledged
    PERMANENT = "permanent"  # parked at once, the refusal in the registration's history


@dataclass(frozen=True)
class Verdict:
    failure: Failure
    reason: str  # for the headers (`x-regflow-last-error`, `x-regflow-error`) and the decision
    detail: str = ""  # a shorter form, for a log line while waiting


# Errors retrying cannot help: the `permanent` ones of workflow.domain.errors (a unit test keeps them the same).
NEVER_RETRIED: tuple[type[BaseException], ...] = (
    MalformedMessageError, MessageConflictError, InconsistentMessageError, IllegalTransitionError, GuardRefusedError,
    InvoiceRulesError, InterestClaimError, StatementFileError, PlatformRefusedError)
# Refusals of a command by a business rule: an answer to whoever sent it, not an incident.
BUSINESS_REFUSALS = (GuardRefusedError, IllegalTransitionError, UnknownRegistrationError)


class Jitter(Enum):
    """How much of a delay is drawn at random: the bounds, as fractions of the exponential delay."""

    NONE = (1.0, 1.0)  # exactly the delay: a process waiting alone (the database, the broker)
    FULL = (0.0, 1.0)  # anywhere up to it (AWS's "full jitter"): spreads a herd of clients the most
    EQUAL = (0.5, 1.0)  # half fixed, half drawn (dramatiq's retries): never twice at once, never too soon
    PROPORTIONAL = (0.8, 1.2)  # ±20 % around it: the retry queue, where `retry_base_ms` is the mean first delay


_DRAWS = Random()  # spreading retries, not a secret


@dataclass(frozen=True)
class Backoff:
    """Exponential, capped, jittered delays before trying again, and when to stop trying.

    `first` is in the caller's unit (seconds here); `max_attempts` None tries for as long as it takes (a
    connection). An error in `never_retried` is not retried at all; `on_exhausted(attempts, error)` is
    told when the attempts are spent, as dramatiq's `on_retry_exhausted`.
    """

    first: float
    cap: float = math.inf
    jitter: Jitter = Jitter.NONE
    max_attempts: int | None = None
    never_retried: tuple[type[BaseException], ...] = ()
    on_exhausted: Callable[[int, str], object] | None = None
    random: Random = field(default=_DRAWS, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        """The wait after try number `attempt` (1 for the first) failed: `first` doubling, within `cap`."""
        exponential = min(self.cap, self.first * 2.0 ** min(max(attempt, 1) - 1, MAX_EXPONENT))
        low, high = self.jitter.value
        drawn = exponential * (low if low == high else self.random.uniform(low, high))
        return min(self.cap, drawn)

    def is_last(self, attempt: int) -> bool:
        return self.max_attempts is not None and attempt >= self.max_attempts

    def retries(self, attempt: int, error: BaseException | str) -> bool:
        """Whether try `attempt`, failed with `error`, gets another: not for an error never retried, nor once
        the attempts are spent (then `on_exhausted` is told)."""
        if isinstance(error, self.never_retried):
            return False
        if self.is_last(attempt):
            if self.on_exhausted is not None:
                self.on_exhausted(attempt, str(error))
            return False
        return True


DATABASE_BACKOFF = Backoff(first=0.25, cap=5.0)  # how long a consumer sleeps between two looks at the database
STABLE_CONNECTION_SECONDS = 10.0  # a connection that worked this long: its loss is a new incident


def retry_backoff(settings: Settings, on_exhausted: Callable[[int, str], object] | None = None) -> Backoff:
    """The retry queue's TTL per attempt: `retry_base_ms` doubling, ±20 %, parked after `max_attempts`."""
    return Backoff(first=settings.retry_base_ms / 1000, jitter=Jitter.PROPORTIONAL,
                   max_attempts=settings.max_attempts, never_retried=NEVER_RETRIED, on_exhausted=on_exhausted)


def reconnect_backoff(max_delay: float = 30.0) -> Backoff:
    """Reconnecting to the broker: 0.5 s doubling to 30 s (below `liveness_seconds`: an outage is not a death)."""
    return Backoff(first=0.5, cap=max_delay)


def classify(error: BaseException, *, command: bool, attempt: int, retry: Backoff) -> Verdict:
    """What `error`, raised while handling try `attempt` of a message, makes of it. A command naming a
    registration that never arrived is refused on its last attempt: a decision, not a dead letter."""
    trouble = database_failure(error)
    if trouble is not None:
        failure = {DatabaseFailure.UNREACHABLE: Failure.DATABASE_AWAY, DatabaseFailure.CONFLICT: Failure.CONFLICT,
                   DatabaseFailure.TRANSIENT: Failure.TRANSIENT}[trouble.kind]
        return Verdict(failure, trouble.reason, trouble.detail)
    if not isinstance(error, RegflowError):
        return Verdict(Failure.UNEXPECTED, f"unexpected {type(error).__name__}: {error}")
    reason = f"{type(error).__name__}: {error}"
    final = isinstance(error, retry.never_retried) or (
        isinstance(error, UnknownRegistrationError) and retry.is_last(attempt))
    if not final:  # its attempts are counted when the delivery is settled (`Backoff.retries`)
        return Verdict(Failure.TRANSIENT, reason)
    if command and isinstance(error, BUSINESS_REFUSALS):
        return Verdict(Failure.REFUSED, reason)
    return Verdict(Failure.PERMANENT, reason)


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
