"""Service fait split into batches (`session.held_batch`), in memory: how a session is cut, what a batch carries,
and a batch that does not match the session record refused; a large session's attendance in parts
(`session.attendance`) that each fit in a message. Redelivery and rollback: the integration test
`test_service_fait_batches`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers import payments
from schemas.limits import (
    CATALOGUE_ID_MAX,
    MAX_ATTENDANCE_PART,
    MAX_REASON_LENGTH,
    REGISTRATION_ID_MAX,
    TRAINING_NAME_MAX,
)
from schemas.messages import (
    Envelope,
    HoldSession,
    ParticipantAttendance,
    PartPresence,
    SessionAttendance,
    SessionHeld,
    SessionHeldBatch,
)
from tests.unit.fakes import SETTINGS, Office
from workflow.domain.access_links import ACTIVE
from workflow.domain.clock import PARIS
from workflow.domain.errors import InconsistentMessageError
from workflow.domain.machine import State
from workflow.messaging.relay import DEFAULT_MAX_BYTES
from workflow.persistence.orm import ParticipantAccessRow

HANDICAP = "cpom-handicap-2023-09-15"
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)


def office_of(registrations: int, batch: int) -> Office:
    office = Office(payments.ACTOR, settings=SETTINGS.model_copy(update={"hold_batch_size": batch}))
    for n in range(1, registrations + 1):
        office.given(f"r-{n}", State.INVOICED)
    office.at(EVENING)
    return office


def hold(office: Office) -> None:
    office.handle(payments.handle_hold_session, "cmd.session.hold", HoldSession(
        session_id=HANDICAP, held_on=date(2023, 9, 15), requested_by="tom", reason="feuille perdue"))


def test_a_session_within_one_batch_is_held_by_the_command_alone() -> None:
    office = office_of(3, batch=3)
    hold(office)
    assert [office.registration(f"r-{n}").state for n in (1, 2, 3)] == [State.SESSION_HELD] * 3
    assert office.uow.events("session.held_batch") == []
    assert len(office.uow.events("session.held")) == 1


def test_the_rest_of_a_larger_session_goes_in_batches_that_say_what_each_history_will_name() -> None:
    office = office_of(5, batch=2)
    hold(office)

    assert [office.registration(f"r-{n}").state for n in range(1, 6)] == [State.SESSION_HELD] * 2 + [State.INVOICED] * 3
    batches = office.uow.events("session.held_batch")
    assert [(b.batch, b.batches, b.registration_ids) for b in batches] == [(1, 2, ["r-3", "r-4"]), (2, 2, ["r-5"])]
    assert {(b.evidence, b.requested_by) for b in batches} == {
        ("sans feuille d'émargement signée : feuille perdue", "tom")}

    for batch in batches:
        office.handle(payments.handle_session_held_batch, "session.held_batch", batch)
    assert [office.registration(f"r-{n}").state for n in range(1, 6)] == [State.SESSION_HELD] * 5
    assert office.uow.registrations.history["r-5"][-1].reason == (
        "service fait 2023-09-15 — sans feuille d'émargement signée : feuille perdue (applied by payments)")


def test_a_batch_of_a_session_not_recorded_as_held_is_refused_and_changes_nothing() -> None:
    office = office_of(1, batch=1)
    with pytest.raises(InconsistentMessageError):
        office.handle(payments.handle_session_held_batch, "session.held_batch", SessionHeldBatch(
            session_id=HANDICAP, held_on=date(2023, 9, 15), batch=1, batches=1, registration_ids=["r-1"],
            evidence="forged"))
    assert office.registration("r-1").state is State.INVOICED


def seated(office: Office, seats: int) -> list[str]:
    """`seats` active participants spread over the registrations r-1, r-2… (their access ids, in seat order)."""
    registrations = sorted(office.uow.registrations.stored)
    ids = []
    for n in range(seats):
        access = ParticipantAccessRow(
            id=f"access-{n:05d}", registration_id=registrations[n % len(registrations)], session_id=HANDICAP,
            email=f"p{n}@valdemarne.fr", civilite=None, first_name=None, last_name=None, token_hash=f"{n:064d}",
            status=ACTIVE, sequence=0, created_at=EVENING - timedelta(days=30, seconds=-n), revoked_at=None,
            revoked_reason=None)
        office.uow.accesses.add(access)
        ids.append(access.id)
    return ids


def test_the_attendance_of_a_large_session_follows_session_held_in_parts_each_seat_once() -> None:
    office = office_of(3, batch=200)
    seats = seated(office, 2 * MAX_ATTENDANCE_PART + 101)
    hold(office)

    [held] = office.uow.events("session.held")
    parts = office.uow.events("session.attendance")
    assert (held.seats, held.attendance_parts, len(held.attendance)) == (len(seats), 3, MAX_ATTENDANCE_PART)
    assert [(p.part, p.parts, len(p.attendance)) for p in parts] == [
        (2, 3, MAX_ATTENDANCE_PART), (3, 3, 101)]
    recorded = [a.participant_id for a in held.attendance] + [a.participant_id for p in parts for a in p.attendance]
    assert recorded == seats


def test_a_session_without_participants_is_held_with_an_empty_attendance_in_one_part() -> None:
    office = office_of(1, batch=1)
    hold(office)
    [held] = office.uow.events("session.held")
    assert (held.seats, held.attendance_parts, held.attendance) == (0, 1, [])
    assert office.uow.events("session.attendance") == []


def test_the_largest_attendance_part_fits_in_one_message() -> None:
    """At the longest ids and ten half-days a seat, a part wrapped in its envelope stays under the size limit
    the relay sets aside at (otherwise the session's attendance would never leave the outbox)."""
    longest = ParticipantAttendance(
        participant_id="a" * 40, registration_id="r" * REGISTRATION_ID_MAX, presence="partial",
        minutes_followed=1440, parts=[PartPresence(part=9, presence="partial", minutes=1440)] * 10)
    part = SessionAttendance(session_id="s" * CATALOGUE_ID_MAX, held_on=date(2023, 9, 15), part=99_999,
                             parts=99_999, attendance=[longest] * MAX_ATTENDANCE_PART)
    first = SessionHeld(session_id="s" * CATALOGUE_ID_MAX, held_on=date(2023, 9, 15), evidence="signed_sheet",
                        signed_by="é" * TRAINING_NAME_MAX, signed_at=EVENING, reason="é" * MAX_REASON_LENGTH,
                        attendance=[longest] * MAX_ATTENDANCE_PART, seats=10**9, attendance_parts=10**7)
    for event_type, payload in (("session.attendance", part), ("session.held", first)):
        envelope = Envelope(event_id=uuid4(), type=event_type, occurred_at=EVENING, registration_id=None,
                            correlation_id=uuid4(), causation_id=uuid4(), producer="p" * 40,
                            payload=payload.model_dump(mode="json"))
        assert len(envelope.model_dump_json().encode()) <= DEFAULT_MAX_BYTES == SETTINGS.max_message_bytes


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=50))
def test_cutting_in_parts_keeps_every_item_once_in_order_within_the_size(items: list[int], size: int) -> None:
    parts = payments.in_parts(items, size)
    assert [item for part in parts for item in part] == items
    assert all(1 <= len(part) <= size for part in parts) or parts == [[]] == [items]
    assert len(parts) == max(1, -(-len(items) // size))
