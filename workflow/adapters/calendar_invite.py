"""The `.ics` invitation (RFC 5545/5546) attached to a participant's invitation e-mail.

One event per participant access, its UID stable: a moved session is the same UID with a higher
SEQUENCE (calendars update the entry), a cancelled one is METHOD:CANCEL (calendars remove it).
Times are Europe/Paris with the VTIMEZONE included, as Outlook needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

PRODID = "-//regflow//inscriptions//FR"
# A backslash is literal in a parameter value (RFC 5545 3.2, RFC 6868), but icalendar leaves `CN=A\` unquoted
# and reads `\:` back as an escaped colon: `CN=A\:mailto:a@b.fr` gives the name `A:mailto` and loses the
# address. In a display name it is written as the look-alike U+29F5 (REVERSE SOLIDUS OPERATOR).
_BACKSLASH_LOOKALIKE = "\u29f5"


def calendar_name(name: str) -> str:
    """A person's name as the `.ics` writes it in a CN parameter (a backslash as its look-alike)."""
    return name.replace("\\", _BACKSLASH_LOOKALIKE)


@dataclass(frozen=True)
class Invite:
    uid: str
    sequence: int
    method: Literal["REQUEST", "CANCEL"]
    starts: datetime
    ends: datetime
    summary: str
    description: str
    link: str | None
    organizer_name: str
    organizer_email: str
    attendee_name: str
    attendee_email: str
    stamp: datetime


def invitation_ics(invite: Invite) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", invite.method)
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", invite.stamp)
    event.add("dtstart", invite.starts)
    event.add("dtend", invite.ends)
    event.add("summary", invite.summary)
    event.add("description", invite.description)
    if invite.link:
        event.add("location", invite.link)
        event.add("url", invite.link)
    event.add("status", "CANCELLED" if invite.method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{invite.organizer_email}")
    organizer.params["cn"] = vText(calendar_name(invite.organizer_name))
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{invite.attendee_email}")
    attendee.params["cn"] = vText(calendar_name(invite.attendee_name))
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    for tzid in sorted(calendar.get_missing_tzids()):
        calendar.subcomponents.insert(0, _vtimezone(tzid, invite.starts.year))
    return bytes(calendar.to_ical())


@lru_cache(maxsize=32)
def _vtimezone(tzid: str, year: int) -> Timezone:
    """Built once per zone and year (icalendar takes 5 ms to derive it), covering the year before and
    the years after the event: the transitions a calendar needs, not fifty years of them."""
    return Timezone.from_tzid(tzid, first_date=date(year - 1, 1, 1), last_date=date(year + 3, 1, 1))
