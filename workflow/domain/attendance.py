"""Attendance arithmetic: from connection intervals to minutes present per schedule part (half-day).

The evidence of a distance session (code du travail R6313-3: any convincing evidence; D6313-3-1:
distance training) is the connection records, with the trainer's signed attestation. This module turns
the records of one participant (join service hits, lines of the platform's report, in any order,
overlapping or repeated) into what the attendance sheet shows for each half-day: the minutes connected,
the minutes of training followed, and present / partial / absent. No I/O: the records come in, figures
come out.

Rules, each tested (tests/unit/test_attendance.py):
- the intervals of a participant are merged first, so a rejoin, a duplicate line or the same minutes
  seen by the join service and by the report count once;
- each part counts only what falls between its start and its end (the lunch break counts for neither);
- minutes are whole minutes, rounded down from the seconds connected in the part;
- the minutes of training followed in a part are the minutes connected, at most the part's training
  time (its length less its break: 3 h of a 3 h 15 half-day, DOMAIN.md "Duration"); hours on a
  certificate are hours followed;
- *present* from `threshold` minutes connected in the part, *partial* below it but above zero,
  *absent* at zero. The threshold is the operator's choice (`PRESENT_SHARE` of the part by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflow.domain.catalogue import Schedule
from workflow.domain.errors import RegflowError

PRESENT_SHARE = 0.8  # connected for 80 % of a half-day: present, by default


class AttendanceError(RegflowError):
    """A connection record that cannot be counted (it ends before it starts, has no time zone): named in
    English and in French, for the operator who imports the report."""

    def __init__(self, english: str, french: str) -> None:
        super().__init__(english)
        self.reason_fr = french


class Presence(StrEnum):
    PRESENT = "present"
    PARTIAL = "partial"
    ABSENT = "absent"


@dataclass(frozen=True)
class Interval:
    """A stretch of connection: joined at `start`, left at `end` (aware datetimes, any zone)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise AttendanceError(f"a connection record without a time zone: {self.start} - {self.end}",
                                  f"une connexion sans fuseau horaire : {self.start} - {self.end}")
        if self.end < self.start:
            raise AttendanceError(f"a connection record that ends before it starts: {self.start} - {self.end}",
                                  f"une connexion qui finit avant de commencer : {self.start} - {self.end}")


@dataclass(frozen=True)
class Part:
    """One half-day of the session: its bounds in Europe/Paris and its training time (less its break)."""

    index: int
    start: datetime
    end: datetime
    training: timedelta

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds()) // 60


@dataclass(frozen=True)
class PartAttendance:
    part: Part
    connected_minutes: int
    followed_minutes: int
    presence: Presence


def parts_of(schedule: Schedule, day: date) -> list[Part]:
    """The session's half-days on `day`, in the schedule's zone (9h30-12h45 and 13h45-17h00 for the seeds)."""
    zone = ZoneInfo(schedule.timezone)
    parts = []
    for index, part in enumerate(schedule.parts):
        start = datetime.combine(day, part.start, tzinfo=zone)
        end = datetime.combine(day, part.end, tzinfo=zone)
        parts.append(Part(index, start, end, (end - start) - timedelta(minutes=schedule.break_minutes_per_part)))
    return parts


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of the intervals, sorted and without overlap (touching intervals join)."""
    union: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: (i.start, i.end)):
        if union and interval.start <= union[-1].end:
            last = union[-1]
            union[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            union.append(interval)
    return union


def connected_seconds(intervals: Sequence[Interval], start: datetime, end: datetime) -> float:
    """Seconds of the (merged) intervals between `start` and `end`."""
    total = 0.0
    for interval in intervals:
        overlap = min(interval.end, end) - max(interval.start, start)
        total += max(overlap.total_seconds(), 0.0)
    return total


def default_threshold(part: Part) -> int:
    """`PRESENT_SHARE` of the part's length, in whole minutes (156 of a 195-minute half-day)."""
    return int(part.minutes * PRESENT_SHARE)


def attendance(intervals: Iterable[Interval], parts: Sequence[Part], *,
               threshold_minutes: int | None = None) -> list[PartAttendance]:
    """Per part: minutes connected, minutes followed, and present / partial / absent.

    `threshold_minutes` is the same for every part; None takes `default_threshold` of each part.
    """
    if threshold_minutes is not None and threshold_minutes < 1:
        raise AttendanceError(f"a presence threshold must be at least one minute, not {threshold_minutes}",
                              f"un seuil de présence est d'au moins une minute, pas {threshold_minutes}")
    union = merged(intervals)
    result = []
    for part in parts:
        minutes = int(connected_seconds(union, part.start, part.end)) // 60
        followed = min(minutes, int(part.training.total_seconds()) // 60)
        threshold = default_threshold(part) if threshold_minutes is None else threshold_minutes
        presence = Presence.ABSENT if minutes == 0 else Presence.PRESENT if minutes >= threshold \
            else Presence.PARTIAL
        result.append(PartAttendance(part, minutes, followed, presence))
    return result


def hours_followed(parts: Sequence[PartAttendance]) -> float:
    """The hours a certificate states: the minutes of training followed over the parts, in hours."""
    return sum(p.followed_minutes for p in parts) / 60
