"""An outbox row the broker cannot take is set aside with its reason; the rows behind it are published."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import select

from schemas.messages import Envelope
from tests.conftest import EventTap, wait_until
from tests.rabbitmqctl import rabbitmqctl
from workflow.bootstrap import Deps
from workflow.messaging.broker import Publisher
from workflow.messaging.relay import relay_once
from workflow.ops.status import collect_status, format_status
from workflow.persistence.orm import OutboxRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration


def outbox_row(registration_id: str, reason: str) -> OutboxRow:
    now = datetime.now(UTC)
    envelope = Envelope(type="registration.rejected", occurred_at=now, registration_id=registration_id,
                        correlation_id=uuid4(), producer="validation",
                        payload={"from_state": "received", "to_state": "rejected", "trigger": "reject",
                                 "reason": reason, "errors": []})
    return OutboxRow(event_id=str(envelope.event_id), routing_key=envelope.type, registration_id=registration_id,
                     body=envelope.model_dump_json(), created_at=now)


def test_a_row_too_large_or_unreadable_is_set_aside_and_the_rows_behind_are_published(
        settings: Settings, deps: Deps, tap: EventTap) -> None:
    with deps.sessions() as session:
        session.add_all([outbox_row("before", "ok"), outbox_row("huge", "x" * (settings.max_message_bytes + 1)),
                         outbox_row("after", "ok")])
        broken = outbox_row("broken", "ok")
        broken.body = broken.body.replace('"type"', '"tipe"')
        session.add(broken)
        session.add(outbox_row("last", "ok"))
        session.commit()
    with Publisher(settings.broker_url, deps.topology) as publisher:
        published = relay_once(deps.sessions, publisher, deps.clock, max_bytes=settings.max_message_bytes)
        assert relay_once(deps.sessions, publisher, deps.clock, max_bytes=settings.max_message_bytes) == 0
    assert published == 3
    wait_until(lambda: len(tap.types_for("before") + tap.types_for("after") + tap.types_for("last")) == 3,
               "the rows around the bad ones")
    with deps.sessions() as session:
        aside = {r.registration_id: r.set_aside_reason for r in session.scalars(
            select(OutboxRow).where(OutboxRow.set_aside_at.is_not(None)))}
    assert set(aside) == {"huge", "broken"}
    assert f"over the limit of {settings.max_message_bytes}" in (aside["huge"] or "")
    assert "unreadable envelope" in (aside["broken"] or "")

    status = collect_status(settings)
    assert status["ok"] is False
    assert [r["registration_id"] for r in status["outbox"]["set_aside"]] == ["broken", "huge"]
    assert any("2 outbox event(s) set aside" in p for p in status["problems"])
    assert "set aside #" in format_status(status)


def test_a_batch_is_published_on_one_stream_of_confirms_in_order_and_each_row_marked_once(
        settings: Settings, deps: Deps, tap: EventTap) -> None:
    with deps.sessions() as session:
        session.add_all([outbox_row(f"r-{n:03}", "ok") for n in range(300)])
        session.commit()
    with Publisher(settings.broker_url, deps.topology) as publisher:
        assert relay_once(deps.sessions, publisher, deps.clock, batch=250) == 250
        assert relay_once(deps.sessions, publisher, deps.clock, batch=250) == 50
        assert relay_once(deps.sessions, publisher, deps.clock, batch=250) == 0
    seen = wait_until(lambda: len(tap.drain()) >= 300 and tap.seen, "the 300 events on the bus")
    assert [e["registration_id"] for e in seen] == [f"r-{n:03}" for n in range(300)]
    with deps.sessions() as session:
        assert session.scalars(select(OutboxRow).where(OutboxRow.published_at.is_(None))).all() == []


@pytest.fixture
def broker_limit_of_512_kb() -> Iterator[None]:
    """The local broker's max_message_size lowered to 512 KiB for the test (read when a channel opens)."""
    if shutil.which("rabbitmqctl") is None:
        if os.environ.get("CI"):
            pytest.fail("CI runs the local RabbitMQ: rabbitmqctl must be there")
        pytest.skip("no local rabbitmqctl to lower the broker's max_message_size")

    def set_limit(value: int) -> None:
        subprocess.run(rabbitmqctl("-q", "eval", f"application:set_env(rabbit, max_message_size, {value})."),
                       check=True, capture_output=True, timeout=30)

    set_limit(512 * 1024)
    try:
        yield
    finally:
        set_limit(128 * 1024 * 1024)  # RabbitMQ's default


@pytest.mark.serial  # the limit is the whole broker's: a test running meanwhile would see it
@pytest.mark.usefixtures("broker_limit_of_512_kb")
def test_a_row_the_broker_refuses_is_set_aside_and_the_channel_reopened(
        settings: Settings, deps: Deps, tap: EventTap) -> None:
    """Over the broker's own limit (its max_message_size) the broker closes the channel: the row is set aside
    with the broker's words, the relay opens a new channel and goes on."""
    with deps.sessions() as session:
        session.add_all([outbox_row("refused", "x" * 600_000), outbox_row("after-refusal", "ok")])
        session.commit()
    with Publisher(settings.broker_url, deps.topology) as publisher:
        published = relay_once(deps.sessions, publisher, deps.clock, max_bytes=10**9)
    assert published == 1
    wait_until(lambda: tap.types_for("after-refusal"), "the row behind the refused one")
    with deps.sessions() as session:
        refused = session.scalars(select(OutboxRow).where(OutboxRow.registration_id == "refused")).one()
    assert (refused.set_aside_reason or "").startswith("refused by the broker: 406")
