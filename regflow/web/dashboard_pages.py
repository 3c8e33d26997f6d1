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

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from flask import Response, abort, render_template
from flask.typing import ResponseReturnValue

from regflow.web.context import back_office, current_user, pages
from regflow.web.users import Role
from workflow.domain.dashboards import AGE_BUCKETS, CLIENT_KINDS, aged_receivables, expected_by_month, month_label
from workflow.domain.form_rules import euros
from workflow.domain.payment_rules import paris_date
from workflow.ops.dashboards import EMAIL_STATUSES, email_counts, open_receivables, session_fill
from workflow.ops.surveys import spreadsheet_safe

BAR_WIDTH = 320  # pixels of the longest bar


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as printed beside the bar
    width: float  # pixels


def bars(items: Iterable[tuple[str, Decimal | int, str]]) -> list[Bar]:
    """Bars scaled to the largest value (all zero: no bar drawn, the values still printed)."""
    listed = list(items)
    top = max((float(value) for _, value, _ in listed), default=0.0)
    return [Bar(label, text, round(float(value) / top * BAR_WIDTH, 1) if top > 0 else 0.0)
            for label, value, text in listed]


Table = tuple[list[str], list[list[str]]]  # column headings, rows: what the CSV and the table beneath the chart hold


def _sessions_table() -> Table:
    office = back_office()
    fills = session_fill(office.sessions, office.catalogue(), from_day=paris_date(office.clock.now()))
    return (["Séance", "Formation", "Date", "État", "Places prises", "Capacité", "Taux de remplissage"],
            [[f.session_id, f.title, f"{f.day:%d/%m/%Y}", f.state, str(f.seats_taken),
              "–" if f.capacity is None else str(f.capacity),
              "–" if f.rate is None else f"{f.rate} %".replace(".", ",")] for f in fills])


def _receivables_table() -> Table:
    office = back_office()
    aged = aged_receivables(open_receivables(office.sessions), paris_date(office.clock.now()))
    kinds = [kind for kind in CLIENT_KINDS if any(kind in by_kind for by_kind in aged.by_age_and_kind.values())]
    rows = [[bucket.fr, str(aged.count_by_age[bucket.key]), euros(aged.by_age[bucket.key]),
             *(euros(aged.by_age_and_kind[bucket.key].get(kind, Decimal("0.00"))) for kind in kinds)]
            for bucket in AGE_BUCKETS]
    rows.append(["Total", str(sum(aged.count_by_age.values())), euros(aged.total),
                 *(euros(sum((aged.by_age_and_kind[b.key].get(kind, Decimal("0.00")) for b in AGE_BUCKETS),
                             Decimal("0.00"))) for kind in kinds)])
    return ["Ancienneté", "Factures", "Montant dû", *(CLIENT_KINDS[kind] for kind in kinds)], rows


def _expected_table() -> Table:
    office = back_office()
    months = expected_by_month(open_receivables(office.sessions), paris_date(office.clock.now()))
    return (["Mois d'échéance", "Factures", "Montant attendu", "Échu"],
            [[month_label(m.month), str(m.invoices), euros(m.amount), "oui" if m.overdue else "non"] for m in months])


def _emails_table() -> Table:
    counts = email_counts(back_office().sessions)
    return ["État", "E-mails"], [[fr, str(counts[status])] for status, fr, _ in EMAIL_STATUSES]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    roles: tuple[Role, ...]  # empty: everyone
    table: Callable[[], Table]
    bar_from: Callable[[list[str]], tuple[str, Decimal | int, str]]  # a table row → the bar drawn for it


def _amount(text: str) -> Decimal:
    return Decimal(text.removesuffix(" €").replace(" ", "").replace(",", "."))


CHARTS = (
    Chart("seances", "Remplissage des séances à venir", (), _sessions_table,
          lambda row: (f"{row[2]} · {row[1][:34]}", int(row[4]), f"{row[4]} / {row[5]}")),
    Chart("creances", "Créances par ancienneté", (Role.FINANCE,), _receivables_table,
          lambda row: (row[0], _amount(row[2]), row[2])),
    Chart("encaissements", "Encaissements attendus par mois d'échéance", (Role.FINANCE,), _expected_table,
          lambda row: (row[0] + (" (échu)" if row[3] == "oui" else ""), _amount(row[2]), row[2])),
    Chart("emails", "E-mails", (Role.SUPPORT, Role.OPERATIONS), _emails_table,
          lambda row: (row[0], int(row[1]), row[1])),
)


def _allowed(chart: Chart) -> bool:
    return not chart.roles or any(current_user().can(role) for role in chart.roles)


@pages.get("/tableau-de-bord")
def dashboard() -> ResponseReturnValue:
    shown = []
    for chart in CHARTS:
        if not _allowed(chart):
            continue
        headings, rows = chart.table()
        drawn = [row for row in rows if row[0] != "Total"]
        shown.append({"chart": chart, "headings": headings, "rows": rows,
                      "bars": bars(chart.bar_from(row) for row in drawn)})
    return render_template("dashboard.html", shown=shown, bar_width=BAR_WIDTH)


@pages.get("/tableau-de-bord/<key>.csv")
def dashboard_csv(key: str) -> ResponseReturnValue:
    chart = next((c for c in CHARTS if c.key == key), None)
    if chart is None:
        abort(404, f"Pas de graphique « {key[:40]} ». / No such chart.")
    if not _allowed(chart):
        abort(403, "Ce graphique n'est pas pour votre rôle. / This chart is not for your role.")
    headings, rows = chart.table()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # the separator a French spreadsheet expects
    writer.writerow(headings)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), 200, {"Content-Type": "text/csv; charset=utf-8",
                                                      "Content-Disposition": f'attachment; filename="{key}.csv"'})
