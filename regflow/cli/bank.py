"""Finance: bank statements imported and matched to invoices (`workflow.ops.bank_statements`, docs/bank-statements.md).

Exit codes of `regflow bank import`: 0 every line recorded with its outcome and its payments sent; 1 some rows
could not be read (listed, the others recorded); 2 the file refused as a whole (nothing recorded); 3 the broker
away: the payments decided are kept "to send", `regflow bank send` sends them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regflow.cli.commands import Command, command, json_option
from regflow.cli.options import ACTOR, Choice
from regflow.cli.output import clean, print_lines, printable, to_json

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from workflow.domain.clock import Clock
    from workflow.settings import Settings

ACTIONS = ["import", "lines", "send", "confirm", "reject"]


def _wiring(settings: Settings) -> tuple[sessionmaker[Session], Clock]:
    from workflow.adapters.clocks import clock_from_spec
    from workflow.persistence.db import make_engine, session_factory

    return session_factory(make_engine(settings.database_url)), clock_from_spec(settings.clock)


def _print_line(line: dict[str, Any]) -> None:
    split = ", ".join(f"{a['invoice']} {a['amount']}" + (f" ({' '.join(a['anomalies'])})" if a.get("anomalies") else "")
                      for a in line["allocations"]) or "-"
    print(printable(f"{line['id']:>5} {line['outcome']:<10} {line['booked_on']} {line['amount']:>10} "
                    f"{line['bank_reference']:<24} {split}"))
    print(printable(f"      {line['reason_fr']} / {line['reason_en']}"))


@command("bank", "finance: bank statements (CAMT.053, CSV) imported and matched to invoices; lines, send, "
                 "confirm, reject",
         details="import FILE: every new credit gets one outcome (matched: its payments are sent as `regflow pay` "
                 "would; proposed: finance confirms or rejects it; unmatched: kept with why); a line already "
                 "imported counts once. lines: the lines (--unmatched, --proposed). send: the payments left to send. "
                 "confirm ID / reject ID --by WHO: a proposed line.",
         exclusive=[("unmatched", "proposed")])
@click.argument("action", type=Choice(ACTIONS))
@click.argument("target", required=False, metavar="[FILE|ID]")
@click.option("--format", "fmt", type=Choice(["camt053", "csv"]), help="default: XML is CAMT.053, else CSV")
@click.option("--unmatched", is_flag=True, help="lines: only the unmatched")
@click.option("--proposed", is_flag=True, help="lines: only the proposed")
@click.option("--by", type=ACTOR, help="who imports, confirms or rejects")
@json_option
def bank(settings: Settings, *, action: str, target: str | None, fmt: str | None, unmatched: bool, proposed: bool,
         by: str | None, as_json: bool) -> int:
    from producers.bank_payments import send_pending

    sessions, clock = _wiring(settings)
    if action == "lines":
        from workflow.ops.bank_statements import bank_lines

        rows = bank_lines(sessions, "unmatched" if unmatched else "proposed" if proposed else None)
        if as_json:
            print(to_json(rows))
        else:
            for row in clean(rows):
                _print_line(row)
            print(f"{len(rows)} ligne(s) / line(s)")
        return 0
    if action == "send":
        sent, stopped = send_pending(settings, sessions, clock)
        print(f"{sent} ligne(s) envoyée(s) / line(s) sent")
        if stopped:
            print(printable(f"erreur / error: courtier injoignable / broker away ({stopped}): relancez / re-run "
                            "`regflow bank send`"), file=sys.stderr)
            return 3
        return 0
    if target is None:
        print(f"erreur / error: regflow bank {action}: {'FILE' if action == 'import' else 'ID'} manquant / missing",
              file=sys.stderr)
        return 2
    if action in {"confirm", "reject"}:
        return _decide(settings, sessions, clock, target, confirm=action == "confirm", by=by)
    return _import(settings, sessions, clock, Path(target), fmt=fmt, by=by, as_json=as_json)


def _decide(settings: Settings, sessions: sessionmaker[Session], clock: Clock, target: str, *, confirm: bool,
            by: str | None) -> int:
    from producers.bank_payments import send_pending
    from workflow.ops.bank_statements import BankLineDecisionError, decide

    if by is None or not target.isdigit():
        print("erreur / error: confirm|reject ID --by WHO", file=sys.stderr)
        return 2
    try:
        row = decide(sessions, clock, int(target), confirm=confirm, by=by)
    except BankLineDecisionError as exc:
        print(printable(f"erreur / error: {exc.fr} / {exc}"), file=sys.stderr)
        return 1
    print(printable(f"ligne {row.id} : {row.outcome} / line {row.id}: {row.outcome}"))
    if not confirm:
        return 0
    _, stopped = send_pending(settings, sessions, clock)
    if stopped:
        print(printable(f"erreur / error: courtier injoignable / broker away ({stopped}): `regflow bank send`"),
              file=sys.stderr)
        return 3
    return 0


def _import(settings: Settings, sessions: sessionmaker[Session], clock: Clock, path: Path, *,
            fmt: str | None, by: str | None, as_json: bool) -> int:
    from producers.bank_payments import send_pending
    from workflow.domain.bank_statement import MAX_STATEMENT_BYTES
    from workflow.domain.errors import StatementFileError
    from workflow.ops.bank_statements import import_statement

    try:
        if path.stat().st_size > MAX_STATEMENT_BYTES:
            raise StatementFileError(f"fichier de {path.stat().st_size} octets, au-delà de {MAX_STATEMENT_BYTES}",
                                     f"file of {path.stat().st_size} bytes, over {MAX_STATEMENT_BYTES}")
        report = import_statement(sessions, clock, path.read_bytes(), file_name=path.name, fmt=fmt, by=by)
    except OSError as exc:
        print_lines(f"erreur / error: {path}: illisible / cannot be read ({exc.strerror}); rien n'a été enregistré / "
                    "nothing recorded", file=sys.stderr)
        return 2
    except StatementFileError as exc:
        print_lines(f"erreur / error: {path}: {exc.bilingual()}\nrien n'a été enregistré / nothing recorded",
                    file=sys.stderr)
        return 2
    sent, stopped = send_pending(settings, sessions, clock)
    totals = report.totals()
    if as_json:
        print(to_json({"import_id": report.import_id, "file": report.file_name, "sha256": report.file_sha256,
                       "format": report.format, "file_seen_before": report.file_seen_before, "totals": totals,
                       "lines": report.lines, "problems": report.problems, "ignored": report.ignored,
                       "lines_sent": sent, "not_sent": stopped}))
    else:
        if report.file_seen_before:
            print(printable(f"{report.file_name} : déjà importé (même SHA-256) / already imported (same SHA-256)"))
        for line in clean(report.lines):
            _print_line(line)
        for p in clean(report.problems):
            print(f"ligne {p['line']} : {p['fr']} / line {p['line']}: {p['en']}")
        print(f"{totals['new']} nouvelle(s) / new: {totals['matched']} rapprochée(s) / matched, {totals['proposed']} "
              f"proposée(s) / proposed, {totals['unmatched']} non rapprochée(s) / unmatched; {totals['known']} déjà "
              f"connue(s) / already known; {totals['problems']} illisible(s) / unreadable; {totals['ignored']} "
              f"ignorée(s) (débits, non comptabilisées) / ignored (debits, not booked)")
    if stopped:
        print(printable(f"erreur / error: courtier injoignable / broker away ({stopped}): paiements gardés à envoyer / "
                        "payments kept to send: `regflow bank send`"), file=sys.stderr)
        return 3
    return 1 if report.problems else 0


COMMANDS: tuple[Command, ...] = (bank,)
