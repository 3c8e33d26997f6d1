"""A session's attendance: the platform's report imported (matched to participants by e-mail, unmatched lines
kept and listed, the same file twice changes nothing), and the sheet per participant and half-day computed from
the report's connections, beside the join service's records (R6313-3: the evidence of a distance session)."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters.attendance_report import Report, ReportError, read_report
from workflow.domain.access_links import ACTIVE
from workflow.domain.attendance import Interval, attendance, hours_followed, parts_of
from workflow.domain.catalogue import Schedule
from workflow.domain.clock import PARIS, Clock
from workflow.persistence.orm import AttendanceLineRow, JoinRecordRow, ParticipantAccessRow
from workflow.persistence.repositories.catalogue import SqlCatalogue

NAME_KEPT = 300  # the column: a longer name from the platform is kept cut


@dataclass
class Imported:
    session_id: str
    layout: str
    added: int = 0
    already: int = 0  # lines of this very file imported before
    unmatched: list[dict[str, Any]] = field(default_factory=list)  # kept, shown to operations
    problems: list[dict[str, Any]] = field(default_factory=list)  # rows the reader could not read


def import_report(sessions: sessionmaker[Session], clock: Clock, session_id: str, data: bytes) -> Imported:
    """Every readable line stored once for the session; matched to the session's participant (active or
    replaced: a replaced participant who attended is evidence too) by normalised e-mail, or, for a line without
    one (BigBlueButton's export), by a name only one participant of the session has."""
    report: Report = read_report(data, zone=PARIS)
    digest = hashlib.sha256(data).hexdigest()
    now = clock.now()
    with sessions() as session, session.begin():
        if SqlCatalogue(session).session_row(session_id) is None:
            raise ReportError(f"no session {session_id}", f"aucune séance {session_id}")
        rows = list(session.scalars(select(ParticipantAccessRow).where(ParticipantAccessRow.session_id == session_id)
                                    .order_by(ParticipantAccessRow.created_at)))
        accesses = {a.email: a.id for a in rows}
        by_name = _unique_names(rows)
        seen = set(session.scalars(select(AttendanceLineRow.line).where(
            AttendanceLineRow.session_id == session_id, AttendanceLineRow.file_sha256 == digest)))
        result = Imported(session_id, report.layout, problems=[vars(p) for p in report.problems])
        for line in report.lines:
            access_id = accesses.get(line.email) if line.email else by_name.get(_name_key(line.name))
            if access_id is None:
                result.unmatched.append({"line": line.line, "email": line.email, "name": line.name})
            if line.line in seen:
                result.already += 1
                continue
            session.add(AttendanceLineRow(
                session_id=session_id, file_sha256=digest, line=line.line, email=line.email,
                name=line.name[:NAME_KEPT], joined_at=line.interval.start, left_at=line.interval.end,
                access_id=access_id, imported_at=now))
            result.added += 1
    return result


def _name_key(name: str) -> str:
    """A name as people write it in a video platform: case, accents and spacing aside ("Inès  ROY" is "ines roy")."""
    plain = unicodedata.normalize("NFKD", name)
    return " ".join("".join(c for c in plain if not unicodedata.combining(c)).casefold().split())


def _unique_names(accesses: list[ParticipantAccessRow]) -> dict[str, str]:
    """For a report without e-mails (BigBlueButton's): "first last" and "last first" of each participant, kept only
    when one participant of the session has it, so that two namesakes are never confused (both stay unmatched)."""
    seen: dict[str, set[str]] = {}
    for access in accesses:
        first, last = access.first_name or "", access.last_name or ""
        for key in {_name_key(f"{first} {last}"), _name_key(f"{last} {first}")} - {""}:
            seen.setdefault(key, set()).add(access.id)
    return {key: next(iter(ids)) for key, ids in seen.items() if len(ids) == 1}


def attendance_sheet(sessions: sessionmaker[Session], schedule: Schedule, session_id: str, *,
                     threshold_minutes: int | None = None) -> dict[str, Any]:
    """Per participant holding a seat now: minutes connected and followed, and the presence, per half-day;
    the join records and report lines as evidence; the report's lines no participant matched."""
    with sessions() as session:
        catalogue = SqlCatalogue(session).current(schedule)
        found = catalogue.session(session_id)
        if found is None:
            raise ReportError(f"no session {session_id}", f"aucune séance {session_id}")
        parts = parts_of(schedule, found[1].date)
        accesses = list(session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.session_id == session_id, ParticipantAccessRow.status == ACTIVE)
            .order_by(ParticipantAccessRow.last_name, ParticipantAccessRow.first_name)))
        lines = list(session.scalars(select(AttendanceLineRow).where(AttendanceLineRow.session_id == session_id)
                                     .order_by(AttendanceLineRow.joined_at)))
        joins = list(session.scalars(select(JoinRecordRow).where(JoinRecordRow.session_id == session_id)
                                     .order_by(JoinRecordRow.joined_at)))
    participants = []
    for access in accesses:
        own = [line for line in lines if line.access_id == access.id or (line.email and line.email == access.email)]
        per_part = attendance([Interval(line.joined_at, line.left_at) for line in own], parts,
                              threshold_minutes=threshold_minutes)
        participants.append({
            "access_id": access.id, "email": access.email,
            "name": " ".join(p for p in (access.first_name, access.last_name) if p),
            "registration_id": access.registration_id,
            "parts": [{"part": p.part.index, "from": p.part.start.isoformat(), "to": p.part.end.isoformat(),
                       "connected_minutes": p.connected_minutes, "followed_minutes": p.followed_minutes,
                       "presence": p.presence.value} for p in per_part],
            "hours_followed": round(hours_followed(per_part), 2),
            "joins": [j.joined_at.isoformat() for j in joins if j.access_id == access.id],
            "report_lines": [line.line for line in own]})
    matched = {a.email for a in accesses}
    return {"session_id": session_id, "date": found[1].date.isoformat(), "title": found[0].title,
            "state": found[1].state.value, "trainer": found[1].trainer, "participants": participants,
            "unmatched": [{"line": line.line, "email": line.email, "name": line.name} for line in lines
                          if line.access_id is None and line.email not in matched]}
