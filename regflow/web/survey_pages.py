"""The satisfaction survey's results (Qualiopi indicators 2 and 30: collected, then used and published): per
session or per training, response rate, satisfaction rate, each question's average drawn as a bar chart (SVG drawn
here, no script), the comments; and the same as CSV. For operations (who improve the trainings) and trainers.
`?by=session|training`, anything else 400 and why."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _

from regflow.web.auth import requires
from regflow.web.context import back_office, pages, spreadsheet
from regflow.web.users import Role
from workflow.domain.survey import QUESTIONS, SATISFIED_FROM, SCALE
from workflow.ops.surveys import CSV_COLUMNS, GROUPINGS, Grouping, Labelled, csv_rows, survey_results

BAR_WIDTH = 300  # pixels for a rating of 5


def _grouping() -> Grouping:
    asked = request.args.get("by", "session")
    found = next((one for one in GROUPINGS if asked == one), None)
    if found is None:
        abort(400, _("Unknown grouping: “by” is session or training."))
    return found


def _results() -> tuple[Grouping, list[Labelled]]:
    office = back_office()
    by = _grouping()
    return by, survey_results(office.sessions, office.catalogue(), by)


@pages.get("/avis")
@requires(Role.OPERATIONS, Role.TRAINER)
def surveys() -> ResponseReturnValue:
    by, groups = _results()
    return render_template("surveys.html", by=by, groups=groups, questions=QUESTIONS, scale=SCALE,
                           satisfied_from=SATISFIED_FROM, bar_width=BAR_WIDTH, decimal=decimal)


def decimal(value: Decimal, places: int) -> str:
    """A rate or an average with its decimals, as the page's language writes it (`66,7`, `3,67`)."""
    return str(format_decimal(value, "#,##0." + "0" * places))


@pages.get("/avis.csv")
@requires(Role.OPERATIONS, Role.TRAINER)
def surveys_csv() -> ResponseReturnValue:
    by, groups = _results()
    return spreadsheet(CSV_COLUMNS, ([row[c] for c in CSV_COLUMNS] for row in csv_rows(groups)), f"avis-par-{by}.csv")
