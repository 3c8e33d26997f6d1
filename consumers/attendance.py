"""What service fait records of each participant (the payments consumer, on `cmd.session.hold`).

With the trainer's signed sheet, its marks as signed; without one (operations' word, with a reason), present
unless named absent, with no minutes: nothing was measured. The presence goes on the participant's access,
for the certificates (hours followed) and for finance; the registration and its invoice do not change
(`workflow.domain.attendance_sheet.ABSENCE_POLICY`). Each function takes one part of the session (at most
`MAX_ATTENDANCE_PART` seats), so that a session of any size is read, written and published part by part."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from schemas.messages import ParticipantAttendance, PartPresence
from workflow.domain.attendance import Presence
from workflow.domain.attendance_sheet import Mark, minutes_followed, overall
from workflow.persistence.orm import SignedSheetRow
from workflow.persistence.repositories import Accesses, Seat, SeatPresence


def from_signed_sheet(lines: Sequence[dict[str, Any]]) -> list[ParticipantAttendance]:
    """The sheet's participants (these lines of it) as signed, whether or not their seat is still held."""
    found = []
    for line in lines:
        marks = [Mark(int(m["part"]), Presence(m["presence"]), int(m["minutes"])) for m in line["marks"]]
        found.append(ParticipantAttendance(
            participant_id=line["access_id"], registration_id=line["registration_id"],
            presence=overall(marks).value, minutes_followed=minutes_followed(marks),
            parts=[PartPresence(part=m.part, presence=m.presence.value, minutes=m.minutes) for m in marks]))
    return found


def from_operations(seats: Sequence[Seat], absent_emails: Collection[str]) -> list[ParticipantAttendance]:
    """Operations' word: each seat present unless its e-mail is among the absent; minutes unknown."""
    absent = {e.strip().lower() for e in absent_emails}
    return [ParticipantAttendance(
        participant_id=seat.id, registration_id=seat.registration_id, minutes_followed=None,
        presence=(Presence.ABSENT if seat.email.lower() in absent else Presence.PRESENT).value) for seat in seats]


def presences(attendance: Sequence[ParticipantAttendance], seats: Mapping[str, Seat]) -> list[SeatPresence]:
    """What goes on each access still held (a seat given up since the sheet was signed keeps nothing)."""
    return [SeatPresence(p.participant_id, p.presence, p.minutes_followed) for p in attendance
            if p.participant_id in seats]


def absent_of(attendance: Sequence[ParticipantAttendance], seats: Mapping[str, Seat]) -> list[str]:
    """The e-mails of the participants absent the whole day (for the session record's list)."""
    return [seats[p.participant_id].email.lower() for p in attendance
            if p.presence == Presence.ABSENT.value and p.participant_id in seats]


class HeldSession:
    """The attendance of a session being held, read and written one part at a time (a part's accesses, its
    presences, its message), so that the command's memory is that of one part whatever the session's size.
    What must span the session is kept small: the absent e-mails, and the absences by registration."""

    def __init__(self, session_id: str, signed: SignedSheetRow | None, absent_emails: Collection[str]) -> None:
        self.session_id, self.signed, self.named_absent = session_id, signed, absent_emails
        self.evidence_kind = "signed_sheet" if signed else "operations"
        self.absent_emails: list[str] = []
        self.absent: dict[str, int] = {}

    def part(self, accesses: Accesses, part: list[Any]) -> list[ParticipantAttendance]:
        """One part (sheet lines, or access ids) as attendance; each seat still held gets its presence."""
        if self.signed:
            seats = accesses.seats(self.session_id, [line["access_id"] for line in part])
            attendance = from_signed_sheet(part)
        else:
            seats = accesses.seats(self.session_id, part)
            attendance = from_operations([seats[i] for i in part if i in seats], self.named_absent)
        accesses.record_presence(presences(attendance, seats))
        self.absent_emails += absent_of(attendance, seats)
        for p in attendance:
            if p.presence == Presence.ABSENT.value:
                self.absent[p.registration_id] = self.absent.get(p.registration_id, 0) + 1
        return attendance
