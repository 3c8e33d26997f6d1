"""The one backoff policy (consumers.policy.Backoff) and the failure classification it serves: delays grow and
stay under their cap, jitter stays in its bounds, errors retrying cannot help are never retried, and the
exhaustion hook hears when the attempts are spent. A seeded random; nothing sleeps."""

from __future__ import annotations

import dataclasses
from random import Random

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from consumers.policy import (
    DATABASE_BACKOFF,
    NEVER_RETRIED,
    Backoff,
    Failure,
    Jitter,
    classify,
    reconnect_backoff,
    retry_backoff,
)
from workflow.domain import errors
from workflow.domain.errors import (
    DependencyNotReadyError,
    IllegalTransitionError,
    MalformedMessageError,
    RegflowError,
    UnknownRegistrationError,
)
from workflow.settings import Settings

ATTEMPTS = range(1, 40)


def test_without_jitter_the_delay_doubles_from_the_first() -> None:
    backoff = Backoff(first=0.5)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 8, 16]


@pytest.mark.parametrize("jitter", list(Jitter))
def test_every_delay_stays_under_the_cap_even_after_a_million_attempts(jitter: Jitter) -> None:
    backoff = Backoff(first=0.5, cap=30, jitter=jitter, random=Random(11))
    delays = [backoff.delay(n) for n in [*ATTEMPTS, 10**6]]
    assert all(0 <= delay <= 30 for delay in delays)
    assert max(delays) > 15  # the cap is reached, not the growth stopped early


@pytest.mark.parametrize(("jitter", "low", "high"), [(Jitter.FULL, 0.0, 1.0), (Jitter.EQUAL, 0.5, 1.0),
                                                     (Jitter.PROPORTIONAL, 0.8, 1.2)])
def test_jitter_draws_within_its_bounds_and_does_spread(jitter: Jitter, low: float, high: float) -> None:
    backoff = Backoff(first=1.0, jitter=jitter, random=Random(7))
    for attempt in (1, 4):
        nominal = 2.0 ** (attempt - 1)
        draws = [backoff.delay(attempt) for _ in range(500)]
        assert all(low * nominal <= d <= high * nominal for d in draws)
        assert max(draws) - min(draws) > (high - low) * nominal * 0.8  # spread over most of the range


def test_a_seeded_random_gives_the_same_delays() -> None:
    def draws() -> list[float]:
        backoff = Backoff(first=1.0, jitter=Jitter.FULL, random=Random(42))
        return [backoff.delay(n) for n in ATTEMPTS]
    assert draws() == draws()


def test_the_retry_queue_ttl_keeps_the_meaning_of_its_settings() -> None:
    retry = dataclasses.replace(retry_backoff(Settings(retry_base_ms=100, max_attempts=4)), random=Random(3))
    for attempt in (1, 2, 3):  # retry_base_ms is the first delay, doubling, ±20 %
        assert all(0.08 * 2 ** (attempt - 1) <= retry.delay(attempt) <= 0.12 * 2 ** (attempt - 1) for _ in range(200))
    assert [retry.is_last(n) for n in (1, 3, 4, 5)] == [False, False, True, True]


def test_the_waits_for_the_database_and_the_broker() -> None:
    assert [DATABASE_BACKOFF.delay(n) for n in range(1, 8)] == [0.25, 0.5, 1, 2, 4, 5, 5]
    assert [reconnect_backoff().delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_an_error_never_retried_is_not_retried_even_on_its_first_attempt() -> None:
    told: list[tuple[int, str]] = []
    retry = Backoff(first=1, max_attempts=5, never_retried=NEVER_RETRIED, on_exhausted=lambda n, e: told.append((n, e)))
    assert not retry.retries(1, MalformedMessageError("not json"))
    assert retry.retries(1, DependencyNotReadyError("invoice before its registration"))
    assert told == []  # not an exhaustion: a refusal to try


def test_the_exhaustion_hook_hears_once_the_attempts_are_spent() -> None:
    told: list[tuple[int, str]] = []
    retry = Backoff(first=1, max_attempts=3, on_exhausted=lambda n, e: told.append((n, e)))
    assert [retry.retries(n, "database: gone") for n in (1, 2)] == [True, True]
    assert told == []
    assert not retry.retries(3, "database: gone")
    assert told == [(3, "database: gone")]


def test_a_backoff_without_a_limit_always_retries() -> None:
    assert all(reconnect_backoff().retries(n, "connection reset") for n in (1, 10, 10**6))


def _subclasses(cls: type[RegflowError]) -> set[type[RegflowError]]:
    found = set(cls.__subclasses__())
    return found | {sub for child in found for sub in _subclasses(child)}


def test_the_errors_never_retried_are_exactly_the_permanent_ones() -> None:
    permanent = {cls for cls in _subclasses(RegflowError) if cls.permanent and cls.__module__ == errors.__name__}
    assert permanent == {cls for cls in permanent if issubclass(cls, NEVER_RETRIED)}
    assert not any(issubclass(cls, NEVER_RETRIED) for cls in _subclasses(RegflowError) if not cls.permanent)


RETRY = retry_backoff(Settings(max_attempts=4))


def test_a_business_refusal_answers_a_command_and_parks_an_event() -> None:
    illegal = IllegalTransitionError("reg-1", "invoiced", "sign")
    assert classify(illegal, command=True, attempt=1, retry=RETRY).failure is Failure.REFUSED
    assert classify(illegal, command=False, attempt=1, retry=RETRY).failure is Failure.PERMANENT
    malformed = classify(MalformedMessageError("bad"), command=True, attempt=1, retry=RETRY)
    assert (malformed.failure, malformed.reason) == (Failure.PERMANENT, "MalformedMessageError: bad")


def test_an_unknown_registration_is_retried_then_refused_on_its_last_attempt() -> None:
    unknown = UnknownRegistrationError("reg-1", "sign")
    assert classify(unknown, command=True, attempt=3, retry=RETRY).failure is Failure.TRANSIENT
    assert classify(unknown, command=True, attempt=4, retry=RETRY).failure is Failure.REFUSED
    assert classify(unknown, command=False, attempt=4, retry=RETRY).failure is Failure.PERMANENT
    # other transient errors stay transient on their last attempt: the settle parks them, "gave up after"
    assert classify(DependencyNotReadyError("x"), command=False, attempt=4, retry=RETRY).failure is Failure.TRANSIENT


@pytest.mark.parametrize(("error", "failure", "prefix"), [
    (OperationalError("SELECT 1", {}, Exception("connection refused\nis the server running?")),
     Failure.DATABASE_AWAY, "database: connection refused"),
    (IntegrityError("INSERT", {}, Exception("duplicate key")), Failure.CONFLICT, "integrity: duplicate key"),
    (StaleDataError("expected to update 1 row"), Failure.TRANSIENT, "concurrent update: expected"),
    (DBAPIError("SELECT 1", {}, Exception("deadlock detected")), Failure.TRANSIENT, "database: deadlock detected"),
    (ZeroDivisionError("division by zero"), Failure.UNEXPECTED, "unexpected ZeroDivisionError: division by zero"),
])
def test_database_errors_and_bugs_are_classified(error: Exception, failure: Failure, prefix: str) -> None:
    verdict = classify(error, command=True, attempt=1, retry=RETRY)
    assert verdict.failure is failure
    assert verdict.reason.startswith(prefix)
    if failure is Failure.DATABASE_AWAY:
        assert verdict.detail == "connection refused"  # one line for the log while waiting
