"""The attendance sheet as the trainer works on it (the back office's "Feuille d'émargement" page): the
evidence per participant and half-day, the trainer's corrections, then the signature, stored once with what
was signed and its SHA-256. Signing decides service fait: the page then sends `cmd.session.hold`, after the
signature's commit, and the payments consumer reads the signed sheet from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.attendance import Part, Presence, parts_of
from workflow.domain.attendance_sheet import (
    Mark,
    SheetError,
    attestation,
    check_signable,
    digest,
    french,
    mark,
    minutes_followed,
    overall,
    training_minutes,
)
from workflow.domain.catalogue import Name, Schedule, SessionState
from workflow.domain.clock import Clock
from workflow.ops.attendance import attendance_sheet
from workflow.persistence.orm import AttendanceMarkRow, SignedSheetRow
from workflow.persistence.repositories.attendance import SqlAttendance
from workflow.persistence.repositories.catalogue import SqlCatalogue

SIGNER = TypeAdapter(Name)


@dataclass(frozen=True)
class SheetDesk:
    sessions: sessionmaker[Session]
    clock: Clock
    schedule: Schedule
    threshold_minutes: int | None = None

    def parts(self, sheet: dict[str, Any]) -> list[Part]:
        return parts_of(self.schedule, date.fromisoformat(sheet["date"]))

    def sheet(self, session_id: str) -> dict[str, Any]:
        """The evidence, the marks (the trainer's corrections over the computed ones) and the signature if any;
        a signed sheet shows what was signed."""
        found = attendance_sheet(self.sessions, self.schedule, session_id, threshold_minutes=self.threshold_minutes)
        parts = self.parts(found)
        with self.sessions() as session:
            stored = SqlAttendance(session)
            signed, corrections = stored.signed_sheet(session_id), stored.marks(session_id)
        for person in found["participants"]:
            marks = []
            for part in person["parts"]:
                corrected = corrections.get((person["access_id"], part["part"]))
                marks.append({"part": part["part"], "presence": corrected.presence if corrected else part["presence"],
                              "minutes": corrected.minutes if corrected else part["followed_minutes"],
                              "corrected_by": corrected.corrected_by if corrected else None})
            person["marks"] = marks
            _totals(person)
        found["parts_shown"] = [{"index": p.index, "from": f"{p.start:%H:%M}", "to": f"{p.end:%H:%M}",
                                 "training_minutes": training_minutes(p)} for p in parts]
        found["ended"] = self.clock.now() >= max(p.end for p in parts)
        found["signed"] = None if signed is None else {
            "signer_name": signed.signer_name, "signed_by": signed.signed_by, "signed_at": signed.signed_at,
            "attestation": signed.attestation, "sha256": signed.sheet_sha256, "sheet": signed.sheet}
        if signed is not None:
            found["participants"] = signed.sheet["participants"]
        return found

    def correct(self, session_id: str, submitted: dict[tuple[str, int], tuple[str, int | None]], *, by: str
                ) -> dict[str, str]:
        """The trainer's marks, each checked; nothing is stored when one is wrong (the errors, in French, by
        "access:part"). A mark equal to what the evidence says is not kept as a correction."""
        sheet = self.sheet(session_id)
        if sheet["signed"] is not None:
            raise SheetError("the sheet is signed: it no longer changes", "la feuille est signée : elle ne change plus")
        parts = {p.index: p for p in self.parts(sheet)}
        computed = {(person["access_id"], p["part"]): (p["presence"], p["followed_minutes"])
                    for person in sheet["participants"] for p in person["parts"]}
        checked: dict[tuple[str, int], Mark] = {}
        errors: dict[str, str] = {}
        for key, (presence, minutes) in submitted.items():
            if key not in computed or key[1] not in parts:
                errors[f"{key[0][:40]}:{key[1]}"] = "participant ou demi-journée inconnu(e) sur cette feuille"
                continue
            try:
                checked[key] = mark(parts[key[1]], presence, minutes)
            except SheetError as refused:
                errors[f"{key[0]}:{key[1]}"] = refused.reason_fr or str(refused)
        if errors:
            return errors
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            stored = SqlAttendance(session).marks(session_id)
            for key, chosen in checked.items():
                row = stored.get(key)
                if (chosen.presence.value, chosen.minutes) == computed[key]:
                    if row is not None:
                        session.delete(row)
                    continue
                if row is None:
                    row = AttendanceMarkRow(session_id=session_id, access_id=key[0], part=key[1])
                    session.add(row)
                row.presence, row.minutes, row.corrected_by, row.corrected_at = (
                    chosen.presence.value, chosen.minutes, by, now)
        return {}

    def sign(self, session_id: str, *, signer: str, attested: bool, by: str) -> SignedSheetRow:
        """Signed once, after the session's end, by a named signer who ticks the attestation: the sheet as it
        stands is stored with the attestation's words and its SHA-256."""
        try:
            name = SIGNER.validate_python(signer.strip())
        except ValidationError as exc:
            raise SheetError(f"signer's name: {exc.errors()[0]['msg']}",
                             f"nom du signataire : {exc.errors()[0]['msg']}") from None
        sheet = self.sheet(session_id)
        if sheet["state"] == SessionState.CANCELLED.value:
            raise SheetError("the session was cancelled", "la session a été annulée : rien à signer")
        now = self.clock.now()
        check_signable(self.parts(sheet), now, signed=sheet["signed"] is not None, attested=attested, signer=name)
        words = attestation(name, sheet["title"], self.parts(sheet)[0].start.date())
        snapshot = {"session_id": session_id, "date": sheet["date"], "title": sheet["title"], "signer_name": name,
                    "signed_by": by, "signed_at": now.isoformat(), "attestation": words,
                    "participants": [_signed_line(person) for person in sheet["participants"]]}
        with self.sessions() as session, session.begin():
            if SqlCatalogue(session).session_row(session_id, for_update=True) is None or \
                    SqlAttendance(session).signed_sheet(session_id) is not None:  # signed meanwhile, elsewhere
                raise SheetError("the sheet is already signed", "la feuille est déjà signée")
            row = SignedSheetRow(session_id=session_id, signed_by=by, signer_name=name, signed_at=now,
                                 attestation=words, sheet=snapshot, sheet_sha256=digest(snapshot))
            session.add(row)
        return row


def _totals(person: dict[str, Any]) -> None:
    marks = [Mark(m["part"], Presence(m["presence"]), m["minutes"]) for m in person["marks"]]
    person["presence"] = overall(marks).value
    person["presence_fr"] = french(overall(marks))
    person["minutes_followed"] = minutes_followed(marks)


def _signed_line(person: dict[str, Any]) -> dict[str, Any]:
    """One participant as signed: the seat, the registration, the name and e-mail shown, the marks, the totals."""
    return {"access_id": person["access_id"], "registration_id": person["registration_id"], "name": person["name"],
            "email": person["email"], "presence": person["presence"], "presence_fr": person["presence_fr"],
            "minutes_followed": person["minutes_followed"],
            "marks": [{"part": m["part"], "presence": m["presence"], "minutes": m["minutes"],
                       "corrected": m["corrected_by"] is not None} for m in person["marks"]]}


def signed_sessions(sessions: sessionmaker[Session]) -> dict[str, SignedSheetRow]:
    """The sessions whose sheet is signed, with their signature (the sheets' list)."""
    from sqlalchemy import select

    with sessions() as session:
        return {row.session_id: row for row in session.scalars(select(SignedSheetRow))}
