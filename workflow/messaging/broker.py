"""Connections and publishing with publisher confirms (pika's BlockingConnection)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from schemas.messages import Envelope
from workflow.messaging.topology import Topology

PERSISTENT = pika.DeliveryMode.Persistent


TLS_QUERY_KEYS = ("cafile", "certfile", "keyfile")


def connection_parameters(url: str) -> pika.URLParameters:
    """pika's parameters for an `amqp://` or `amqps://` URL, with regflow's defaults.

    `amqps` verifies the broker's certificate and host name. The URL may name, in its query, the files
    pika's URL syntax has no place for: `cafile` (a private CA), `certfile` and `keyfile` (a client
    certificate, for brokers that authenticate by certificate). A `heartbeat` in the URL wins over
    the default of 30 s.
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    tls_files = {key: query.pop(key)[0] for key in TLS_QUERY_KEYS if key in query}
    parameters = pika.URLParameters(urlunsplit(parts._replace(query=urlencode(query, doseq=True))))
    if "heartbeat" not in query:
        parameters.heartbeat = 30
    parameters.blocked_connection_timeout = 60
    parameters.client_properties = {"connection_name": "regflow"}
    if parts.scheme == "amqps":
        context = ssl.create_default_context(cafile=tls_files.get("cafile"))
        if "certfile" in tls_files:
            context.load_cert_chain(tls_files["certfile"], tls_files.get("keyfile"))
        parameters.ssl_options = pika.SSLOptions(context, server_hostname=parts.hostname)
    elif tls_files:
        raise ValueError(f"{', '.join(tls_files)} given for a plain amqp:// URL: use amqps://")
    return parameters


def connect(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(connection_parameters(url))


def properties_for(envelope: Envelope, headers: dict[str, object] | None = None) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json", delivery_mode=PERSISTENT, message_id=str(envelope.event_id),
        correlation_id=str(envelope.correlation_id), type=envelope.type,
        timestamp=int(envelope.occurred_at.timestamp()), app_id=envelope.producer, headers=headers or {})


class Publisher:
    """Publishes envelopes; `basic_publish` returns only once the broker confirmed the message.

    With `mandatory=True` a message that no queue takes raises `UnroutableError`: used for commands,
    which must reach their consumer. Events are facts: nobody listening is not an error.
    """

    def __init__(self, url: str, topology: Topology) -> None:
        self._url = url
        self.topology = topology
        self._stream: ConfirmStream | None = None

    def __enter__(self) -> Self:
        self.connection = connect(self._url)
        self.channel: BlockingChannel = self.connection.channel()
        self.topology.declare(self.channel)
        self.channel.confirm_delivery()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.connection.is_open:
            self.connection.close()

    def reopen_channel(self) -> None:
        """A new channel with confirms, after the broker closed ours (a refused message): the connection stays."""
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def publish_all(self, messages: Sequence[Outgoing], *, timeout: float = 30) -> list[bool | None]:
        """Publish the messages in order, then wait once for the broker's confirms of them all: per message True
        (taken), False (nacked) or None (no answer: the broker closed the channel, or `timeout` passed)."""
        if not messages:
            return []
        if self._stream is None or not self._stream.is_open:
            self._stream = ConfirmStream(self.connection)
        return self._stream.publish(self.topology.exchange, messages, timeout)

    def publish(self, envelope: Envelope, *, mandatory: bool) -> None:
        self.publish_raw(envelope.type, envelope.model_dump_json().encode(), properties_for(envelope),
                         mandatory=mandatory)

    def publish_raw(self, routing_key: str, body: bytes, properties: pika.BasicProperties, *,
                    mandatory: bool, exchange: str | None = None) -> None:
        self.channel.basic_publish(
            exchange=self.topology.exchange if exchange is None else exchange, routing_key=routing_key,
            body=body, properties=properties, mandatory=mandatory)


Outgoing = tuple[str, bytes, pika.BasicProperties]  # routing key, body, properties


class ConfirmStream:
    """A channel of its own in confirm mode on which a batch is published without waiting, then its confirms
    awaited together: RabbitMQ's streaming confirms, several hundred in flight instead of one round trip each.

    pika's BlockingChannel waits for each message's confirm; the asynchronous channel under it (`_impl`) takes
    a callback instead, and `_flush_output` is the loop BlockingChannel itself runs while it waits for a
    reply. Those are the two private names of pika used, and only here."""

    def __init__(self, connection: pika.BlockingConnection) -> None:
        self._connection = connection
        self._channel = connection.channel()
        self._impl: Any = self._channel._impl  # private: see the class docstring
        self._sent = 0  # the delivery tag of the last message published (the broker counts from 1)
        self._first = 1  # of the batch awaited
        self._outcomes: dict[int, bool] = {}
        ready: list[object] = []
        self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=ready.append)
        self._wait(lambda: bool(ready))

    @property
    def is_open(self) -> bool:
        return bool(self._channel.is_open)

    def publish(self, exchange: str, messages: Sequence[Outgoing], timeout: float) -> list[bool | None]:
        self._first, self._outcomes = self._sent + 1, {}
        try:
            for routing_key, body, properties in messages:
                self._impl.basic_publish(exchange, routing_key, body, properties, mandatory=False)
                self._sent += 1
            deadline = time.monotonic() + timeout
            wake = self._connection.call_later(timeout, lambda: None)  # so that the wait sees its deadline
            try:
                self._wait(lambda: len(self._outcomes) >= len(messages) or time.monotonic() >= deadline)
            finally:
                self._connection.remove_timeout(wake)
        except pika.exceptions.ChannelClosed:
            pass  # a message the broker refused closes the channel: what was not confirmed has no answer
        return [self._outcomes.get(self._first + index) for index in range(len(messages))]

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        taken = isinstance(method, pika.spec.Basic.Ack)
        tags = range(self._first, method.delivery_tag + 1) if method.multiple else (method.delivery_tag,)
        for tag in tags:
            if tag >= self._first:
                self._outcomes.setdefault(tag, taken)

    def _wait(self, done: Any) -> None:
        self._channel._flush_output(done)  # private: see the class docstring
