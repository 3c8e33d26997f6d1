"""The loop every consumer runs, and its acknowledgement policy.

Ack policy, explicitly: a message is acknowledged only after its effects are committed (or after it
was re-published to the retry queue or parked in the dead-letter queue, both with publisher
confirms). Outcomes:
- handled, or already handled (inbox): ack;
- transient failure (database down, concurrent update, an event ahead of the one it depends on):
  re-published to the retry queue with a growing TTL and `x-regflow-attempt` + 1; past
  `max_attempts` it is parked;
- a command refused by a business rule (illegal transition, a guard, an unknown registration or
  session): its decision `refused` is recorded with the reason, in the history too, and it is
  acknowledged: a "no" is an answer, not an incident;
- permanent failure (malformed message, an event the database does not confirm, an id reused with
  another body): parked at once in the consumer's dead-letter queue, with the reason in the headers.

Decoding, failure classification and the one backoff policy live in `consumers.policy`, which never raises
for what a delivery holds; the broker side (pika) in `workflow.messaging.consuming`, the database's errors in
`workflow.persistence.failures`: this module imports neither pika nor SQLAlchemy.
"""

from __future__ import annotations

import functools
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

import structlog

from consumers.policy import (
    ACK,
    DATABASE_BACKOFF,
    STABLE_CONNECTION_SECONDS,
    Backoff,
    Disposition,
    Failure,
    Outcome,
    Verdict,
    classify,
    decode,
    delivery_attempt,
    is_command,
    peek,
    reconnect_backoff,
    retry_backoff,
    safe_headers,
    text_header,
)
from schemas.form import Contract
from schemas.messages import Envelope
from workflow.bootstrap import Deps, inject_dependencies
from workflow.domain.decisions import Accepted, Refused
from workflow.domain.errors import MalformedMessageError, RegflowError
from workflow.messaging.consuming import BrokerError, Delivery, Subscription
from workflow.ops.faults import crash_point
from workflow.ops.health import PROCESS_HEALTH
from workflow.ops.metrics import record_outcome, type_label
from workflow.persistence.unit_of_work import UnitOfWork

log = structlog.get_logger("consumer")

# A handler is called as handler(envelope, payload, uow) once `inject_dependencies` bound what its signature names
# (clock, catalogue, settings...). It returns nothing (a command is then accepted), or for a command the decision.
Handler = Callable[..., "Accepted | Refused | None"]


@dataclass(frozen=True)
class ConsumerApp:
    name: str
    handlers: dict[str, Handler]
    periodic: Callable[[Deps], object] | None = None
    period_setting: str = "periodic_check_seconds"  # the setting that says how often `periodic` runs
    secrets: tuple[str, ...] = ()  # settings it refuses to start without (a default one only in development)


class StopFlag:
    """Set by SIGTERM/SIGINT: the message in hand is finished and acknowledged, then the loop ends."""

    def __init__(self) -> None:
        self.stopping = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def __call__(self) -> bool:
        return self.stopping


def handle_message(app: ConsumerApp, deps: Deps, body: bytes, headers: object = None) -> Outcome:
    """Everything but the broker: decode, run the handler in a unit of work, classify failures.

    Never raises for what the message holds (body or headers): whatever cannot be read is parked with
    its reason. A command gets its decision (accepted or refused); a business refusal is acknowledged."""
    if len(body) > deps.settings.max_message_bytes:  # refused before parsing: a huge body is an attack or a bug
        return Outcome(Disposition.PARK, f"malformed: message of {len(body)} bytes, over the limit of "
                                         f"{deps.settings.max_message_bytes} (REGFLOW_MAX_MESSAGE_BYTES)")
    attempt = delivery_attempt(headers)
    try:
        envelope, payload = decode(app.handlers, app.name, body)
    except MalformedMessageError as exc:
        if isinstance(exc.envelope, Envelope) and is_command(exc.envelope.type):
            _decide_refused(app, deps, exc.envelope, exc)
        return Outcome(Disposition.PARK, f"malformed: {exc}")
    structlog.contextvars.bind_contextvars(
        registration_id=envelope.registration_id, correlation_id=str(envelope.correlation_id),
        message_type=envelope.type, message_id=str(envelope.event_id))
    # The database away is not this message's fault: wait for it here, holding the message (it stays
    # unacknowledged), instead of spending its attempts and draining the whole queue into the retry queue
    # (measured by the fault suite: 13,000 pointless retries for 31 outages of 1-3 s).
    retry = retry_backoff(deps.settings)
    deadline = time.monotonic() + deps.settings.database_wait_seconds
    command = is_command(envelope.type)
    looks = 0
    while True:
        try:
            return _attempt(app, deps, envelope, payload, body, attempt=attempt, retry=retry)
        except Exception as exc:  # the database went away during the try, or while recording its refusal
            away = classify(exc, command=command, attempt=attempt, retry=retry)
            if away.failure is not Failure.DATABASE_AWAY:
                raise
        looks += 1
        delay = DATABASE_BACKOFF.delay(looks)
        if time.monotonic() + delay > deadline:
            return Outcome(Disposition.RETRY, away.reason)
        log.warning("database unreachable, holding the message until it answers", delay_s=delay, error=away.detail)
        time.sleep(delay)


