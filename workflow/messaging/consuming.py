"""The consuming side of the broker: a work queue's deliveries, settled after the handler ran.

Everything `consumers.runner` does with pika is here, so that the consumers themselves import no pika:
connect (through `Publisher`: topology declared, publisher confirms on), prefetch, consume with an
inactivity timeout (the loop ticks even when the queue is quiet), run the handler on a worker thread
while this thread services heartbeats, re-publish to the retry queue or the dead-letter exchange (with
confirms, mandatory), acknowledge.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import pika
import pika.data
import pika.exceptions

from workflow.messaging.broker import PERSISTENT, Publisher
from workflow.messaging.topology import Topology
from workflow.ops.health import PROCESS_HEALTH

BrokerError = pika.exceptions.AMQPError  # what a lost or refused connection raises: the caller reconnects
HEARTBEAT_SLICE_SECONDS = 0.5  # how often the connection is serviced while a handler runs: well under any heartbeat
INACTIVITY_SECONDS = 0.5  # a quiet queue still gives the loop a turn this often (health ticks, stop requests)
T = TypeVar("T")


@dataclass(frozen=True)
class Delivery:
    """One message taken from a work queue, not yet acknowledged. `headers` is what pika decoded: untrusted."""

    tag: int
    routing_key: str
    message_type: str | None
    headers: object
    body: bytes
    properties: pika.BasicProperties


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


def copy_properties(properties: pika.BasicProperties, headers: dict[str, Any], expiration: str | None = None
                    ) -> pika.BasicProperties:
    """The delivery's properties for its re-publication, persistent, with the given headers and TTL."""
    return pika.BasicProperties(
        content_type=properties.content_type, delivery_mode=PERSISTENT, message_id=properties.message_id,
        correlation_id=properties.correlation_id, type=properties.type, timestamp=properties.timestamp,
        app_id=properties.app_id, headers=publishable_headers(headers), expiration=expiration)


class Subscription:
    """A consumer's connection to its work queue, and the one thread that touches it.

    pika's BlockingConnection is not thread-safe and answers heartbeats only from inside its own calls:
    so the handler runs on a worker thread (`run_handler`) and the connection stays on this one, serviced
    while it waits (the pattern pika's maintainers give for long handlers). On exit the worker finishes
    first: a handler still running when the connection dropped commits before the connection is closed;
    its message, unacknowledged, comes back and the inbox absorbs it.
    """

    def __init__(self, url: str, topology: Topology, *, consumer: str, prefetch: int) -> None:
        self._publisher = Publisher(url, topology)
        self._topology = topology
        self._consumer = consumer
        self._prefetch = prefetch

    def __enter__(self) -> Self:
        self._publisher.__enter__()
        try:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self._consumer}-handler")
            PROCESS_HEALTH.watch_broker(self._publisher.connection)
            self._publisher.channel.basic_qos(prefetch_count=self._prefetch)
        except BaseException as exc:
            self._publisher.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._worker.shutdown(wait=True)
        finally:
            self._publisher.__exit__(exc_type, exc, tb)

    @property
    def queue(self) -> str:
        return self._topology.work_queue(self._consumer)

    def deliveries(self) -> Iterator[Delivery | None]:
        """The work queue's messages as they come; None after `INACTIVITY_SECONDS` without one."""
        for method, properties, body in self._publisher.channel.consume(self.queue,
                                                                         inactivity_timeout=INACTIVITY_SECONDS):
            if method is None:
                yield None
                continue
            yield Delivery(tag=method.delivery_tag, routing_key=method.routing_key, message_type=properties.type,
                           headers=properties.headers, body=body, properties=properties)

    def run_handler(self, call: Callable[[], T]) -> T:
        """Run `call` on the worker thread; meanwhile this thread services the connection, so heartbeats flow
        however long the handler takes (a PDF render, a "service fait" over thousands of registrations) and
        the broker does not drop the connection.

        A fast handler costs no latency: the wait returns as soon as the future is done. The handler runs in
        a copy of this thread's context and its log bindings (registration, message) are brought back, so
        the settle's log lines still carry them.
        """
        context = contextvars.copy_context()
        future = self._worker.submit(context.run, call)
        while True:
            try:
                result = future.result(timeout=HEARTBEAT_SLICE_SECONDS)
                break
            except TimeoutError:
                PROCESS_HEALTH.tick()  # waiting on a long handler is being alive
                self._publisher.connection.process_data_events(time_limit=0)  # heartbeats; deliveries are buffered
        for variable, value in context.items():
            variable.set(value)
        return result

    def retry(self, delivery: Delivery, headers: dict[str, Any], delay_ms: int) -> None:
        """Into the consumer's retry queue, whose TTL sends it back to the work queue after `delay_ms`."""
        self._publisher.publish_raw(self._topology.retry_queue(self._consumer), delivery.body,
                                    copy_properties(delivery.properties, headers, expiration=str(delay_ms)),
                                    mandatory=True, exchange="")

    def park(self, delivery: Delivery, headers: dict[str, Any]) -> None:
        """Into the consumer's dead-letter queue, for a person to look at (`regflow dead-letters`)."""
        self._publisher.publish_raw(self._consumer, delivery.body, copy_properties(delivery.properties, headers),
                                    mandatory=True, exchange=self._topology.dead_letter_exchange)

    def ack(self, delivery: Delivery) -> None:
        self._publisher.channel.basic_ack(delivery.tag)

    def cancel(self) -> None:
        """Stop consuming: the prefetched messages not yet acknowledged go back to the queue."""
        self._publisher.channel.cancel()
