"""What the page's modules share: the blueprint, the per-process `BackOffice` and small helpers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, g
from flask_babel import gettext as _
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.orm import Session, sessionmaker

from producers.commands import NOT_SENT
from regflow.web.guards import LiveSessions, LoginThrottle
from regflow.web.users import UserStore, WebUser
from workflow.domain.catalogue import Catalogue, Schedule
from workflow.domain.clock import Clock
from workflow.ops.surveys import spreadsheet_safe
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


def spreadsheet(headings: Sequence[str], rows: Iterable[Sequence[object]], filename: str) -> Response:
    """A table downloaded for a French spreadsheet: `;` separated (its list separator), UTF-8 with the BOM (so the
    accents open right), every cell kept as text when it starts like a formula (CSV injection)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(headings)
    writer.writerows([spreadsheet_safe("" if cell is None else str(cell)) for cell in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), 200, {"Content-Type": "text/csv; charset=utf-8",
                                                      "Content-Disposition": f'attachment; filename="{filename}"'})


def back_office() -> BackOffice:
    found: BackOffice = current_app.extensions["regflow"]
    return found


def current_user() -> WebUser:
    user: WebUser = g.user
    return user


def catalogue_sessions(catalogue: Catalogue) -> list[dict[str, str]]:
    return [{"id": s.id, "date": s.date.isoformat(), "title": t.title} for t in catalogue.trainings
            for s in sorted(t.sessions, key=lambda s: s.date)]


def field_errors(exc: ValidationError, labels: Mapping[str, object]) -> dict[str, str]:
    """pydantic's errors keyed by form field, each message naming the field as the form labels it, in the page's
    language (pydantic writes English only)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "_"
        errors.setdefault(field, _("%(field)s: %(problem)s", field=labels.get(field, field), problem=problem(error)))
    return errors


def problem(error: ErrorDetails) -> str:
    """One pydantic error said the way the page speaks; our own validators' messages (value_error) as they are."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind in ("string_too_long", "too_long"):
        return _("at most %(n)s characters", n=ctx.get("max_length", "?"))
    if kind in ("string_too_short", "too_short"):
        return _("at least %(n)s characters", n=ctx.get("min_length", "?"))
    simple = {"missing": _("required"), "string_pattern_mismatch": _("characters not allowed here"),
              "date_parsing": _("a date, e.g. 2023-09-15"), "date_from_datetime_parsing": _("a date, e.g. 2023-09-15"),
              "date_type": _("a date, e.g. 2023-09-15"), "decimal_parsing": _("an amount, e.g. 1190.00"),
              "decimal_type": _("an amount, e.g. 1190.00"), "decimal_max_places": _("at most 2 decimals"),
              "greater_than": _("too small"), "greater_than_equal": _("too small"), "less_than": _("too large"),
              "less_than_equal": _("too large"), "literal_error": _("not one of the choices"),
              "enum": _("not one of the choices"), "string_type": _("a text"), "int_parsing": _("a whole number")}
    if kind in simple:
        return simple[kind]
    return str(error["msg"]).removeprefix("Value error, ")


def not_sent(exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"
    return _("The broker did not confirm the command (%(error)s); it may not have been sent: check the timeline "
             "before sending it again.", error=error)