def _attempt(app: ConsumerApp, deps: Deps, envelope: Envelope, payload: Contract, body: bytes, *,
             attempt: int, retry: Backoff) -> Outcome:
    """One try at handling a decoded message. A database away is raised: `handle_message` waits for it."""
    uow = UnitOfWork(deps.sessions, deps.clock, actor=app.name, message=envelope, body=body)
    command = is_command(envelope.type)
    try:
        with uow:
            if uow.already_handled():
                log.info("duplicate message, already handled")
                return ACK
            if not command:
                uow.confirm_published(body)  # an event acts only if regflow recorded it (the outbox)
            result = inject_dependencies(app.handlers[envelope.type], deps)(envelope, payload, uow)
            if command:
                uow.decide(result if isinstance(result, Refused) else (result or Accepted()))
            uow.commit()
    except Exception as exc:
        verdict = classify(exc, command=command, attempt=attempt, retry=retry)
        if verdict.failure is Failure.DATABASE_AWAY:
            raise
        if verdict.failure is Failure.UNEXPECTED:
            log.exception("unexpected error")  # a bug: retried a few times (it may be transient), then parked
        return _failed(app, deps, envelope, body, error=exc, verdict=verdict)
    log.info("message handled")
    return ACK


def _failed(app: ConsumerApp, deps: Deps, envelope: Envelope, body: bytes, *, error: Exception, verdict: Verdict
            ) -> Outcome:
    """The outcome of a failed try, once its refusal or decision is recorded."""
    match verdict.failure:
        case Failure.CONFLICT if _handled_meanwhile(app, deps, envelope, body):
            log.info("duplicate message, handled concurrently by another replica")
            return ACK
        case Failure.REFUSED if isinstance(error, RegflowError):
            _record_refusal(app, deps, envelope, error, decided=True)
            log.info("command refused", reason=str(error))
            return Outcome(Disposition.REFUSED, verdict.reason)
        case Failure.PERMANENT if isinstance(error, RegflowError):
            _record_refusal(app, deps, envelope, error)
            return Outcome(Disposition.PARK, verdict.reason)
    return Outcome(Disposition.RETRY, verdict.reason)


def _record_refusal(app: ConsumerApp, deps: Deps, envelope: Envelope, error: RegflowError, *,
                    decided: bool = False) -> None:
    """The refusal in the registration's history; for a command (`decided`), its decision and inbox row too, so
    that a redelivered copy is a duplicate."""
    with UnitOfWork(deps.sessions, deps.clock, actor=app.name, message=envelope) as uow:
        if envelope.registration_id is not None:
            uow.record_refusal(envelope.registration_id, envelope.type, error)
        if not decided:
            uow.commit(mark_handled=False)  # parked: a replay after a fix must not be taken for a duplicate
            return
        if uow.already_handled():
            return  # another copy was decided meanwhile
        uow.decide(Refused(reason_fr=error.reason_fr or str(error), reason_en=str(error)))
        uow.commit()


def _decide_refused(app: ConsumerApp, deps: Deps, envelope: Envelope, error: RegflowError) -> None:
    """A command whose payload cannot be read still gets its decision (best effort: it is parked anyway)."""
    try:
        with UnitOfWork(deps.sessions, deps.clock, actor=app.name, message=envelope) as uow:
            uow.decide(Refused(reason_fr=f"Commande illisible, mise de côté pour l'exploitation : {str(error)[:500]}",
                               reason_en=f"unreadable command, parked for operations: {str(error)[:500]}"))
            uow.commit(mark_handled=False)
    except Exception:
        log.exception("could not record the decision on an unreadable command")


def _handled_meanwhile(app: ConsumerApp, deps: Deps, envelope: Envelope, body: bytes) -> bool:
    with UnitOfWork(deps.sessions, deps.clock, actor=app.name, message=envelope, body=body) as uow:
        return uow.already_handled()


