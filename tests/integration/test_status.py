"""`regflow status` over the real broker and database: parked messages, a waiting message's age, consumers
missing, the outbox backlog, and registrations stuck (or legitimately waiting)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import uuid4

import pika
import pytest

from regflow.cli import main
from schemas.messages import Envelope
from tests.conftest import dead_letters, load_form, wait_until
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.messaging.broker import PERSISTENT, Publisher, connect
from workflow.ops.status import collect_status, format_status
from workflow.persistence.orm import OutboxRow, RegistrationRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration

NOW = datetime(2023, 9, 20, 10, tzinfo=PARIS)  # five days after the "Handicap" session of 15 September 2023


def add_registration(deps: Deps, registration_id: str, state: str, last_change: datetime) -> None:
    form = load_form("handicap-departement.json")
    with deps.sessions() as session, session.begin():
        session.add(RegistrationRow(
            id=registration_id, state=state, version=1, training_id=form["training_id"],
            session_id=form["session_id"], client_name="Département du Val-de-Marne", client_is_public=True,
            form=form, errors=[], warnings=[], created_at=last_change, updated_at=last_change))


@pytest.fixture
def troubled(settings: Settings, deps: Deps, clock: FileClock) -> Settings:
    """A workflow with one of each trouble, and no consumer running."""
    clock.set(NOW)
    with Publisher(settings.broker_url, deps.topology) as publisher:
        publisher.publish_raw("validation", b'{"not": "an envelope"}', pika.BasicProperties(
            delivery_mode=PERSISTENT, headers={"x-regflow-error": "malformed: test"}), mandatory=True,
            exchange=deps.topology.dead_letter_exchange)
        publisher.publish(Envelope(type="cmd.session.hold", occurred_at=NOW - timedelta(minutes=5),
                                   correlation_id=uuid4(), producer="test",
                                   payload={"session_id": "cpom-handicap-2023-09-15", "held_on": "2023-09-15"}),
                          mandatory=True)
    add_registration(deps, "stuck-confirmed", "confirmed", NOW - timedelta(hours=1))  # invoicing never ran
    add_registration(deps, "fresh-confirmed", "confirmed", NOW - timedelta(minutes=2))  # invoicing has time
    add_registration(deps, "unsigned", "received", NOW - timedelta(days=10))  # waits for the client: not stuck
    add_registration(deps, "no-service-fait", "invoiced", NOW - timedelta(days=12))  # session ended 5 days ago
    with deps.sessions() as session, session.begin():
        session.add(OutboxRow(event_id=str(uuid4()), routing_key="registration.confirmed",
                              registration_id="stuck-confirmed", body="{}", created_at=NOW - timedelta(minutes=30)))
    return settings


def test_status_reports_parked_messages_stuck_registrations_and_missing_consumers(
        troubled: Settings, deps: Deps) -> None:
    status = collect_status(troubled)

    assert status["ok"] is False
    assert (status["broker"], status["database"]) == ("up", "up")
    queues = {row["consumer"]: row for row in status["queues"]}
    assert status["dead_letters"] == 1
    assert queues["validation"]["dead_letter"]["messages"] == 1
    payments = queues["payments"]["work"]
    assert (payments["messages"], payments["consumers"]) == (1, 0)
    assert payments["oldest_age_seconds"] == pytest.approx(300, abs=2)  # the clock's now minus its timestamp
    assert queues["invoicing"]["work"]["oldest_age_seconds"] is None  # empty queue
    assert status["outbox"] == {"backlog": 1, "oldest_age_seconds": 1800.0, "set_aside": []}

    stuck = {r["registration_id"]: r for r in status["stuck"]}
    assert sorted(stuck) == ["no-service-fait", "stuck-confirmed"]
    assert stuck["stuck-confirmed"]["for_seconds"] == 3600
    assert stuck["no-service-fait"]["measured_from"] == "session_end"
    assert "hold-session" in stuck["no-service-fait"]["why"]

    problems = "\n".join(status["problems"])
    assert "1 message(s) parked for validation" in problems
    assert "no payments consumer connected" in problems
    assert "1 registration(s) stuck in confirmed" in problems
    assert "1 registration(s) stuck in invoiced" in problems
    assert "is `regflow relay` running?" in problems
    french = "\n".join(status["problems_fr"])  # the same problems, in the same order, for the French page
    assert len(status["problems_fr"]) == len(status["problems"])
    assert "1 message(s) mis de côté pour validation" in french
    assert "aucun consommateur payments connecté" in french
    assert "1 inscription(s) bloquée(s) à l'état confirmed" in french
    assert "`regflow relay` tourne-t-il ?" in french
    json.dumps(status)  # the page and --json serialise it as is

    text = format_status(status)
    assert "stuck-confirmed  confirmed for 1h00m since its last change (limit 10m00s)" in text
    assert "payments" in text
    assert "5m00s" in text  # the payments queue's oldest message

    # a peek, not a take: the message is still at the head of its queue, the parked one still parked
    connection = connect(troubled.broker_url)
    assert connection.channel().queue_declare(deps.topology.work_queue("payments"), passive=True
                                              ).method.message_count == 1
    connection.close()
    assert len(dead_letters(troubled, "validation")) == 1


def test_the_command_exits_1_with_problems_and_prints_json(
        troubled: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in {"REGFLOW_DATABASE_URL": troubled.database_url, "REGFLOW_BROKER_URL": troubled.broker_url,
                        "REGFLOW_NAMESPACE": troubled.namespace, "REGFLOW_CLOCK": troubled.clock,
                        "REGFLOW_LOG_FORMAT": "json"}.items():
        monkeypatch.setenv(name, value)

    assert main(["status", "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["dead_letters"] == 1
    assert sorted(r["registration_id"] for r in printed["stuck"]) == ["no-service-fait", "stuck-confirmed"]

    assert main(["status"]) == 1
    assert "problems:" in capsys.readouterr().out


def test_the_peek_gives_the_head_back_at_once_in_its_place(settings: Settings, deps: Deps) -> None:
    """`status` reads the age of a queue's oldest message and gives the message back immediately (nack with
    requeue), while its connection is still open: not held until the end of the check, and still first."""
    from workflow.ops.status import _head_age

    queue = deps.topology.work_queue("payments")
    with Publisher(settings.broker_url, deps.topology) as publisher:
        for number in (1, 2):
            publisher.publish_raw(queue, f"message {number}".encode(), pika.BasicProperties(
                delivery_mode=PERSISTENT, timestamp=int(NOW.timestamp()) - 60 * number), mandatory=True,
                exchange="")
        age = _head_age(publisher.channel, queue, NOW)
        assert age == 60.0, "the first message published, one minute old"
        # The broker applies a nack asynchronously: within a moment, and with the peeking channel still open.
        wait_until(lambda: publisher.channel.queue_declare(queue, passive=True).method.message_count == 2,
                   "the peeked message ready again", timeout=5)
        method, _, body = publisher.channel.basic_get(queue, auto_ack=True)
        assert method is not None
        assert body == b"message 1", "it kept its place at the head"
