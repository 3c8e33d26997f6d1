"""Operations' view of the dead-letter queues: list, show, replay, purge.

Reading is non-destructive: messages are fetched without acknowledgement and given back. A replay
publishes the parked message, unchanged, straight to its consumer's work queue (with publisher confirms)
and only then removes it from the dead-letter queue, so a crash in between duplicates it at worst, and
the consumer's inbox absorbs the duplicate. The trace of earlier parkings is kept in the headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pika

from workflow.messaging.broker import PERSISTENT, connect
from workflow.messaging.topology import Topology


@dataclass(frozen=True)
class ParkedMessage:
    consumer: str
    message_id: str | None
    message_type: str | None
    registration_id: str | None
    error: str
    attempts: int
    parked_at: str | None
    headers: dict[str, Any]
    body: bytes
    # As parked: a replay keeps its correlation id, timestamp and producer (not part of equality).
    properties: pika.BasicProperties | None = field(default=None, compare=False)

    def age(self, now: datetime) -> str:
        if not self.parked_at:
            return "?"
        seconds = int((now - datetime.fromisoformat(self.parked_at)).total_seconds())
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"

    def summary(self, now: datetime) -> dict[str, Any]:
        return {"consumer": self.consumer, "message_id": self.message_id, "type": self.message_type,
                "registration_id": self.registration_id, "error": self.error, "attempts": self.attempts,
                "parked_at": self.parked_at, "age": self.age(now)}


def _parse(consumer: str, properties: pika.BasicProperties, body: bytes) -> ParkedMessage:
    headers = dict(properties.headers or {})
    registration_id = None
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            registration_id = parsed.get("registration_id")
    except ValueError:
        pass
    return ParkedMessage(
        consumer=consumer, message_id=properties.message_id,
        message_type=properties.type or _text(headers.get("x-regflow-routing-key")),
        registration_id=registration_id, error=_text(headers.get("x-regflow-error")) or "(rejected by the broker)",
        attempts=int(headers.get("x-regflow-attempt", 1)), parked_at=_text(headers.get("x-regflow-parked-at")),
        headers=headers, body=body, properties=properties)


def _replayed_properties(message: ParkedMessage, headers: dict[str, Any]) -> pika.BasicProperties:
    """The parked message's own properties with the new headers: its correlation id (the registration's
    story), its timestamp (the age `regflow status` shows) and its producer travel on with it."""
    kept = message.properties or pika.BasicProperties()
    return pika.BasicProperties(
        content_type=kept.content_type or "application/json", delivery_mode=PERSISTENT,
        message_id=message.message_id, type=message.message_type, correlation_id=kept.correlation_id,
        timestamp=kept.timestamp, app_id=kept.app_id, headers=headers)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class DeadLetters:
    def __init__(self, broker_url: str, topology: Topology) -> None:
        self._url = broker_url
        self.topology = topology

    @contextmanager
    def _channel(self) -> Iterator[Any]:
        connection = connect(self._url)
        try:
            channel = connection.channel()
            self.topology.declare(channel)
            channel.confirm_delivery()
            yield channel
        finally:
            if connection.is_open:
                connection.close()  # anything fetched and not acknowledged goes back to its queue

    def parked(self, consumer: str) -> list[ParkedMessage]:
        with self._channel() as channel:
            return [m for _, m in self._fetch(channel, consumer)]

    def _fetch(self, channel: Any, consumer: str) -> list[tuple[int, ParkedMessage]]:
        queue = self.topology.dead_letter_queue(consumer)
        depth = channel.queue_declare(queue, passive=True).method.message_count
        fetched = []
        for _ in range(depth):
            method, properties, body = channel.basic_get(queue)
            if method is None:
                break
            fetched.append((method.delivery_tag, _parse(consumer, properties, body)))
        return fetched

    def replay(self, consumer: str, select: Callable[[ParkedMessage], bool],
               progress: Callable[[int, int], None] | None = None) -> list[ParkedMessage]:
        """Send the selected parked messages back to the consumer's work queue, with a fresh attempt count.

        `progress(done, fetched)` is called once the queue is read (done = 0), then after each message
        looked at: a progress bar for `replay --all` over thousands of messages."""
        replayed = []
        with self._channel() as channel:
            fetched = self._fetch(channel, consumer)
            if progress:
                progress(0, len(fetched))
            for done, (tag, message) in enumerate(fetched, 1):
                if progress:
                    progress(done, len(fetched))
                if not select(message):
                    continue
                headers = {k: v for k, v in message.headers.items()
                           if k not in ("x-regflow-error", "x-regflow-attempt", "x-death", "x-first-death-exchange",
                                        "x-first-death-queue", "x-first-death-reason", "x-last-death-exchange",
                                        "x-last-death-queue", "x-last-death-reason")}
                trace = list(headers.get("x-regflow-replays", []))
                trace.append(f"{datetime.now(UTC).isoformat()} after: {message.error[:300]}")
                headers["x-regflow-replays"] = trace
                channel.basic_publish(
                    exchange="", routing_key=self.topology.work_queue(consumer), body=message.body, mandatory=True,
                    properties=_replayed_properties(message, headers))
                channel.basic_ack(tag)
                replayed.append(message)
        return replayed

    def purge(self, consumer: str) -> int:
        with self._channel() as channel:
            return int(channel.queue_purge(self.topology.dead_letter_queue(consumer)).method.message_count)
