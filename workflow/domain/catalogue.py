"""The trainings on sale and their sessions: what operations manage (stored in the database, seeded once
from `workflow/data/catalogue.json`), and the day's schedule every session follows."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.limits import (
    CATALOGUE_ID_PATTERN,
    JOIN_URL_MAX,
    MAX_AMOUNT,
    MAX_CAPACITY,
    TRAINING_NAME_MAX,
    TRAINING_TEXT_MAX,
    TRAINING_TITLE_MAX,
)

Day = date  # a field named `date` hides the type inside a class
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(value: str) -> str:
    """A name or a title is printed on invoices, in e-mail subjects and in the `.ics`: one line, no control."""
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if _CONTROL.search(value):
        raise ValueError("must be one line of printable characters")
    return value


def _text(value: str) -> str:
    """An objective or a programme may run over several lines, but holds no other control character."""
    value = value.strip()
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ValueError("must hold printable characters only")
    return value


def _join_url(value: str) -> str:
    """Where the join service redirects a participant (302): an http(s) address with a host, nothing else."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or re.search(r"[\s\x00-\x1f\x7f]", value):
        raise ValueError("must be an http(s) address with a host, without spaces")
    return value


CatalogueId = Annotated[str, Field(pattern=CATALOGUE_ID_PATTERN)]
Title = Annotated[str, Field(max_length=TRAINING_TITLE_MAX), AfterValidator(_one_line)]
Name = Annotated[str, Field(max_length=TRAINING_NAME_MAX), AfterValidator(_one_line)]
Text = Annotated[str, Field(max_length=TRAINING_TEXT_MAX), AfterValidator(_text)]
JoinUrl = Annotated[str, Field(max_length=JOIN_URL_MAX), AfterValidator(_join_url)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SchedulePart(_Frozen):
    start: time
    end: time


class Schedule(_Frozen):
    """Every session runs 9h30-12h45 and 13h45-17h00, Europe/Paris, with a 15-minute break in each."""

    timezone: str
    parts: list[SchedulePart]
    break_minutes_per_part: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def training_duration(self) -> timedelta:
        """Time actually spent training (6 hours for the seeds: 2 x 3h15 less 2 x 15 min)."""
        total = timedelta()
        for part in self.parts:
            span = datetime.combine(date.min, part.end) - datetime.combine(date.min, part.start)
            total += span - timedelta(minutes=self.break_minutes_per_part)
        return total


class SessionState(StrEnum):
    """What operations set; "full" is not a state but a count (capacity against the seats taken)."""

    OPEN = "open"  # takes new forms until its deadline, the day before, or its capacity
    CLOSED = "closed"  # operations stopped the registrations
    HELD = "held"  # service fait recorded
    CANCELLED = "cancelled"  # the organiser cancelled it: its registrations are cancelled and credited


class SessionDate(_Frozen):
    id: CatalogueId
    date: date
    state: SessionState = SessionState.OPEN
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY)
    registration_deadline: Day | None = None  # last day a form is accepted; the day before the session if unset
    join_url: JoinUrl | None = None
    trainer: Name | None = None

    @property
    def last_registration_day(self) -> Day:
        """Registrations close the day before the session at the latest (the invitations, the invoice and the
        agreement must reach the client before it starts); operations may close them earlier."""
        eve = self.date - timedelta(days=1)
        return min(self.registration_deadline, eve) if self.registration_deadline else eve


class Training(_Frozen):
    id: CatalogueId
    title: Title
    format: Name
    objective: Text
    audience: list[Name] = Field(max_length=20)
    speaker: Name
    price_per_participant: Decimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=2)
    vat: str = Field(pattern=r"^exempt$")  # CGI art. 261-4-4° a: continuing training is exempt; invoices say so
    invoice_is_training_agreement: bool
    sessions: list[SessionDate]


class Catalogue(_Frozen):
    trainings: list[Training]
    schedule: Schedule

    def training(self, training_id: str) -> Training | None:
        return next((t for t in self.trainings if t.id == training_id), None)

    def session(self, session_id: str) -> tuple[Training, SessionDate] | None:
        for training in self.trainings:
            for session in training.sessions:
                if session.id == session_id:
                    return training, session
        return None

    def starts_at(self, session: SessionDate) -> datetime:
        """Start of the session, timezone-aware (Europe/Paris)."""
        return datetime.combine(session.date, self.schedule.parts[0].start, tzinfo=self.schedule.zone)

    def ends_at(self, session: SessionDate) -> datetime:
        return datetime.combine(session.date, self.schedule.parts[-1].end, tzinfo=self.schedule.zone)
