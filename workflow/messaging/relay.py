"""The outbox relay: publishes committed events in order, with publisher confirms, then marks them.

A batch of rows is published on a stream of confirms (all sent, then all confirms awaited: one round trip for the
batch, not one per event); a row the broker nacks is set aside; when the broker closes the channel on a message it
refuses, the rows it did not confirm are published again one at a time, which names the one it refuses.

A crash between the broker's confirm and the row being marked publishes the event again on restart;
consumers drop the duplicate through their inbox. So an event is published at least once, and has
its effect once.

A row that cannot be published (over the message size limit, unreadable, refused by the broker) is set
aside with its reason, never retried forever: the rows behind it go on. `regflow status`, the Queue
health page and the metric `regflow_outbox_set_aside` show it (an alert fires on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pika
import pika.exceptions
import structlog
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from schemas.messages import Envelope
from workflow.domain.clock import Clock
from workflow.messaging.broker import Publisher, properties_for
from workflow.ops.health import PROCESS_HEALTH
from workflow.ops.metrics import RELAY_PUBLISHED, RELAY_SET_ASIDE
from workflow.persistence.orm import Base, OutboxRow

DEFAULT_MAX_BYTES = 256 * 1024  # Settings.max_message_bytes: what the consumers accept

log = structlog.get_logger("relay")


_OUTBOX = Base.metadata.tables[OutboxRow.__tablename__]
# Core statements on the table: a batch is a handful of rows while events trickle in, and the ORM's load and flush
# were most of the relay's CPU per batch (about 2 ms, against 0.1 ms per event published).
_PENDING = (select(_OUTBOX.c.id, _OUTBOX.c.routing_key, _OUTBOX.c.registration_id, _OUTBOX.c.body)
            .where(_OUTBOX.c.published_at.is_(None), _OUTBOX.c.set_aside_at.is_(None))
            .order_by(_OUTBOX.c.id).limit(bindparam("batch")))
_PENDING_LOCKED = _PENDING.with_for_update(skip_locked=True)  # several relays share the work (PostgreSQL)
_MARK_PUBLISHED = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
                   .values(published_at=bindparam("published_at")))
_SET_ASIDE = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))
              .values(set_aside_at=bindparam("set_aside_at"), set_aside_reason=bindparam("reason")))


@dataclass(frozen=True)
class Pending:
    """An outbox row waiting to be published, as the relay reads it."""

    id: int
    routing_key: str
    registration_id: str | None
    body: str


def relay_once(sessions: sessionmaker[Session], publisher: Publisher, clock: Clock, batch: int = 200, *,
               max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Publish up to `batch` pending events; returns how many were published (rows set aside not counted)."""
    with sessions() as session, session.begin():
        connection = session.connection()
        query = _PENDING_LOCKED if connection.dialect.name == "postgresql" else _PENDING
        rows = [Pending(*row) for row in connection.execute(query, {"batch": batch})]
        readable: list[tuple[Pending, bytes, pika.BasicProperties]] = []
        for row in rows:
            body, properties, problem = _checked(row, max_bytes)
            if problem is None:
                readable.append((row, body, properties))
            else:
                _set_aside(connection, row, problem, clock.now())
        outcomes = publisher.publish_all([(row.routing_key, body, properties) for row, body, properties in readable])
        published: list[int] = []
        for (row, _, _), taken in zip(readable, outcomes, strict=True):
            if taken is None:  # no confirm (a refused message closed the channel): one at a time names the one
                problem = _publish(publisher, row, max_bytes)
            else:
                problem = None if taken else "refused by the broker (nack)"
            if problem is None:
                published.append(row.id)
                log.debug("event published", event_type=row.routing_key, registration_id=row.registration_id)
            else:
                _set_aside(connection, row, problem, clock.now())
        if published:  # one statement for the batch
            connection.execute(_MARK_PUBLISHED, {"ids": published, "published_at": clock.now()})
    return len(published)


def _checked(row: Pending, max_bytes: int) -> tuple[bytes, pika.BasicProperties, str | None]:
    """The row's body and properties, or the reason it cannot be published (too large, unreadable)."""
    body = row.body.encode()
    if len(body) > max_bytes:
        return body, pika.BasicProperties(), (
            f"event of {len(body)} bytes, over the limit of {max_bytes} (REGFLOW_MAX_MESSAGE_BYTES)")
    try:
        envelope = Envelope.model_validate_json(body)
    except Exception as exc:  # written by an older version, or damaged: kept for a person, not retried
        return body, pika.BasicProperties(), f"unreadable envelope: {type(exc).__name__}: {str(exc)[:300]}"
    return body, properties_for(envelope), None


def _publish(publisher: Publisher, row: Pending, max_bytes: int) -> str | None:
    """Publish one row and wait for its confirm; the reason it cannot be, if so (the broker's refusals included)."""
    body, properties, problem = _checked(row, max_bytes)
    if problem is not None:
        return problem
    try:
        publisher.publish_raw(row.routing_key, body, properties, mandatory=False)
    except pika.exceptions.NackError as exc:
        return f"refused by the broker (nack): {exc}"
    except pika.exceptions.ChannelClosedByBroker as exc:  # e.g. over the broker's max_message_size
        publisher.reopen_channel()
        return f"refused by the broker: {exc.reply_code} {exc.reply_text}"
    return None


def _set_aside(connection: Connection, row: Pending, reason: str, now: datetime) -> None:
    connection.execute(_SET_ASIDE, {"row_id": row.id, "set_aside_at": now, "reason": reason[:2000]})
    RELAY_SET_ASIDE.inc()
    log.error("outbox row set aside: it cannot be published", event_type=row.routing_key,
              registration_id=row.registration_id, outbox_id=row.id, reason=reason)


def run_relay(sessions: sessionmaker[Session], publisher: Publisher, clock: Clock, poll_seconds: float,
              should_stop: Callable[[], bool], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    log.info("relay started")
    PROCESS_HEALTH.watch_broker(publisher.connection)
    while not should_stop():
        PROCESS_HEALTH.tick()
        try:
            published = relay_once(sessions, publisher, clock, max_bytes=max_bytes)
        except DBAPIError as exc:  # database unreachable: the rows wait, nothing is lost
            log.warning("outbox unreadable, will try again", error=str(exc.orig))
            published = 0
            publisher.connection.sleep(1.0)
        RELAY_PUBLISHED.inc(published)  # counted once committed: the rows are marked
        if published == 0:
            publisher.connection.sleep(poll_seconds)  # keeps heartbeats flowing while idle
    log.info("relay stopped")
