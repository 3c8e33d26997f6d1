"""docs/asyncapi.yaml is the contract the other teams integrate from: it must be what the code does.

Checked offline against the official AsyncAPI 3.0.0 JSON Schema (vendored in tests/data), and against
messages built by the project's own code paths: the command client and the outbox.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pika
import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy.orm import sessionmaker

from producers.commands import CommandClient
from schemas.form import Participant, RegistrationForm, Signature, SignatureMethod
from schemas.messages import COMMANDS, EVENTS, MESSAGE_TYPES, Envelope, InvoiceIssued, RuleViolation
from workflow.adapters.clocks import FixedClock
from workflow.domain.clock import PARIS
from workflow.domain.registration import Registration
from workflow.messaging.asyncapi import build_asyncapi
from workflow.messaging.broker import Publisher, properties_for
from workflow.messaging.topology import CONSUMER_BINDINGS, CONSUMERS, Topology
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

ROOT = Path(__file__).parent.parent.parent
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
ASYNCAPI_SCHEMA = ROOT / "tests" / "data" / "asyncapi-3.0.0.json"
DOCUMENT_URI = "https://regflow.invalid/asyncapi.yaml"
FORM = RegistrationForm.model_validate_json(
    (ROOT / "tests" / "forms" / "valid" / "handicap-departement.json").read_text(encoding="utf-8"))
AT = datetime(2023, 9, 1, 10, tzinfo=PARIS)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def _offline(uri: str) -> Resource[Any]:
    raise LookupError(f"{uri} is not vendored: the tests do not go on the network")


def _asyncapi_validator() -> Draft7Validator:
    """The vendored bundle holds every AsyncAPI definition under its own `$id`; the draft-07 meta-schema it
    refers to ships with jsonschema. Anything else would be a network fetch, refused."""
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry(retrieve=_offline).with_resource(schema["$id"], DRAFT7.create_resource(schema))
    return Draft7Validator(schema, registry=registry)


def _schema_validator(document: dict[str, Any], pointer: str) -> Draft7Validator:
    """A validator for one schema of the document, its `#/components/...` references resolved in the document."""
    registry: Registry[Any] = Registry(retrieve=_offline).with_resource(
        DOCUMENT_URI, DRAFT7.create_resource(document))
    return Draft7Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry,
                           format_checker=Draft7Validator.FORMAT_CHECKER)


def _errors(validator: Draft7Validator, instance: object) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(instance)]


def _properties(properties: pika.BasicProperties) -> dict[str, Any]:
    return {name: value for name, value in vars(properties).items() if value is not None}


def _walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _resolve(document: dict[str, Any], reference: str) -> object:
    node: object = document
    for part in reference.removeprefix("#/").split("/"):
        assert isinstance(node, dict), f"{reference} does not resolve"
        assert part in node, f"{reference} does not resolve"
        node = node[part]
    return node


def _channel_messages(document: dict[str, Any], address: str) -> set[str]:
    [channel] = [c for c in document["channels"].values() if c["address"] == address]
    return set(channel["messages"])


def _operation_messages(operation: dict[str, Any]) -> set[str]:
    return {ref["$ref"].rsplit("/", 1)[-1] for ref in operation["messages"]}


# --- (a) in sync, (b) valid AsyncAPI 3.0.0 ---------------------------------------------------------------


def test_the_checked_in_document_is_the_generated_one(document: dict[str, Any]) -> None:
    assert document == build_asyncapi(), "docs/asyncapi.yaml is stale: run python -m workflow.messaging.asyncapi"


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert _errors(_asyncapi_validator(), document) == []


def test_the_asyncapi_schema_does_catch_a_broken_document(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    broken["operations"]["relayPublishesEvents"]["action"] = "publish"  # AsyncAPI 2 wording
    broken["channels"]["exchange"]["bindings"]["amqp"]["is"] = "exchange"
    assert len(_errors(_asyncapi_validator(), broken)) >= 2


def test_every_internal_reference_resolves(document: dict[str, Any]) -> None:
    references = [node["$ref"] for node in _walk(document) if isinstance(node.get("$ref"), str)]
    assert references
    for reference in references:
        assert reference.startswith("#/"), reference
        _resolve(document, reference)


# --- (c) derived from the code: a message, a binding or a queue without documentation fails -------------


def test_every_message_type_is_a_message_with_its_model_as_payload(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    assert set(messages) == set(MESSAGE_TYPES)
    for routing_key, model in MESSAGE_TYPES.items():
        envelope, specific = messages[routing_key]["payload"]["allOf"]
        assert envelope == {"$ref": "#/components/schemas/Envelope"}
        assert specific["properties"]["type"] == {"const": routing_key}
        assert specific["properties"]["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert messages[routing_key]["bindings"]["amqp"]["messageType"] == routing_key
    assert set(_channel_messages(document, "{routingKey}")) == set(MESSAGE_TYPES)


def test_every_bound_routing_key_is_a_message_of_the_exchange_and_of_its_queues(document: dict[str, Any]) -> None:
    topology = Topology(Settings.model_fields["namespace"].default)
    exchange = document["channels"]["exchange"]
    assert exchange["bindings"]["amqp"]["exchange"]["name"] == topology.exchange
    for consumer, keys in CONSUMER_BINDINGS.items():
        assert set(keys) <= set(exchange["messages"])
        for queue in (topology.work_queue(consumer), topology.retry_queue(consumer),
                      topology.dead_letter_queue(consumer)):
            assert _channel_messages(document, queue) == set(keys), queue


def test_every_queue_of_the_topology_is_a_queue_channel(document: dict[str, Any]) -> None:
    topology = Topology(Settings.model_fields["namespace"].default)
    queues = {channel["address"]: channel["bindings"]["amqp"] for channel in document["channels"].values()
              if channel["bindings"]["amqp"]["is"] == "queue"}
    assert set(queues) == set(topology.all_queues())
    for name, binding in queues.items():
        assert binding["queue"]["name"] == name


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_each_consumer_receives_on_its_queue_what_it_handles(document: dict[str, Any], consumer: str) -> None:
    app = importlib.import_module(f"consumers.{consumer}").APP
    receives = [op for op in document["operations"].values()
                if op["action"] == "receive" and op["channel"]["$ref"] == f"#/channels/{consumer}Queue"]
    assert len(receives) == 1
    assert _operation_messages(receives[0]) == set(app.handlers)


def test_every_command_has_one_sending_team_and_the_relay_sends_every_event(document: dict[str, Any]) -> None:
    exchange_sends = [op for op in document["operations"].values()
                      if op["action"] == "send" and op["channel"]["$ref"] == "#/channels/exchange"]
    commands = [key for op in exchange_sends if op["bindings"]["amqp"]["mandatory"]
                for key in _operation_messages(op)]
    events = [key for op in exchange_sends if not op["bindings"]["amqp"]["mandatory"]
              for key in _operation_messages(op)]
    assert sorted(commands) == sorted(COMMANDS)
    assert sorted(events) == sorted(EVENTS)


# --- (d) real messages, built by the project's code, match the document ------------------------------------


Send = Callable[[CommandClient], Envelope]
COMMAND_SENDS: dict[str, Send] = {
    "cmd.registration.submit": lambda client: client.submit_form(FORM),
    "cmd.registration.sign": lambda client: client.record_signature("r-1", Signature(
        place="Créteil", signed_on=date(2023, 8, 28), signatory="Sophie MARTIN", method=SignatureMethod.STAMP)),
    "cmd.session.hold": lambda client: client.hold_session("s-1", date(2023, 9, 15), ["a@example.org"],
                                                           requested_by="Claire"),
    "cmd.payment.record": lambda client: client.record_payment(
        payment_id="bank-42", invoice_number="2023-000001", amount=Decimal("1190.00"),
        received_on=date(2023, 10, 2), means="cheque"),
    "cmd.registration.replace_participant": lambda client: client.replace_participant(
        "r-1", "old@example.org", Participant(civilite="Mme", first_name="Anne", last_name="Durand",
                                              email="anne.durand@example.org"), requested_by="support"),
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes, pika.BasicProperties]]:
    """What `Publisher.publish` hands to the channel, without a broker."""
    published: list[tuple[str, bytes, pika.BasicProperties]] = []

    def publish_raw(self: Publisher, routing_key: str, body: bytes, properties: pika.BasicProperties, *,
                    mandatory: bool, exchange: str | None = None) -> None:
        published.append((routing_key, body, properties))

    monkeypatch.setattr(Publisher, "publish_raw", publish_raw)
    return published


@pytest.mark.parametrize("routing_key", sorted(COMMAND_SENDS))
def test_a_command_sent_by_the_command_client_matches_its_message(
        document: dict[str, Any], sent: list[tuple[str, bytes, pika.BasicProperties]], routing_key: str) -> None:
    client = CommandClient(Settings(), producer="finance", clock=FixedClock(AT))
    COMMAND_SENDS[routing_key](client)
    [(key, body, properties)] = sent
    assert key == routing_key
    payload = _schema_validator(document, f"/components/messages/{routing_key}/payload")
    assert _errors(payload, json.loads(body)) == []
    amqp = _schema_validator(document, "/components/schemas/AmqpProperties")
    assert _errors(amqp, _properties(properties)) == []


def _outbox_bodies() -> list[tuple[str, str]]:
    """Events as the outbox stores them for the relay: the domain model's events, enveloped by the unit of
    work (its `_outbox_row` is the one place events get their envelope)."""
    cause = Envelope(type="cmd.registration.submit", occurred_at=AT, correlation_id=uuid4(), producer="intake",
                     payload={})
    uow = UnitOfWork(sessionmaker(), FixedClock(AT), actor="validation", message=cause)
    registration = Registration.receive("r-1", FORM, at=AT, actor="validation", cause=cause.event_id)
    registration.sign(Signature(place="Créteil", signed_on=date(2023, 8, 28), signatory="Sophie MARTIN",
                                method=SignatureMethod.STAMP), at=AT, actor="validation", cause=None)
    registration.confirm(session_starts_at=datetime(2023, 9, 15, 9, 30, tzinfo=PARIS), at=AT,
                         actor="validation", cause=None)
    registration.invoice(InvoiceIssued(invoice_number="2023-000001", issued_on=date(2023, 9, 1),
                                       total=Decimal("1190.00"), due_on=date(2023, 10, 1)),
                         at=AT, actor="invoicing", cause=None)
    rejected = Registration.receive("r-2", FORM, at=AT, actor="validation", cause=None)
    rejected.reject([RuleViolation(rule="siret_luhn", field="client.siret", message_fr="SIRET invalide",
                                   message_en="invalid SIRET")], at=AT, actor="validation", cause=None)
    events = [(r.id, e) for r in (registration, rejected) for e in r.events]
    return [(event.type, uow._outbox_row(registration_id, event)["body"]) for registration_id, event in events]


def test_events_written_to_the_outbox_match_their_messages(document: dict[str, Any]) -> None:
    bodies = _outbox_bodies()
    assert {key for key, _ in bodies} >= {"registration.received", "registration.confirmed", "invoice.issued",
                                         "registration.invoiced", "registration.rejected"}
    amqp = _schema_validator(document, "/components/schemas/AmqpProperties")
    for routing_key, body in bodies:
        payload = _schema_validator(document, f"/components/messages/{routing_key}/payload")
        assert _errors(payload, json.loads(body)) == [], routing_key
        assert _errors(amqp, _properties(properties_for(Envelope.model_validate_json(body)))) == []


def test_a_message_under_the_wrong_type_or_with_a_broken_payload_is_refused(
        document: dict[str, Any], sent: list[tuple[str, bytes, pika.BasicProperties]]) -> None:
    CommandClient(Settings(), clock=FixedClock(AT)).hold_session("s-1", date(2023, 9, 15))
    [(_, body, _)] = sent
    hold = json.loads(body)
    as_payment = _schema_validator(document, "/components/messages/cmd.payment.record/payload")
    assert _errors(as_payment, hold)
    broken = {**hold, "payload": {**hold["payload"], "held_on": "the 15th"}}
    assert _errors(_schema_validator(document, "/components/messages/cmd.session.hold/payload"), broken)
    assert _errors(_schema_validator(document, "/components/messages/cmd.session.hold/payload"), hold) == []


def test_the_retry_and_park_headers_a_consumer_sets_are_documented(document: dict[str, Any]) -> None:
    documented = set(document["components"]["schemas"]["AmqpHeaders"]["properties"])
    code = "".join((ROOT / path).read_text(encoding="utf-8") for path in ("consumers/runner.py",
                                                                            "workflow/messaging/dead_letters.py"))
    assert set(re.findall(r'"(x-regflow-[a-z-]+)"', code)) | {"x-death"} == documented
    parked = {"x-regflow-routing-key": "cmd.registration.submit", "x-regflow-attempt": 6, "x-regflow-error": "boom",
              "x-regflow-consumer": "validation", "x-regflow-parked-at": datetime.now(UTC).isoformat(),
              "x-regflow-last-error": "database: gone", "x-regflow-replays": ["2024-01-01T00:00:00+00:00 after: x"]}
    assert _errors(_schema_validator(document, "/components/schemas/AmqpHeaders"), parked) == []
