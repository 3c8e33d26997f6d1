"""A large session's attendance held part by part, against the real PostgreSQL through the runner: the command
reads the seats, writes their presences and publishes `session.held` then `session.attendance`, 300 seats at a
time (MAX_ATTENDANCE_PART), in its one transaction; what operations and finance read afterwards is the whole
session, each seat once."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import select, update

from consumers import payments
from consumers.runner import handle_message
from schemas.form import RegistrationForm
from schemas.limits import MAX_ATTENDANCE_PART
from schemas.messages import Envelope, HoldSession
from tests.conftest import load_form
from tests.integration.test_deposits import outbox
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.access_links import ACTIVE
from workflow.domain.clock import PARIS
from workflow.domain.machine import State
from workflow.domain.registration import Registration
from workflow.persistence.orm import HistoryRow, ParticipantAccessRow, SessionRecordRow, SignedSheetRow
from workflow.persistence.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

HANDICAP = "cpom-handicap-2023-09-15"
HELD_ON = date(2023, 9, 15)
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)
REGISTRATIONS = [f"r-{n}" for n in range(1, 6)]
SEATS = 650  # three parts: 300, 300, 50
GONE = "seat-0007"  # given up before the session was held


def seat_id(n: int) -> str:
    return f"seat-{n:04d}"


@pytest.fixture
def office(deps: Deps, clock: FileClock) -> Deps:
    """Five invoiced registrations sharing 650 seats of one session (plus one given up); the evening it was held."""
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    start = deps.clock.now()
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        for registration_id in REGISTRATIONS:
            uow.registrations.add(Registration(id=registration_id, state=State.INVOICED, form=form))
        for n in range(SEATS + 1):
            uow.accesses.add(ParticipantAccessRow(
                id=seat_id(n), registration_id=REGISTRATIONS[n % 5], session_id=HANDICAP,
                email=f"Seat.{n:04d}@valdemarne.fr", civilite=None, first_name=None, last_name=None,
                token_hash=f"{n:064d}", status=ACTIVE, sequence=0, created_at=start + timedelta(seconds=n),
                revoked_at=None, revoked_reason=None))
        uow.commit()
    clock.set(EVENING)
    return deps


def give_up(deps: Deps, access_id: str) -> None:
    with deps.sessions() as session, session.begin():
        session.execute(update(ParticipantAccessRow).where(ParticipantAccessRow.id == access_id)
                        .values(status="revoked", revoked_at=EVENING))


def hold(deps: Deps, *, reason: str | None, absent: list[str]) -> bytes:
    command = Envelope(type="cmd.session.hold", occurred_at=deps.clock.now(), correlation_id=uuid4(), producer="test",
                       payload=HoldSession(session_id=HANDICAP, held_on=HELD_ON, requested_by="tom", reason=reason,
                                           absent_emails=absent).model_dump(mode="json")).model_dump_json().encode()
    assert handle_message(payments.APP, deps, command).kind == "ack"
    return command


def published_attendance(deps: Deps) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """session.held's payload and every seat's attendance in the order published (session.held's part first)."""
    [held] = [json.loads(body)["payload"] for body in outbox(deps, "session.held")]
    parts = [json.loads(body)["payload"] for body in outbox(deps, "session.attendance")]
    assert [(p["part"], p["parts"]) for p in parts] == [(n, held["attendance_parts"])
                                                         for n in range(2, held["attendance_parts"] + 1)]
    assert all(len(p["attendance"]) <= MAX_ATTENDANCE_PART for p in [held, *parts])
    return held, [a for p in [held, *parts] for a in p["attendance"]]


def presences(deps: Deps) -> dict[str, tuple[str | None, int | None]]:
    with deps.sessions() as session:
        return {a.id: (a.presence, a.minutes_followed) for a in session.scalars(select(ParticipantAccessRow))}


def absences_named(deps: Deps) -> dict[str, str]:
    with deps.sessions() as session:
        return {h.registration_id: h.reason for h in session.scalars(
            select(HistoryRow).where(HistoryRow.trigger == "hold_session")) if "absent(s)" in (h.reason or "")}


def test_operations_word_on_650_seats_goes_out_in_three_parts_each_seat_once_and_written(office: Deps) -> None:
    give_up(office, GONE)
    command = hold(office, reason="feuille perdue", absent=["SEAT.0001@valdemarne.fr", "seat.0602@valdemarne.fr"])

    held, attendance = published_attendance(office)
    active = [seat_id(n) for n in range(SEATS + 1) if seat_id(n) != GONE]
    assert (held["seats"], held["attendance_parts"]) == (SEATS, 3)
    assert [a["participant_id"] for a in attendance] == active, "every seat once, oldest first, none given up"
    assert {a["participant_id"] for a in attendance if a["presence"] == "absent"} == {seat_id(1), seat_id(602)}

    written = presences(office)
    assert written[GONE] == (None, None), "a seat given up gets no presence"
    assert {s: written[s] for s in (seat_id(1), seat_id(602), seat_id(650))} == {
        seat_id(1): ("absent", None), seat_id(602): ("absent", None), seat_id(650): ("present", None)}
    assert sum(1 for s in active if written[s] == ("present", None)) == SEATS - 2
    with office.sessions() as session:
        record = session.get(SessionRecordRow, HANDICAP)
        assert record is not None
        assert record.absent_emails == ["seat.0001@valdemarne.fr", "seat.0602@valdemarne.fr"]
    # seat 1 belongs to r-2, seat 602 to r-3 (n % 5): each registration's history names its own absence
    assert set(absences_named(office)) == {"r-2", "r-3"}
    assert all(reason.endswith("absent(s) : 1 (applied by payments)") for reason in absences_named(office).values())

    assert handle_message(payments.APP, office, command).kind == "ack"  # redelivered
    assert len(outbox(office, "session.held")) == 1
    assert len(outbox(office, "session.attendance")) == 2


def test_the_signed_sheet_on_650_seats_keeps_a_seat_given_up_since_and_writes_the_others(office: Deps) -> None:
    afternoon = dict.fromkeys(range(SEATS), ("present", 175)) | {640: ("absent", 0)}
    lines = [{"access_id": seat_id(n), "registration_id": REGISTRATIONS[n % 5], "name": f"P {n}",
              "email": f"seat.{n:04d}@valdemarne.fr",
              "marks": [{"part": 0, "presence": "present", "minutes": 180},
                        {"part": 1, "presence": afternoon[n][0], "minutes": afternoon[n][1]}]}
             for n in range(SEATS)]
    with office.sessions() as session, session.begin():
        session.add(SignedSheetRow(session_id=HANDICAP, signed_by="tom", signer_name="Jeanne Martin", signed_at=EVENING,
                                   attestation="…", sheet={"participants": lines}, sheet_sha256="0" * 64))
    give_up(office, GONE)
    hold(office, reason=None, absent=[])

    held, attendance = published_attendance(office)
    assert (held["seats"], held["attendance_parts"], held["evidence"]) == (SEATS, 3, "signed_sheet")
    assert [a["participant_id"] for a in attendance] == [seat_id(n) for n in range(SEATS)], "the sheet as signed"
    assert attendance[640]["presence"] == "partial"
    assert attendance[640]["minutes_followed"] == 180
    written = presences(office)
    assert written[GONE] == (None, None), "given up after signing: on the sheet, not written on the access"
    assert written[seat_id(640)] == ("partial", 180)
    assert written[seat_id(649)] == ("present", 355)
    assert written[seat_id(SEATS)] == (None, None), "not on the sheet"
