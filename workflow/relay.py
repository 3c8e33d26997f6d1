"""The outbox relay: publishes committed events in order, with publisher confirms, then marks them.

A crash between the broker's confirm and the row being marked publishes the event again on restart;
consumers drop the duplicate through their inbox. So an event is published at least once, and has
its effect once.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from schemas.messages import Envelope
from workflow.broker import Publisher, properties_for
from workflow.clock import Clock
from workflow.health import PROCESS_HEALTH
from workflow.metrics import RELAY_PUBLISHED
from workflow.orm import OutboxRow

log = structlog.get_logger("relay")


def relay_once(sessions: sessionmaker[Session], publisher: Publisher, clock: Clock, batch: int = 200) -> int:
    """Publish up to `batch` pending events; returns how many were published."""
    with sessions() as session, session.begin():
        query = (select(OutboxRow).where(OutboxRow.published_at.is_(None))
                 .order_by(OutboxRow.id).limit(batch))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # several relays share the work
        rows = session.scalars(query).all()
        for row in rows:
            envelope = Envelope.model_validate_json(row.body)
            publisher.publish_raw(row.routing_key, row.body.encode(), properties_for(envelope),
                                  mandatory=False)
            row.published_at = clock.now()
            log.debug("event published", event_type=row.routing_key, registration_id=row.registration_id)
    return len(rows)


def run_relay(sessions: sessionmaker[Session], publisher: Publisher, clock: Clock, poll_seconds: float,
              should_stop: Callable[[], bool]) -> None:
    log.info("relay started")
    PROCESS_HEALTH.watch_broker(publisher.connection)
    while not should_stop():
        PROCESS_HEALTH.tick()
        try:
            published = relay_once(sessions, publisher, clock)
        except DBAPIError as exc:  # database unreachable: the rows wait, nothing is lost
            log.warning("outbox unreadable, will try again", error=str(exc.orig))
            published = 0
            publisher.connection.sleep(1.0)
        RELAY_PUBLISHED.inc(published)  # counted once committed: the rows are marked
        if published == 0:
            publisher.connection.sleep(poll_seconds)  # keeps heartbeats flowing while idle
    log.info("relay stopped")
