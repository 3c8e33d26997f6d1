"""A handler that runs longer than the heartbeat timeout (issue #7): the connection stays, the message is
acknowledged once, after its commit.

With a 2 s heartbeat RabbitMQ closes a connection that stays silent for about 4 s; the handler here blocks
for 7 s. Before the handler moved to a worker thread the consuming thread sat in it, answered no
heartbeat, and the ack failed on a dead connection (the message then came back and was handled again).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from consumers.runner import ConsumerApp, run_consumer
from schemas.messages import Envelope, HoldSession
from tests.conftest import wait_until
from workflow.bootstrap import Deps
from workflow.messaging.broker import Publisher, connect, connection_parameters
from workflow.persistence.orm import InboxRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

pytestmark = pytest.mark.integration

HEARTBEAT_SECONDS = 2
HANDLER_SECONDS = 7.0  # over twice the heartbeat: the broker's limit for a silent client


def test_a_handler_longer_than_the_heartbeat_keeps_the_connection_and_is_acked_once(
        settings: Settings, deps: Deps) -> None:
    short_heartbeat = settings.model_copy(update={"broker_url": f"{settings.broker_url}?heartbeat={HEARTBEAT_SECONDS}"})
    assert connection_parameters(short_heartbeat.broker_url).heartbeat == HEARTBEAT_SECONDS
    slow_deps = dataclasses.replace(deps, settings=short_heartbeat)
    calls: list[UUID] = []

    def slow_handler(envelope: Envelope, payload: Any, uow: UnitOfWork, deps: Deps) -> None:
        calls.append(envelope.event_id)
        time.sleep(HANDLER_SECONDS)  # a PDF render, a "service fait" over thousands of registrations

    app = ConsumerApp("payments", {"cmd.session.hold": slow_handler})
    envelope = Envelope(type="cmd.session.hold", occurred_at=deps.clock.now(), correlation_id=uuid4(),
                        producer="test", payload=HoldSession(session_id="s", held_on=date(2023, 9, 15))
                        .model_dump(mode="json"))
    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish(envelope, mandatory=True)

    stopping = threading.Event()
    failures: list[BaseException] = []

    def consume() -> None:
        try:
            run_consumer(app, slow_deps, stopping.is_set)
        except BaseException as exc:  # the connection dropped: what this test guards against
            failures.append(exc)

    started = time.monotonic()
    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    wait_until(lambda: _handled(deps, envelope.event_id) or failures, "the slow message to be committed", timeout=30)
    stopping.set()
    consumer.join(timeout=15)

    assert not consumer.is_alive()
    assert failures == []  # run_consumer raises when the broker drops the connection
    assert time.monotonic() - started >= HANDLER_SECONDS
    assert calls == [envelope.event_id]  # handled once: never redelivered
    assert _ready_and_unacked(settings, deps) == 0  # after the consumer left: acked, not given back


def _handled(deps: Deps, event_id: UUID) -> bool:
    with deps.sessions() as session:
        return session.scalar(select(InboxRow).where(InboxRow.message_id == str(event_id))) is not None


def _ready_and_unacked(settings: Settings, deps: Deps) -> int:
    """Messages in the work queue once no consumer holds them: an unacknowledged one is back there."""
    connection = connect(settings.broker_url)
    try:
        queue = deps.topology.work_queue("payments")
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()
