"""Connections and publishing with publisher confirms (pika's BlockingConnection)."""

from __future__ import annotations

import ssl
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pika
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

    def publish(self, envelope: Envelope, *, mandatory: bool) -> None:
        self.publish_raw(envelope.type, envelope.model_dump_json().encode(), properties_for(envelope),
                         mandatory=mandatory)

    def publish_raw(self, routing_key: str, body: bytes, properties: pika.BasicProperties, *,
                    mandatory: bool, exchange: str | None = None) -> None:
        self.channel.basic_publish(
            exchange=self.topology.exchange if exchange is None else exchange, routing_key=routing_key,
            body=body, properties=properties, mandatory=mandatory)
