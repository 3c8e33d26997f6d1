"""Connections and publishing with publisher confirms (pika's BlockingConnection)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import pika
from pika.adapters.blocking_connection import BlockingChannel

from schemas.messages import Envelope
from workflow.topology import Topology

PERSISTENT = pika.DeliveryMode.Persistent


def connect(url: str) -> pika.BlockingConnection:
    parameters = pika.URLParameters(url)
    parameters.heartbeat = 30
    parameters.blocked_connection_timeout = 60
    parameters.client_properties = {"connection_name": "regflow"}
    return pika.BlockingConnection(parameters)


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

    def publish(self, envelope: Envelope, *, mandatory: bool) -> None:
        self.publish_raw(envelope.type, envelope.model_dump_json().encode(), properties_for(envelope),
                         mandatory=mandatory)

    def publish_raw(self, routing_key: str, body: bytes, properties: pika.BasicProperties, *,
                    mandatory: bool, exchange: str | None = None) -> None:
        self.channel.basic_publish(
            exchange=self.topology.exchange if exchange is None else exchange, routing_key=routing_key,
            body=body, properties=properties, mandatory=mandatory)
