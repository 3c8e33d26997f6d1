"""Bad messages, duplicates and illegal transitions against the running consumers (real processes)."""

from __future__ import annotations

import json
from datetime import date
from uuid import uuid4

import pika
import pytest
from sqlalchemy import select

from producers.commands import CommandClient
from schemas.form import RegistrationForm, Signature, SignatureMethod
from schemas.messages import Envelope, SubmitRegistration
from tests.conftest import RunningConsumers, dead_letters, load_form, wait_until
from workflow.bootstrap import Deps
from workflow.messaging.broker import Publisher
from workflow.persistence.decisions import wait_for_decision
from workflow.persistence.orm import HistoryRow, RegistrationRow
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.integration
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)


def publish_raw(settings: Settings, deps: Deps, routing_key: str, body: bytes) -> None:
    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish_raw(routing_key, body, pika.BasicProperties(delivery_mode=2), mandatory=True)


def parked_errors(settings: Settings, consumer: str) -> list[str]:
    return [str((p.headers or {}).get("x-regflow-error")) for p, _ in dead_letters(settings, consumer)]


def test_garbage_is_parked_with_its_reason_and_the_consumer_goes_on(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    publish_raw(settings, deps, "cmd.registration.submit", b"{not json")
    publish_raw(settings, deps, "cmd.registration.submit", json.dumps({
        "type": "cmd.registration.submit", "schema_version": 9, "occurred_at": "2023-09-01T08:00:00Z",
        "registration_id": "x", "correlation_id": str(uuid4()), "producer": "t", "payload": {}}).encode())
    publish_raw(settings, deps, "cmd.registration.submit", json.dumps({
        "type": "cmd.registration.submit", "occurred_at": "2023-09-01T08:00:00Z", "registration_id": "x",
        "correlation_id": str(uuid4()), "producer": "t", "payload": {"form": {"participants": "three"}}}
    ).encode())
    errors = wait_until(lambda: len(parked_errors(settings, "validation")) == 3
                        and parked_errors(settings, "validation"), "three parked messages")
    assert errors[0].startswith("malformed: not a valid envelope: (root): Invalid JSON")
    assert "unsupported schema_version 9" in errors[1]
    assert "payload breaks the cmd.registration.submit schema: form.participants" in errors[2]
    # still alive: a good form goes through afterwards
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "ok-1")
    wait_until(lambda: (v := registration_timeline(deps.sessions, "ok-1")) and v["state"] == "invoiced",
               "the good form to be invoiced")


def test_a_message_delivered_twice_has_one_effect(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    envelope = Envelope(type="cmd.registration.submit", occurred_at=deps.clock.now(), registration_id="dup-1",
                        correlation_id=uuid4(), producer="test",
                        payload=SubmitRegistration(form=form).model_dump(mode="json"))
    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish(envelope, mandatory=True)
        publisher.publish(envelope, mandatory=True)
    wait_until(lambda: (v := registration_timeline(deps.sessions, "dup-1")) and len(v["emails"]) == 4,
               "invoiced, with its four e-mails")
    with Publisher(settings.broker_url, deps.topology) as publisher:  # once more, after it was handled
        publisher.publish(envelope, mandatory=True)
    wait_until(lambda: "duplicate message" in consumers.logs("validation"), "the duplicate to be seen")
    view = registration_timeline(deps.sessions, "dup-1")
    assert view is not None
    assert [h["trigger"] for h in view["history"]] == ["submit", "sign", "confirm", "invoice"]
    assert view["invoice"]["number"] == "2023-000001"
    assert len(view["emails"]) == 4


def test_an_illegal_transition_is_refused_recorded_and_answered_not_parked(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "ill-1")
        wait_until(lambda: (v := registration_timeline(deps.sessions, "ill-1")) and v["state"] == "invoiced",
                   "invoiced")
        sent = client.record_signature("ill-1", Signature(place="Créteil", signed_on=date(2023, 8, 30),
                                                          signatory="S. MARTIN", method=SignatureMethod.STAMP))
    decision = wait_for_decision(deps.sessions, str(sent.event_id), 30)
    assert decision is not None
    assert (decision.outcome, decision.reason_en) == (
        "refused", "registration ill-1: 'sign' is not allowed in state 'invoiced'")
    assert decision.reason_fr == "L'inscription ill-1 est dans l'état « invoiced » : « sign » n'y est pas permis."
    assert parked_errors(settings, "validation") == []
    with deps.sessions() as session:
        refused = session.scalars(select(HistoryRow).where(HistoryRow.outcome == "refused")).one()
        state = session.scalars(select(RegistrationRow.state).where(RegistrationRow.id == "ill-1")).one()
    assert (refused.registration_id, refused.trigger, refused.from_state) == (
        "ill-1", "cmd.registration.sign", "invoiced")
    assert state == "invoiced"


def test_a_signature_for_a_form_still_in_flight_is_retried_until_the_form_arrives(
        settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    unsigned = RegistrationForm.model_validate(load_form("aide-domicile-association-unsigned.json"))
    with CommandClient(settings) as client:
        client.record_signature("late-1", Signature(place="Lyon", signed_on=date(2023, 9, 1),
                                                    signatory="M. B", method=SignatureMethod.STAMP))
        wait_until(lambda: "message retried" in consumers.logs("validation"), "a retry")
        client.submit_form(unsigned, "late-1")
    wait_until(lambda: (v := registration_timeline(deps.sessions, "late-1")) and v["state"] == "invoiced",
               "the signature to apply once the form exists")
    assert parked_errors(settings, "validation") == []
