"""The trainings on sale and their sessions, loaded from a JSON file (data, not code)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict


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


class SessionDate(_Frozen):
    id: str
    date: date
    registrations_closed: bool = False


class Training(_Frozen):
    id: str
    title: str
    format: str
    objective: str
    audience: list[str]
    speaker: str
    price_per_participant: Decimal
    vat: str
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
