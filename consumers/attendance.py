"""What service fait records of each participant (the payments consumer, on `cmd.session.hold`).

With the trainer's signed sheet, its marks as signed; without one (operations' word, with a reason), present
unless named absent, with no minutes: nothing was measured. The presence goes on the participant's access,
for the certificates (hours followed) and for finance; the registration and its invoice do not change
(`workflow.domain.attendance_sheet.ABSENCE_POLICY`)."""

from __future__ import annotations

from collections.abc import Collection

from schemas.messages import ParticipantAttendance, PartPresence
from workflow.domain.attendance import Presence
from workflow.domain.attendance_sheet import Mark, minutes_followed, overall
from workflow.persistence.orm import ParticipantAccessRow, SignedSheetRow


def from_signed_sheet(sheet: SignedSheetRow, accesses: list[ParticipantAccessRow]) -> list[ParticipantAttendance]:
    """The sheet's participants as signed; each one's access (a seat still held) gets its presence."""
    held = {a.id: a for a in accesses}
    found = []
    for line in sheet.sheet["participants"]:
        marks = [Mark(int(m["part"]), Presence(m["presence"]), int(m["minutes"])) for m in line["marks"]]
        presence, minutes = overall(marks), minutes_followed(marks)
        if (access := held.get(line["access_id"])) is not None:
            access.presence, access.minutes_followed = presence.value, minutes
        found.append(ParticipantAttendance(
            participant_id=line["access_id"], registration_id=line["registration_id"], presence=presence.value,
            minutes_followed=minutes, parts=[PartPresence(part=m.part, presence=m.presence.value, minutes=m.minutes)
                                             for m in marks]))
    return found


def from_operations(accesses: list[ParticipantAccessRow], absent_emails: Collection[str]
                    ) -> list[ParticipantAttendance]:
    """Operations' word: each seat present unless its e-mail is among the absent; minutes unknown."""
    absent = {e.strip().lower() for e in absent_emails}
    found = []
    for access in accesses:
        presence = Presence.ABSENT if access.email.lower() in absent else Presence.PRESENT
        access.presence, access.minutes_followed = presence.value, None
        found.append(ParticipantAttendance(participant_id=access.id, registration_id=access.registration_id,
                                           presence=presence.value, minutes_followed=None))
    return found


def absent_of(attendance: list[ParticipantAttendance], accesses: list[ParticipantAccessRow]) -> list[str]:
    """The e-mails of the participants absent the whole day (the session record's list)."""
    emails = {a.id: a.email.lower() for a in accesses}
    return sorted(emails[p.participant_id] for p in attendance
                  if p.presence == Presence.ABSENT.value and p.participant_id in emails)
