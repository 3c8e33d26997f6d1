"""The dashboards: one page, `/tableau-de-bord`, showing each user the charts of their roles, drawn here as SVG
(readable without any script), each with its table beneath it (what a screen reader reads) and its CSV.

- everyone: the sessions to come, seats taken against capacity;
- finance: the receivables by age (not due, 1–30, 31–60, over 60 days late) and by kind of client; the payments
  expected per month from the due dates;
- support and operations: the e-mails sent, pending and failed.
The queues' depths and the consumers are on the Queue health page (operations); their history over hours is the
metrics' (Prometheus scrapes every process's /metrics).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from regflow.web import i18n
from regflow.web.context import back_office, current_user, pages, spreadsheet
from regflow.web.i18n import percent
from regflow.web.users import Role
from schemas.form import ClientCategory
from workflow.domain import form_rules
from workflow.domain.dashboards import AGE_BUCKETS, CLIENT_KINDS, aged_receivables, expected_by_month, month_label
from workflow.domain.payment_rules import paris_date
from workflow.ops.dashboards import EMAIL_STATUSES, email_counts, open_receivables, session_fill

BAR_WIDTH = 320  # pixels of the longest bar
ZERO = Decimal("0.00")
# The short words of a chart for each kind of client (the form's own, longer, are in regflow/join/form_fields.py).
KIND_NAMES = {ClientCategory.STATE: _l("State"), ClientCategory.LOCAL_AUTHORITY: _l("Local authorities"),
              ClientCategory.STATE_PUBLIC_ESTABLISHMENT: _l("State public bodies (ARS…)"),
              ClientCategory.LOCAL_PUBLIC_ESTABLISHMENT: _l("Local public bodies"),
              ClientCategory.PUBLIC_HEALTH_ESTABLISHMENT: _l("Health establishments"),
              ClientCategory.PUBLIC_ENTERPRISE: _l("Public enterprises"),
              ClientCategory.ASSOCIATION: _l("Associations"), ClientCategory.COMPANY: _l("Companies")}
SESSION_STATES = {"open": _l("open"), "closed": _l("closed"), "held": _l("held"), "cancelled": _l("cancelled")}


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as printed beside the bar
    width: float  # pixels


def bars(items: Sequence[tuple[str, Decimal | int, str]]) -> list[Bar]:
    """Bars scaled to the largest value (all zero: no bar drawn, the values still printed)."""
    top = max((float(value) for _, value, _ in items), default=0.0)
    return [Bar(label, text, round(float(value) / top * BAR_WIDTH, 1) if top > 0 else 0.0)
            for label, value, text in items]


@dataclass(frozen=True)
class Writing:
    """How a table writes its values: the page in its language (Babel's `1 190,00 €`, `12,5 %`), the CSV as it
    always has, in French, whoever downloads it (a sheet's columns and cells do not depend on the user)."""

    amount: Callable[[Decimal], str]
    day: Callable[[date], str]
    rate: Callable[[Decimal], str]
    state: Callable[[str], str]


PAGE = Writing(i18n.euros, i18n.day, percent, lambda state: str(SESSION_STATES.get(state, state)))
CSV = Writing(form_rules.euros, lambda day: f"{day:%d/%m/%Y}", lambda rate: f"{rate} %".replace(".", ","), str)
NONE = "–"


@dataclass(frozen=True)
class Table:
    """Column headings and rows: what the CSV and the table beneath the chart hold; a bar per drawn row."""

    headings: list[str]
    rows: list[list[str]]
    bars: Sequence[tuple[str, Decimal | int, str]]  # label, value, value as printed


def _sessions_table(w: Writing) -> Table:
    office = back_office()
    fills = session_fill(office.sessions, office.catalogue(), from_day=paris_date(office.clock.now()))
    rows = [[f.session_id, f.title, w.day(f.day), w.state(f.state), str(f.seats_taken),
             NONE if f.capacity is None else str(f.capacity), NONE if f.rate is None else w.rate(f.rate)]
            for f in fills]
    return Table([_("Session"), _("Training"), _("Date"), _("State"), _("Seats taken"), _("Capacity"),
                  _("Fill rate")], rows,
                 [(f"{row[2]} · {row[1][:34]}", fill.seats_taken, f"{row[4]} / {row[5]}") for row, fill in
                  zip(rows, fills, strict=True)])


def _receivables_table(w: Writing) -> Table:
    office = back_office()
    aged = aged_receivables(open_receivables(office.sessions), paris_date(office.clock.now()))
    kinds = [kind for kind in CLIENT_KINDS if any(kind in by_kind for by_kind in aged.by_age_and_kind.values())]
    names = [str(i18n.in_language(bucket.fr, bucket.en)) for bucket in AGE_BUCKETS]
    rows = [[name, str(aged.count_by_age[bucket.key]), w.amount(aged.by_age[bucket.key]),
             *(w.amount(aged.by_age_and_kind[bucket.key].get(kind, ZERO)) for kind in kinds)]
            for name, bucket in zip(names, AGE_BUCKETS, strict=True)]
    bars = [(row[0], aged.by_age[bucket.key], row[2]) for row, bucket in zip(rows, AGE_BUCKETS, strict=True)]
    rows.append([_("Total"), str(sum(aged.count_by_age.values())), w.amount(aged.total),
                 *(w.amount(sum((aged.by_age_and_kind[b.key].get(kind, ZERO) for b in AGE_BUCKETS), ZERO))
                   for kind in kinds)])
    return Table([_("Age"), _("Invoices"), _("Amount owed"), *(str(KIND_NAMES[kind]) for kind in kinds)], rows, bars)


def _expected_table(w: Writing) -> Table:
    office = back_office()
    months = expected_by_month(open_receivables(office.sessions), paris_date(office.clock.now()))
    rows = [[month_label(m.month), str(m.invoices), w.amount(m.amount), _("yes") if m.overdue else _("no")]
            for m in months]
    return Table([_("Month due"), _("Invoices"), _("Amount expected"), _("Overdue")], rows,
                 [(_("%(month)s (overdue)", month=row[0]) if m.overdue else row[0], m.amount, row[2])
                  for row, m in zip(rows, months, strict=True)])


def _emails_table(_writing: Writing) -> Table:
    counts = email_counts(back_office().sessions)
    rows = [[str(i18n.in_language(fr, en)), str(counts[status])] for status, fr, en in EMAIL_STATUSES]
    drawn = [(row[0], counts[status], row[1]) for row, (status, _fr, _en) in zip(rows, EMAIL_STATUSES, strict=True)]
    return Table([_("State"), _("E-mails")], rows, drawn)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    roles: tuple[Role, ...]  # empty: everyone
    table: Callable[[Writing], Table]


CHARTS = (
    Chart("seances", _l("Fill of the sessions to come"), (), _sessions_table),
    Chart("creances", _l("Receivables by age"), (Role.FINANCE,), _receivables_table),
    Chart("encaissements", _l("Payments expected by month due"), (Role.FINANCE,), _expected_table),
    Chart("emails", _l("E-mails"), (Role.SUPPORT, Role.OPERATIONS), _emails_table),
)


def _allowed(chart: Chart) -> bool:
    return not chart.roles or any(current_user().can(role) for role in chart.roles)


@pages.get("/tableau-de-bord")
def dashboard() -> ResponseReturnValue:
    shown = []
    for chart in CHARTS:
        if not _allowed(chart):
            continue
        table = chart.table(PAGE)
        shown.append({"chart": chart, "headings": table.headings, "rows": table.rows, "bars": bars(table.bars)})
    return render_template("dashboard.html", shown=shown, bar_width=BAR_WIDTH)


@pages.get("/tableau-de-bord/<key>.csv")
def dashboard_csv(key: str) -> ResponseReturnValue:
    chart = next((c for c in CHARTS if c.key == key), None)
    if chart is None:
        abort(404, _("No chart “%(key)s”.", key=key[:40]))
    if not _allowed(chart):
        abort(403, _("This chart is not for your role."))
    with force_locale("fr"):
        table = chart.table(CSV)
    return spreadsheet(table.headings, table.rows, f"{key}.csv")
