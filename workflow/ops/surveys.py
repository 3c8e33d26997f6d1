"""The satisfaction survey's results, read from the database and computed by `workflow.domain.survey` (the back
office's page and its CSV): per session or per training, with what a person reads of each (title, date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.catalogue import Catalogue
from workflow.domain.survey import QUESTIONS, Response, Results, results
from workflow.persistence.orm import SurveyRow

Grouping = Literal["session", "training"]
GROUPINGS: tuple[Grouping, ...] = ("session", "training")


@dataclass(frozen=True)
class Labelled:
    """One group's results and what names it: a session's training title and day, or a training's title."""

    results: Results
    title: str
    day: date | None  # the session's; None for a training


def survey_results(sessions: sessionmaker[Session], catalogue: Catalogue, by: Grouping) -> list[Labelled]:
    """Every session or training that invited someone, the latest first (a training: by title)."""
    with sessions() as session:
        rows = session.scalars(select(SurveyRow).order_by(SurveyRow.session_id, SurveyRow.id)).all()
    answers = [Response(row.session_id if by == "session" else row.training_id,
                        {q.key: getattr(row, q.key) for q in QUESTIONS} if row.answered_at is not None else {},
                        row.comment) for row in rows]
    labelled = [_label(one, catalogue, by) for one in results(answers)]
    if by == "session":
        return sorted(labelled, key=lambda g: (g.day or date.min, g.results.key), reverse=True)
    return sorted(labelled, key=lambda g: g.title)


def _label(one: Results, catalogue: Catalogue, by: Grouping) -> Labelled:
    if by == "training":
        training = catalogue.training(one.key)
        return Labelled(one, training.title if training else one.key, None)
    found = catalogue.session(one.key)
    return Labelled(one, found[0].title if found else one.key, found[1].date if found else None)


CSV_COLUMNS = ("key", "title", "date", "invited", "answered", "response_rate", "satisfaction_rate",
               *(f"average_{q.key}" for q in QUESTIONS), "comments")


def spreadsheet_safe(text: str) -> str:
    """A participant's text as a spreadsheet cell that stays text: one starting like a formula (=, +, -, @) gets a
    leading apostrophe (OWASP, CSV injection), so opening the export never runs what a comment says."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def csv_rows(groups: list[Labelled]) -> list[dict[str, object]]:
    """One line per group; rates in percent, averages out of 5, the comments joined by " | " (each on one line)."""
    return [{"key": g.results.key, "date": g.day.isoformat() if g.day else "",
             "invited": g.results.invited, "answered": g.results.answered,
             "response_rate": g.results.response_rate, "satisfaction_rate": g.results.satisfaction_rate,
             **{f"average_{q.key}": g.results.averages[q.key] for q in QUESTIONS},
             "comments": spreadsheet_safe(" | ".join(" ".join(c.split()) for c in g.results.comments)),
             "title": spreadsheet_safe(g.title)} for g in groups]
