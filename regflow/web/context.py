"""What the page's modules share: the blueprint, the per-process `BackOffice` and small helpers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from producers.commands import NOT_SENT
from regflow.web.guards import LiveSessions, LoginThrottle
from regflow.web.users import UserStore, WebUser
from workflow.domain.catalogue import Catalogue, Schedule
from workflow.domain.clock import Clock
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.settings import Settings

pages = Blueprint("backoffice", __name__)
BROKER_ERRORS = NOT_SENT


@dataclass(frozen=True)
class BackOffice:
    """What every route needs, built once per process."""

    settings: Settings
    sessions: sessionmaker[Session]
    users: UserStore
    schedule: Schedule
    clock: Clock
    decision_wait_seconds: float
    throttle: LoginThrottle
    live_sessions: LiveSessions

    def catalogue(self) -> Catalogue:
        """As the database holds it now (operations change it while the back office runs)."""
        with self.sessions() as session:
            return SqlCatalogue(session).current(self.schedule)


def back_office() -> BackOffice:
    found: BackOffice = current_app.extensions["regflow"]
    return found


def current_user() -> WebUser:
    user: WebUser = g.user
    return user


def catalogue_sessions(catalogue: Catalogue) -> list[dict[str, str]]:
    return [{"id": s.id, "date": s.date.isoformat(), "title": t.title} for t in catalogue.trainings
            for s in sorted(t.sessions, key=lambda s: s.date)]


def field_errors(exc: ValidationError, labels: dict[str, str]) -> dict[str, str]:
    """pydantic's errors keyed by form field, each message naming the field as the form labels it."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "_"
        errors.setdefault(field, f"{labels.get(field, field)}: {error['msg']}")
    return errors


def not_sent(exc: Exception) -> str:
    return f"The broker did not confirm the command ({type(exc).__name__}: {exc}); it may not have been sent: " \
           f"check the timeline before sending it again."
