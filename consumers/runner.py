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

Decoding and classification live in `consumers.policy`, which never raises for what a delivery holds.
"""

from __future__ import annotations

import contextvars
import functools
import random
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any, TypeVar

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from consumers.policy import (
    ACK,
    Disposition,
    Outcome,
    decode,
    delivery_attempt,
    is_command,
    peek,
    publishable_headers,
    safe_headers,
    text_header,
)
from schemas.form import Contract
from schemas.messages import Envelope
from workflow.bootstrap import Deps, inject_dependencies
from workflow.domain.decisions import Accepted, Refused
from workflow.domain.errors import (
    GuardRefusedError,
    IllegalTransitionError,
    MalformedMessageError,
    RegflowError,
    UnknownRegistrationError,
)
from workflow.messaging.broker import PERSISTENT, Publisher
from workflow.ops.faults import crash_point
from workflow.ops.health import PROCESS_HEALTH
from workflow.ops.metrics import record_outcome, type_label
from workflow.persistence.unit_of_work import UnitOfWork

log = structlog.get_logger("consumer")

# A handler returns nothing (a command is then accepted), or for a command the decision with its detail.
Handler = Callable[[Envelope, Any, UnitOfWork, Deps], "Accepted | Refused | None"]
T = TypeVar("T")


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
    last_attempt = delivery_attempt(headers) >= deps.settings.max_attempts
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
    deadline = time.monotonic() + deps.settings.database_wait_seconds
    delay = 0.25
    while True:
        try:
            return _attempt(app, deps, envelope, payload, body, last_attempt=last_attempt)
        except OperationalError as exc:
            if time.monotonic() + delay > deadline:
                return Outcome(Disposition.RETRY, f"database: {exc.orig}")
            log.warning("database unreachable, holding the message until it answers", delay_s=delay,
                        error=str(exc.orig).splitlines()[0] if exc.orig else str(exc))
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


BUSINESS_REFUSALS = (GuardRefusedError, IllegalTransitionError, UnknownRegistrationError)


def _attempt(app: ConsumerApp, deps: Deps, envelope: Envelope, payload: Contract, body: bytes, *,  # noqa: PLR0911
             last_attempt: bool) -> Outcome:
    """One try at handling a decoded message. A lost database connection is raised (OperationalError)."""
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
    except RegflowError as exc:
        if not exc.permanent and not (last_attempt and isinstance(exc, UnknownRegistrationError)):
            return Outcome(Disposition.RETRY, f"{type(exc).__name__}: {exc}")
        if command and isinstance(exc, BUSINESS_REFUSALS):
            _record_refusal(app, deps, envelope, exc, decided=True)
            log.info("command refused", reason=str(exc))
            return Outcome(Disposition.REFUSED, f"{type(exc).__name__}: {exc}")
        _record_refusal(app, deps, envelope, exc)
        return Outcome(Disposition.PARK, f"{type(exc).__name__}: {exc}")
    except OperationalError:
        raise  # the database is unreachable: `handle_message` waits for it
    except IntegrityError as exc:
        if _handled_meanwhile(app, deps, envelope, body):
            log.info("duplicate message, handled concurrently by another replica")
            return ACK
        return Outcome(Disposition.RETRY, f"integrity: {exc.orig}")
    except StaleDataError as exc:
        return Outcome(Disposition.RETRY, f"concurrent update: {exc}")
    except DBAPIError as exc:
        return Outcome(Disposition.RETRY, f"database: {exc.orig}")
    except Exception as exc:  # a bug: retried a few times (it may be transient), then parked
        log.exception("unexpected error")
        return Outcome(Disposition.RETRY, f"unexpected {type(exc).__name__}: {exc}")
    log.info("message handled")
    return ACK


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


STABLE_CONNECTION_SECONDS = 10.0


def keep_running(run: Callable[[], None], should_stop: Callable[[], bool], what: str, max_delay: float = 30.0, *,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
    """Run `run` again after a lost broker connection, with exponential backoff, until asked to stop.

    Nothing is acknowledged before its effects are committed, so a message in hand when the
    connection dropped is redelivered and its inbox row makes the second delivery a no-op.
    """
    delay = 0.5
    while True:
        connected_at = monotonic()
        try:
            run()
            return
        except pika.exceptions.AMQPError as exc:
            if should_stop():
                return
            if monotonic() - connected_at > STABLE_CONNECTION_SECONDS:
                delay = 0.5  # it had been working: this is a new incident, not the same one going on
            log.warning("broker connection lost, reconnecting", process=what, delay_s=delay,
                        error=f"{type(exc).__name__}: {exc}")
            sleep(delay)
            delay = min(delay * 2, max_delay)


def run_consumer(app: ConsumerApp, deps: Deps, should_stop: Callable[[], bool]) -> None:
    settings = deps.settings
    for secret in app.secrets:
        settings.require_secret(secret)  # InsecureSecretError: a default or short secret outside development
    topology = deps.topology
    # Exits in reverse order: a handler still running (the connection dropped under it) finishes and commits
    # before the connection is closed; its message, unacknowledged, comes back and the inbox absorbs it.
    with (Publisher(settings.broker_url, topology) as publisher,
          ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{app.name}-handler") as worker):
        PROCESS_HEALTH.watch_broker(publisher.connection)
        channel = publisher.channel
        channel.basic_qos(prefetch_count=settings.prefetch)
        queue = topology.work_queue(app.name)
        log.info("consumer started", consumer=app.name, queue=queue)
        last_check = 0.0
        for method, properties, body in channel.consume(queue, inactivity_timeout=0.5):
            PROCESS_HEALTH.tick()
            if method is not None:
                _settle(app, deps, publisher, channel, method=method, properties=properties, body=body,
                        worker=worker)
                structlog.contextvars.clear_contextvars()
            if should_stop():
                break
            if app.periodic and time.monotonic() - last_check >= getattr(settings, app.period_setting):
                last_check = time.monotonic()
                _in_worker(publisher.connection, worker, functools.partial(_run_periodic, app.periodic, deps))
        channel.cancel()  # unacknowledged prefetched messages go back to the queue
        log.info("consumer stopped", consumer=app.name)


HEARTBEAT_SLICE_SECONDS = 0.5  # how often the connection is serviced while a handler runs: well under any heartbeat


def _in_worker(connection: pika.BlockingConnection, worker: Executor, call: Callable[[], T]) -> T:
    """Run `call` on the worker thread; meanwhile this thread, the only one that touches pika, services the
    connection, so heartbeats flow however long the handler takes (a PDF render, a "service fait" over
    thousands of registrations) and the broker does not drop the connection.

    pika's BlockingConnection answers heartbeats only from inside its own calls, and is not thread-safe:
    so the work moves to a thread and the connection stays here (the pattern pika's maintainers give for
    long handlers). A fast handler costs no latency: the wait returns as soon as the future is done. The
    handler runs in a copy of this thread's context and its log bindings (registration, message) are
    brought back, so the settle's log lines still carry them.
    """
    context = contextvars.copy_context()
    future = worker.submit(context.run, call)
    while True:
        try:
            result = future.result(timeout=HEARTBEAT_SLICE_SECONDS)
            break
        except TimeoutError:
            PROCESS_HEALTH.tick()  # waiting on a long handler is being alive
            connection.process_data_events(time_limit=0)  # heartbeats in and out; deliveries are buffered
    for variable, value in context.items():
        variable.set(value)
    return result


def _run_periodic(check: Callable[[Deps], object], deps: Deps) -> None:
    """A periodic check never stops the consumer: a failure is logged and tried at the next tick."""
    try:
        check(deps)
    except Exception:
        log.exception("periodic check failed, will run again")


def _settle(app: ConsumerApp, deps: Deps, publisher: Publisher, channel: BlockingChannel, *,
            method: Basic.Deliver, properties: pika.BasicProperties, body: bytes, worker: Executor) -> None:
    started = time.monotonic()
    headers = safe_headers(properties.headers)
    outcome = _in_worker(publisher.connection, worker, lambda: handle_message(app, deps, body, headers))
    elapsed = time.monotonic() - started
    crash_point(f"{app.name}.after_commit_before_ack")
    headers.setdefault("x-regflow-routing-key", method.routing_key)  # kept across retries, for replay
    attempt = delivery_attempt(headers)
    if outcome.kind == Disposition.RETRY and attempt >= deps.settings.max_attempts:
        outcome = Outcome(Disposition.PARK, f"gave up after {attempt} attempts: {outcome.reason}")
    if outcome.kind == Disposition.RETRY:
        delay_ms = int(deps.settings.retry_base_ms * 2 ** min(attempt - 1, 20) * random.uniform(0.8, 1.2))
        headers.update({"x-regflow-attempt": attempt + 1, "x-regflow-last-error": outcome.reason[:1000]})
        log.warning("message retried", attempt=attempt, delay_ms=delay_ms, error=outcome.reason)
        publisher.publish_raw(deps.topology.retry_queue(app.name), body,
                              _copy(properties, headers, expiration=str(delay_ms)), mandatory=True,
                              exchange="")
    elif outcome.kind == Disposition.PARK:
        headers.update({
            "x-regflow-error": outcome.reason[:4000], "x-regflow-consumer": app.name,
            "x-regflow-attempt": attempt,
            "x-regflow-parked-at": datetime.now(UTC).isoformat(),
        })
        log.error("message parked in the dead-letter queue", error=outcome.reason, body=peek(body))
        publisher.publish_raw(app.name, body, _copy(properties, headers), mandatory=True,
                              exchange=deps.topology.dead_letter_exchange)
    channel.basic_ack(method.delivery_tag)
    message_type = properties.type or text_header(headers, "x-regflow-routing-key") or method.routing_key
    record_outcome(app.name, type_label(message_type, app.handlers), outcome.kind, elapsed)


def _copy(properties: pika.BasicProperties, headers: dict[str, Any], expiration: str | None = None
          ) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type=properties.content_type, delivery_mode=PERSISTENT, message_id=properties.message_id,
        correlation_id=properties.correlation_id, type=properties.type, timestamp=properties.timestamp,
        app_id=properties.app_id, headers=publishable_headers(headers), expiration=expiration)
