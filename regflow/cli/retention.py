"""What may be erased, and from which day: `regflow retention report [--json|--csv] [--as-of YYYY-MM-DD]
[--erasable-only]` (the rules are in `workflow.domain.retention`; nothing here erases: that is the personal-data
work's, later)."""

from __future__ import annotations

import sys
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from regflow.cli.commands import CONTEXT_SETTINGS, command, json_option
from regflow.cli.options import Checked, InputError
from regflow.cli.output import Column, clean, print_lines, print_table, to_json

if TYPE_CHECKING:
    from workflow.domain.retention import Item
    from workflow.settings import Settings

COLUMNS = ("kind", "label_fr", "identifier", "count", "dated", "erasable_from", "erasable", "waiting_for", "rule",
           "article")


def _identifier(row: dict[str, Any]) -> str:
    """The identifier, how many it stands for, and, while not erasable, whose payment is awaited."""
    many = f" ×{row['count']}" if row["count"] > 1 else ""
    waiting = "" if row["erasable_from"] is not None else \
        f" (paiement attendu : {', '.join(row['waiting_for']) or 'aucune inscription connue'})"
    return f"{row['identifier']}{many}{waiting}"


TABLE = (Column("effaçable dès", "erasable_from", 13, empty="en attente"),
         Column("ce jour", lambda r: "oui" if r["erasable"] else "non", 7), Column("daté du", "dated", 10),
         Column("règle", "rule", 28), Column("nature", "label_fr", 40), Column("identifiant", _identifier))


def _as_of(text: str) -> date:
    """The domain's check, as a usage error (exit 2, before anything is read)."""
    from workflow.domain.retention import RetentionDateError, as_of_date

    try:
        return as_of_date(text)
    except RetentionDateError as refused:
        raise InputError(str(refused)) from None  # click names the option


_as_of.__name__ = "as_of"
AS_OF = Checked(_as_of, "YYYY-MM-DD")


def _row(item: Item, as_of: date) -> dict[str, Any]:
    from workflow.domain.retention import LABEL_FR

    return {"kind": item.kind.value, "label_fr": LABEL_FR[item.kind], "identifier": item.identifier,
            "count": item.count, "dated": item.dated.isoformat(),
            "erasable_from": item.erasable_from.isoformat() if item.erasable_from else None,
            "erasable": item.erasable(as_of), "waiting_for": list(item.waiting_for), "rule": item.rule.key,
            "article": item.rule.article}


def _text(rows: list[dict[str, Any]], as_of: date) -> None:
    from workflow.domain.retention import ACCOUNTING, CERTIFICATE_EVIDENCE

    print(f"Conservation au {as_of} : ce qui peut être effacé, et dès quand (rien n'est effacé ici) / "
          f"retention as of {as_of}: what may be erased, and from when (nothing is erased here)")
    print_table(TABLE, rows)
    erasable = sum(r["erasable"] for r in rows)
    print(f"{len(rows)} élément(s), {erasable} effaçable(s) / {len(rows)} item(s), {erasable} erasable")
    print_lines("\n".join(f"{rule.key} : {rule.fr} ; {rule.article} / {rule.en}"
                          for rule in (ACCOUNTING, CERTIFICATE_EVIDENCE)))


@command("report", "what may be erased and from which day: invoices, credit notes and payments 10 years, a "
                   "certificate's supporting documents 3 years after the last payment",
         details="Invoices, credit notes and payments: 10 years after the close of their financial year (code de "
                 "commerce L123-22). The certificates and their supporting documents (signed sheet, service-fait "
                 "record, the trainer's marks, report lines, link openings, evidence pack): until 31 December of "
                 "the year of the last payment of the registrations concerned + 3 (the certificate's commitment, "
                 "arrêté of 21 December 2018); kept while one is not paid in full. Nothing is erased.",
         exclusive=[("as_json", "as_csv")])
@click.option("--as-of", "as_of", type=AS_OF, help="YYYY-MM-DD, the day asked about; default: today (the clock)")
@click.option("--erasable-only", is_flag=True, help="only what may be erased on that day")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="print it as CSV, for a spreadsheet")
def report(settings: Settings, *, as_of: date | None, erasable_only: bool, as_json: bool, as_csv: bool) -> int:
    import csv
    from dataclasses import asdict

    from workflow.adapters.clocks import clock_from_spec
    from workflow.domain.payment_rules import paris_date
    from workflow.domain.retention import ACCOUNTING, CERTIFICATE_EVIDENCE
    from workflow.domain.retention import report as retention_report
    from workflow.ops.retention import retention_items
    from workflow.persistence.db import make_engine, session_factory

    day = as_of or paris_date(clock_from_spec(settings.clock).now())
    items = retention_report(retention_items(session_factory(make_engine(settings.database_url))), day,
                             erasable_only=erasable_only)
    rows = [_row(item, day) for item in items]
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({**r, "waiting_for": " ".join(r["waiting_for"])} for r in clean(rows))
    elif as_json:
        rules = [asdict(rule) for rule in (ACCOUNTING, CERTIFICATE_EVIDENCE)]
        print(to_json({"as_of": day.isoformat(), "items": rows, "rules": rules}))
    else:
        _text(rows, day)
    return 0


retention = click.Group("retention", help="finance: what may be erased, and from when",
                        context_settings=CONTEXT_SETTINGS, commands=[report])

COMMANDS: tuple[click.Command, ...] = (retention,)