def keep_running(run: Callable[[], None], should_stop: Callable[[], bool], what: str, max_delay: float = 30.0, *,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 backoff: Backoff | None = None, progress: Callable[[], int] = lambda: 0) -> None:
    """Run `run` again after a lost broker connection, with `reconnect_backoff`, until asked to stop.

    The delay climbs while the broker stays away. A connection that had been working, its loop having taken
    a turn (`progress` moved: `ProcessHealth.ticks`) or lasted `STABLE_CONNECTION_SECONDS`, is a new incident
    when lost: the next try comes after the first delay again, not after the 30 s an earlier outage reached.
    Nothing is acknowledged before its effects are committed, so a message in hand when the
    connection dropped is redelivered and its inbox row makes the second delivery a no-op.
    """
    backoff = backoff or reconnect_backoff(max_delay)
    failures = 0
    while True:
        connected_at, turns = monotonic(), progress()
        try:
            run()
            return
        except BrokerError as exc:
            if should_stop():
                return
            if progress() != turns or monotonic() - connected_at > STABLE_CONNECTION_SECONDS:
                failures = 0  # it had been working: this is a new incident, not the same one going on
            failures += 1
            delay = backoff.delay(failures)
            log.warning("broker connection lost, reconnecting", process=what, delay_s=delay,
                        error=f"{type(exc).__name__}: {exc}")
            sleep(delay)


def run_consumer(app: ConsumerApp, deps: Deps, should_stop: Callable[[], bool]) -> None:
    settings = deps.settings
    for secret in app.secrets:
        settings.require_secret(secret)  # InsecureSecretError: a default or short secret outside development
    retry = retry_backoff(settings)
    with Subscription(settings.broker_url, deps.topology, consumer=app.name,
                      prefetch=settings.prefetch) as subscription:
        log.info("consumer started", consumer=app.name, queue=subscription.queue)
        last_check = 0.0
        for delivery in subscription.deliveries():
            PROCESS_HEALTH.tick()
            if delivery is not None:
                _settle(app, deps, subscription, delivery, retry)
                structlog.contextvars.clear_contextvars()
            if should_stop():
                break
            if app.periodic and time.monotonic() - last_check >= getattr(settings, app.period_setting):
                last_check = time.monotonic()
                subscription.run_handler(functools.partial(_run_periodic, app.periodic, deps))
        subscription.cancel()  # unacknowledged prefetched messages go back to the queue
        log.info("consumer stopped", consumer=app.name)


def _run_periodic(check: Callable[[Deps], object], deps: Deps) -> None:
    """A periodic check never stops the consumer: a failure is logged and tried at the next tick."""
    try:
        check(deps)
    except Exception:
        log.exception("periodic check failed, will run again")


def _settle(app: ConsumerApp, deps: Deps, subscription: Subscription, delivery: Delivery, retry: Backoff) -> None:
    """Ack after commit: the outcome is acted on (re-published to the retry queue or parked, both confirmed)
    before the delivery is acknowledged."""
    started = time.monotonic()
    headers = safe_headers(delivery.headers)
    outcome = subscription.run_handler(lambda: handle_message(app, deps, delivery.body, headers))
    elapsed = time.monotonic() - started
    crash_point(f"{app.name}.after_commit_before_ack")
    headers.setdefault("x-regflow-routing-key", delivery.routing_key)  # kept across retries, for replay
    attempt = delivery_attempt(headers)
    if outcome.kind == Disposition.RETRY and not retry.retries(attempt, outcome.reason):
        outcome = Outcome(Disposition.PARK, f"gave up after {attempt} attempts: {outcome.reason}")
    if outcome.kind == Disposition.RETRY:
        delay_ms = round(retry.delay(attempt) * 1000)
        headers.update({"x-regflow-attempt": attempt + 1, "x-regflow-last-error": outcome.reason[:1000]})
        log.warning("message retried", attempt=attempt, delay_ms=delay_ms, error=outcome.reason)
        subscription.retry(delivery, headers, delay_ms)
    elif outcome.kind == Disposition.PARK:
        headers.update({
            "x-regflow-error": outcome.reason[:4000], "x-regflow-consumer": app.name,
            "x-regflow-attempt": attempt,
            "x-regflow-parked-at": datetime.now(UTC).isoformat(),
        })
        log.error("message parked in the dead-letter queue", error=outcome.reason, body=peek(delivery.body))
        subscription.park(delivery, headers)
    subscription.ack(delivery)
    message_type = delivery.message_type or text_header(headers, "x-regflow-routing-key") or delivery.routing_key
    record_outcome(app.name, type_label(message_type, app.handlers), outcome.kind, elapsed)
