"""Finance's late-payment interest claims (CCP R2192-36): `regflow interest-claims [--open] [--json|--csv]` lists
them; `pay`, `waive` and `letter` act on one. They write the database directly, one transaction each with its
event in the outbox, as `regflow sessions` does."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regflow.cli.commands import CONTEXT_SETTINGS, command, json_option, load_settings
from regflow.cli.options import ACTOR, AMOUNT, DATE, _text
from regflow.cli.output import Column, both, clean, print_table, printable, to_json
from workflow.domain.interest_claim import WAIVE_REASON_MAX, WAIVE_REASON_MIN

if TYPE_CHECKING:
    from workflow.ops.interest_claims import InterestClaimDesk
    from workflow.settings import Settings

CLAIM_NUMBER = _text("numéro de demande d'intérêts", "interest claim number", 24, pattern=r"INT-[0-9]{4}-[0-9]{6,9}",
                     metavar="INT-YYYY-NNNNNN")
WAIVE_REASON = _text("motif", "reason", WAIVE_REASON_MAX, min_length=WAIVE_REASON_MIN)
TABLE = (Column("claim", "number", 18), Column("status", "status", 7), Column("invoice", "invoice", 12),
         Column("late", "days_late", 4, right=True), Column("rate", "percent", 6, right=True),
         Column("interest", "interest", 9, right=True), Column("indemn.", "indemnity", 7, right=True),
         Column("total", "total", 8, right=True), Column("paid", "paid", 8, right=True),
         Column("payable by", "payable_by", 10), Column("client", "client", empty="-", gap="  "))


def desk(settings: Settings) -> InterestClaimDesk:
    from workflow.adapters.clocks import clock_from_spec
    from workflow.ops.interest_claims import InterestClaimDesk
    from workflow.persistence.db import make_engine, session_factory

    return InterestClaimDesk(session_factory(make_engine(settings.database_url)), clock_from_spec(settings.clock))


def _summary(claim: dict[str, Any]) -> str:
    return printable(f"{claim['number']}  {claim['status_fr']} / {claim['status']}  facture / invoice "
                     f"{claim['invoice']}  {claim['total']} EUR (payé / paid {claim['paid']})  "
                     f"à payer avant le / payable by {claim['payable_by']}")


def _listing(settings: Settings, *, open_only: bool, as_json: bool, as_csv: bool) -> int:
    import csv

    from workflow.ops.interest_claims import COLUMNS

    rows = desk(settings).listing(open_only=open_only)
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(clean(rows))
    elif as_json:
        print(to_json(rows))
    else:
        print_table(TABLE, rows)
        print(f"{len(rows)} demande(s) / claim(s)")
    return 0


@command("pay", "record a payment of an interest claim (more than what is still owed is refused)")
@click.argument("number", type=CLAIM_NUMBER)
@click.option("--amount", required=True, type=AMOUNT, help="euros, e.g. 51.74")
@click.option("--on", "paid_on", required=True, type=DATE, help="YYYY-MM-DD, the day it was received")
@click.option("--by", type=ACTOR, help="who records it")
@json_option
def pay(settings: Settings, *, number: str, amount: Decimal, paid_on: date, by: str | None, as_json: bool) -> int:
    claim = desk(settings).pay(number, amount, paid_on=paid_on, by=by)
    print(to_json(claim) if as_json else _summary(claim))
    return 0


@command("waive", "finance gives up an interest claim, with a reason kept with who and when")
@click.argument("number", type=CLAIM_NUMBER)
@click.option("--reason", required=True, type=WAIVE_REASON, help=f"{WAIVE_REASON_MIN} to {WAIVE_REASON_MAX} characters")
@click.option("--by", required=True, type=ACTOR, help="who waives it")
@json_option
def waive(settings: Settings, *, number: str, reason: str, by: str, as_json: bool) -> int:
    claim = desk(settings).waive(number, reason=reason, by=by)
    print(to_json(claim) if as_json else _summary(claim))
    return 0


@command("letter", "write the claim's PDF letter, as issued, to a file")
@click.argument("number", type=CLAIM_NUMBER)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="the PDF file to write")
def letter(settings: Settings, *, number: str, out: Path) -> int:
    out.write_bytes(desk(settings).letter(number))
    print(both(f"lettre écrite dans {out}", f"letter written to {out}"))
    return 0


@click.group("interest-claims", cls=click.Group, invoke_without_command=True, context_settings=CONTEXT_SETTINGS,
             short_help="finance: late-payment interest claimed from public buyers; pay, waive, letter",
             help="Finance: late-payment interest claimed from public buyers (CCP R2192-36). Without a subcommand, "
                  "the list (--open: only the open ones).")
@click.option("--open", "open_only", is_flag=True, help="only the claims still open")
@click.option("--csv", "as_csv", is_flag=True, help="print it as CSV, for a spreadsheet")
@json_option
@click.pass_context
def interest_claims(ctx: click.Context, *, open_only: bool, as_csv: bool, as_json: bool) -> int:
    if ctx.invoked_subcommand is not None:
        return 0
    if as_csv and as_json:
        raise click.UsageError(both("--json ne va pas avec --csv", "--json: not allowed with --csv"), ctx)
    return _listing(load_settings(), open_only=open_only, as_json=as_json, as_csv=as_csv)


for _one in (pay, waive, letter):
    interest_claims.add_command(_one)

COMMANDS: tuple[click.Command, ...] = (interest_claims,)
