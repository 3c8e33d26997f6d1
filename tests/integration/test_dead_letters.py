"""Operations inspect, replay and purge parked messages; a replay after the fix completes the work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from producers.commands import CommandClient
from schemas.form import RegistrationForm, Signature, SignatureMethod
from schemas.messages import Envelope
from tests.conftest import RunningConsumers, load_form, wait_until
from workflow.bootstrap import Deps
from workflow.messaging.broker import Publisher, properties_for
from workflow.messaging.dead_letters import DeadLetters
from workflow.persistence.decisions import wait_for_decision
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.integration
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)


def regflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGFLOW_BROKER_URL": settings.broker_url, "REGFLOW_NAMESPACE": settings.namespace,
           "REGFLOW_DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=env, capture_output=True, text=True,
                          check=False, timeout=60)


def test_a_signature_for_no_registration_is_refused_with_a_decision_not_parked(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    """A "no" is an answer: after its retries (the form may be in flight) the command is refused, recorded and
    acknowledged; nothing waits in a dead-letter queue for an operator."""
    with CommandClient(settings) as client:
        sent = client.record_signature("late-sig", Signature(
            place="Lyon", signed_on=date(2023, 9, 1), signatory="M. B", method=SignatureMethod.ELECTRONIC,
            electronic_reference="YS"))
    decision = wait_for_decision(deps.sessions, str(sent.event_id), 60)
    assert decision is not None
    assert (decision.outcome, decision.command_type) == ("refused", "cmd.registration.sign")
    assert decision.reason_fr == "Aucune inscription late-sig : demande « sign » refusée."
    assert "no such registration" in (decision.reason_en or "")
    assert DeadLetters(settings.broker_url, deps.topology).parked("validation") == []


def test_a_parked_signature_is_listed_then_replayed_once_the_form_exists(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    """A command parked by a technical failure (its attempts spent) is listed, then replayed once the cause is
    fixed, and completes the work."""
    letters = DeadLetters(settings.broker_url, deps.topology)
    envelope = Envelope(type="cmd.registration.sign", occurred_at=datetime(2023, 9, 1, 8, tzinfo=UTC),
                        registration_id="late-sig", correlation_id=uuid4(), producer="intake",
                        payload={"signature": {"place": "Lyon", "signed_on": "2023-09-01", "signatory": "M. B",
                                               "method": "electronic", "electronic_reference": "YS"}})
    headers = {"x-regflow-error": f"gave up after {settings.max_attempts} attempts: database: permission denied",
               "x-regflow-attempt": settings.max_attempts, "x-regflow-consumer": "validation",
               "x-regflow-routing-key": "cmd.registration.sign"}
    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish_raw("validation", envelope.model_dump_json().encode(),
                              properties_for(envelope, headers), mandatory=True,
                              exchange=deps.topology.dead_letter_exchange)
    parked = wait_until(lambda: letters.parked("validation"), "the signature to be parked")
    listed = json.loads(regflow(settings, "dead-letters", "list", "--json").stdout)
    assert [(r["consumer"], r["type"], r["registration_id"], r["attempts"]) for r in listed] == [
        ("validation", "cmd.registration.sign", "late-sig", settings.max_attempts)]
    assert listed[0]["error"].startswith(f"gave up after {settings.max_attempts} attempts: database")
    assert letters.parked("validation") == parked, "listing does not consume"

    with CommandClient(settings) as client:  # the fix: the form arrives
        client.submit_form(RegistrationForm.model_validate(load_form("aide-domicile-association-unsigned.json")),
                           "late-sig")
    wait_until(lambda: (v := registration_timeline(deps.sessions, "late-sig")) and v["state"] == "received",
               "the form")
    replay = regflow(settings, "dead-letters", "replay", str(parked[0].message_id))
    assert replay.stdout.strip() == "1 message(s) sent back to their work queue"
    wait_until(lambda: (v := registration_timeline(deps.sessions, "late-sig")) and v["state"] == "invoiced",
               "the replayed signature to bring the registration to invoiced")
    assert letters.parked("validation") == []


def test_purge_asks_for_confirmation(settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    import pika

    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish_raw("cmd.payment.record", b"garbage", pika.BasicProperties(), mandatory=True)
    letters = DeadLetters(settings.broker_url, deps.topology)
    wait_until(lambda: letters.parked("payments"), "the garbage to be parked")
    refused = regflow(settings, "dead-letters", "purge", "--consumer", "payments")
    assert refused.returncode == 1
    assert "nothing purged" in refused.stdout
    assert len(letters.parked("payments")) == 1
    assert regflow(settings, "dead-letters", "purge", "--consumer", "payments", "--yes").stdout.strip() == (
        "1 message(s) purged")
    assert letters.parked("payments") == []


def test_a_replayed_message_keeps_its_correlation_id_timestamp_and_producer(settings: Settings, deps: Deps) -> None:
    """Only the error and attempt headers are reset: the registration's correlation id (its story across
    messages), the publication time (the age `regflow status` shows) and the producer travel on."""
    import pika

    parked = pika.BasicProperties(
        content_type="application/json", delivery_mode=2, message_id="m-1", type="cmd.registration.sign",
        correlation_id="c-42", timestamp=1694505600, app_id="intake",
        headers={"x-regflow-error": "gave up", "x-regflow-attempt": 5,
                 "x-regflow-routing-key": "cmd.registration.sign"})
    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish_raw("validation", b'{"registration_id": "r-1"}', parked, mandatory=True,
                              exchange=deps.topology.dead_letter_exchange)
    letters = DeadLetters(settings.broker_url, deps.topology)
    wait_until(lambda: letters.parked("validation"), "the message parked")
    assert [m.message_id for m in letters.replay("validation", lambda m: True)] == ["m-1"]

    with Publisher(settings.broker_url, deps.topology) as publisher:
        method, properties, body = publisher.channel.basic_get(deps.topology.work_queue("validation"), auto_ack=True)
    assert method is not None
    assert (properties.message_id, properties.type, properties.correlation_id, properties.timestamp,
            properties.app_id) == ("m-1", "cmd.registration.sign", "c-42", 1694505600, "intake")
    assert "x-regflow-error" not in properties.headers
    assert "x-regflow-attempt" not in properties.headers
    assert len(properties.headers["x-regflow-replays"]) == 1
    assert body == b'{"registration_id": "r-1"}'
