"""Positive waits: instead of sleeping and expecting nothing, wait until nothing is left in flight.

A consumer takes its queue in order, one message at a time. So when a marker published to its work queue
after some messages has been handled (it is not an envelope: the consumer parks it in its dead-letter queue,
where it is taken back, leaving no trace), every message ahead of it has been handled too. `wait_until_idle`
repeats that until a round finds nothing more: every event published, each consumer past its marker, no retry
waiting, every e-mail sent, no reminder due. Only then does "nothing else happened" mean something.

Valid with one process per consumer (competing replicas share a queue: a marker proves nothing about the
other replica), which is how the fleets of the end-to-end tests run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any
from uuid import uuid4

import pika
import pytest
from pika.adapters.blocking_connection import BlockingConnection
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters.clocks import clock_from_spec
from workflow.messaging.broker import connect
from workflow.messaging.topology import CONSUMERS, Topology
from workflow.persistence.orm import EmailRow, OutboxRow, ReminderRow
from workflow.settings import Settings

MARKER = b"regflow-tests idle marker "  # not JSON: every consumer parks it at once, touching nothing


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


def pass_markers(settings: Settings, consumers: Iterable[str] = CONSUMERS, timeout: float = 60) -> None:
    """Publish a marker to each consumer's work queue and wait until each has handled it (parked it): then
    every message that was ahead of it has been handled. The markers are taken out of the dead-letter queues."""
    topology = Topology(settings.namespace)
    connection = connect(settings.broker_url)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        markers = {consumer: MARKER + uuid4().hex.encode() for consumer in consumers}
        for consumer, body in markers.items():
            channel.basic_publish("", topology.work_queue(consumer), body, pika.BasicProperties(
                delivery_mode=2, content_type="text/plain"), mandatory=True)
        channel.close()
        waiting = dict(markers)
        wait_until(lambda: not _take_markers(connection, topology, waiting),
                   f"{', '.join(waiting)} to handle the messages ahead of a marker", timeout)
    finally:
        connection.close()


def _take_markers(connection: BlockingConnection, topology: Topology, waiting: dict[str, bytes]) -> dict[str, bytes]:
    """Take the markers that reached their dead-letter queue; what else is parked there stays (unacknowledged,
    it goes back when the channel closes). Returns the markers still awaited."""
    for consumer, body in list(waiting.items()):
        channel = connection.channel()
        while True:
            method, _, parked = channel.basic_get(topology.dead_letter_queue(consumer), auto_ack=False)
            if method is None:
                break
            if parked == body:
                channel.basic_ack(method.delivery_tag)
                del waiting[consumer]
                break
        channel.close()
    return waiting


def in_flight(settings: Settings, sessions: sessionmaker[Session]) -> dict[str, int]:
    """What is still to be done, by kind; {} when nothing is."""
    now = clock_from_spec(settings.clock).now()
    with sessions() as session:
        found = {
            "events not published": session.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.published_at.is_(None), OutboxRow.set_aside_at.is_(None))),
            "e-mails not sent": session.scalar(select(func.count()).select_from(EmailRow).where(
                EmailRow.status == "pending")),
            "reminders due": session.scalar(select(func.count()).select_from(ReminderRow).where(
                ReminderRow.status == "scheduled", ReminderRow.due_at <= now)),
        }
    topology = Topology(settings.namespace)
    connection = connect(settings.broker_url)
    try:
        channel = connection.channel()
        for queue in [q for c in CONSUMERS for q in (topology.work_queue(c), topology.retry_queue(c))]:
            found[f"messages in {queue}"] = channel.queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()
    return {what: int(n or 0) for what, n in found.items() if n}


def wait_until_idle(settings: Settings, sessions: sessionmaker[Session], timeout: float = 60) -> None:
    """Nothing left in flight, two marker rounds in a row (a retried message can be between its retry queue and
    its work queue for an instant)."""
    deadline = time.monotonic() + timeout
    quiet_rounds = 0
    left: dict[str, int] = {}
    while quiet_rounds < 2:
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for nothing to be left in flight; left: {left}")
        wait_until(lambda: not in_flight(settings, sessions).get("events not published"), "every event published",
                   max(deadline - time.monotonic(), 1))
        pass_markers(settings, timeout=max(deadline - time.monotonic(), 1))
        left = in_flight(settings, sessions)
        quiet_rounds = 0 if left else quiet_rounds + 1
        if left:
            time.sleep(0.05)  # a poll interval: the loop waits for the work named in `left`
