"""The AMQP side of the AsyncAPI document: headers, properties, bindings, servers and the info block
(`workflow.messaging.asyncapi` assembles the document)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, NamedTuple

from schemas.messages import SCHEMA_VERSION
from workflow.messaging.topology import CONSUMERS, Topology

AMQP_BINDING_VERSION = "0.3.0"
SCHEMAS = "#/components/schemas/"


class Sender(NamedTuple):
    """A team that publishes commands through `producers.commands.CommandClient`."""

    team: str
    producer: str
    commands: tuple[str, ...]


SENDERS: tuple[Sender, ...] = (
    Sender("intake", "`intake`, or `signature` from `regflow sign`",
           ("cmd.registration.submit", "cmd.registration.sign")),
    Sender("support", "`support`", ("cmd.registration.replace_participant",)),
    Sender("finance", "`finance`", ("cmd.payment.record", "cmd.invoice.correct")),
    Sender("operations", "`operations`", ("cmd.session.hold", "cmd.session.cancel", "cmd.session.move")),
)


def amqp_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The AMQP `headers` table. Empty when a team or the relay publishes. A consumer adds the "
                       "`x-regflow-*` entries when it sends a message to its retry queue or parks it in its "
                       "dead-letter queue (consumers/runner.py); `regflow dead-letters replay` removes "
                       "`x-regflow-error`, `x-regflow-attempt` and RabbitMQ's death headers and appends to "
                       "`x-regflow-replays`.",
        "properties": {
            "x-regflow-routing-key": {
                "type": "string",
                "description": "The routing key of the first delivery, kept across retries so that a parked "
                               "message can be replayed"},
            "x-regflow-attempt": {
                "type": "integer", "minimum": 1,
                "description": "The attempt the message is at (retry queue: the next one; dead-letter queue: the "
                               "last one); absent means 1"},
            "x-regflow-last-error": {
                "type": "string", "maxLength": 1000, "description": "Why the last attempt failed (retried)"},
            "x-regflow-error": {"type": "string", "maxLength": 4000, "description": "Why it was parked"},
            "x-regflow-consumer": {
                "type": "string", "enum": list(CONSUMERS), "description": "The consumer that parked it"},
            "x-regflow-parked-at": {
                "type": "string", "format": "date-time", "description": "When it was parked (UTC)"},
            "x-regflow-replays": {
                "type": "array", "items": {"type": "string"},
                "description": "One line per replay from the dead-letter queue: when, and the error it had been "
                               "parked for"},
            "x-death": {
                "type": "array", "items": {"type": "object"},
                "description": "Set by RabbitMQ when the message dead-letters (each return from a retry queue), "
                               "with `x-first-death-*` and `x-last-death-*`"},
        },
        "additionalProperties": True,
    }


def amqp_properties() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The AMQP basic properties of every message (workflow/messaging/broker.py "
                       "`properties_for`), copied when a consumer retries or parks it, and kept by a replay from a "
                       "dead-letter queue "
                       "(only the error and attempt headers are reset).",
        "properties": {
            "content_type": {"const": "application/json"},
            "delivery_mode": {"const": 2, "description": "Persistent"},
            "message_id": {
                "type": "string", "format": "uuid",
                "description": "The envelope's `event_id`: a consumer handles a message id once (its inbox)"},
            "correlation_id": {"type": "string", "format": "uuid",
                               "description": "The envelope's `correlation_id`"},
            "type": {"type": "string", "description": "The envelope's `type`, also the routing key"},
            "timestamp": {"type": "integer", "description": "The envelope's `occurred_at`, in Unix seconds"},
            "app_id": {"type": "string", "description": "The envelope's `producer`"},
            "expiration": {
                "type": "string", "pattern": "^[0-9]+$",
                "description": "In a retry queue only: milliseconds before RabbitMQ returns it to the work queue"},
            "headers": {"$ref": SCHEMAS + "AmqpHeaders"},
        },
        "required": ["content_type", "delivery_mode", "message_id", "type", "headers"],
        "additionalProperties": False,
    }


def queue_binding(name: str) -> dict[str, Any]:
    return {"amqp": {"is": "queue", "queue": {"name": name, "durable": True, "exclusive": False,
                                              "autoDelete": False},
                     "bindingVersion": AMQP_BINDING_VERSION}}


def publish_binding(*, mandatory: bool) -> dict[str, Any]:
    return {"amqp": {"deliveryMode": 2, "mandatory": mandatory, "timestamp": True,
                     "bindingVersion": AMQP_BINDING_VERSION}}


def servers() -> dict[str, Any]:
    config = ("Host, virtual host and credentials come from configuration, `REGFLOW_BROKER_URL` (`{scheme}://user:"
              "password@host:{port}/vhost`, URL-encoded: `%2F` is the default vhost `/`); each process has its own "
              "RabbitMQ user, allowed on its own queues only (`regflow broker-users`).")

    def variables() -> dict[str, Any]:
        return {
            "host": {"description": "The broker's host name, from `REGFLOW_BROKER_URL`"},
            "vhost": {"default": "%2F", "description": "The URL-encoded virtual host, from `REGFLOW_BROKER_URL`"},
        }

    return {
        "production": {
            "host": "{host}:5672", "pathname": "/{vhost}", "protocol": "amqp", "protocolVersion": "0.9.1",
            "title": "RabbitMQ (AMQP)",
            "description": "RabbitMQ without TLS, inside a private network. "
                           + config.format(scheme="amqp", port=5672),
            "variables": variables(),
            "security": [{"$ref": "#/components/securitySchemes/userPassword"}],
        },
        "productionTls": {
            "host": "{host}:5671", "pathname": "/{vhost}", "protocol": "amqps", "protocolVersion": "0.9.1",
            "title": "RabbitMQ (AMQP over TLS)",
            "description": "RabbitMQ over TLS: the broker's certificate and host name are verified; `?cafile=` in "
                           "the URL names a private CA, `?certfile=&keyfile=` a client certificate. "
                           + config.format(scheme="amqps", port=5671),
            "variables": variables(),
            "security": [{"$ref": "#/components/securitySchemes/userPassword"},
                         {"$ref": "#/components/securitySchemes/clientCertificate"}],
        },
    }


def info(topology: Topology) -> dict[str, Any]:
    senders = "\n".join(f"  - {s.team} (producer {s.producer}): {', '.join(f'`{c}`' for c in s.commands)};"
                        for s in SENDERS)
    consumers = ", ".join(f"`{c}`" for c in CONSUMERS)
    return {
        "title": "regflow message bus",
        "version": version("regflow"),
        "description": (
            "The messages of the regflow registration back office, an event-driven workflow over RabbitMQ, and "
            "who publishes and reads them.\n\n"
            "Who publishes what:\n\n"
            f"- **Commands** (`cmd.*`) ask for something. The upstream teams publish them with "
            f"`producers.commands.CommandClient`, persistent and `mandatory`, confirmed by the broker (a command "
            f"no queue takes is refused at the source):\n{senders}\n"
            f"- **Events** are facts, named in the past tense. The consumers ({consumers}) write them to their "
            f"transactional outbox with the effects that caused them; the outbox relay (`regflow relay`) "
            f"publishes them, persistent, at least once: a consumer handles a message id once.\n\n"
            f"Every message is a JSON envelope (`Envelope`, `schema_version` {SCHEMA_VERSION}) whose `type` is "
            f"also its routing key and whose `payload` follows the message's own schema. A consumer parks in "
            f"its dead-letter queue what it cannot handle, with the reason in the headers.\n\n"
            f"Exchange and queue names are those of the default namespace `{topology.namespace}`; "
            f"`REGFLOW_NAMESPACE` prefixes them all."),
    }
