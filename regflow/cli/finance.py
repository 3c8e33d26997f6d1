"""Finance's commands: payments recorded, invoices corrected (as finance's broker user,
REGFLOW_BROKER_URL_FINANCE), the invoices and payments listed, the overdue notices published now."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import click
from pydantic import ValidationError

from regflow.cli.commands import Command, command, json_option, sending
from regflow.cli.decisions import Sent, Waiting, answer
from regflow.cli.options import ACTOR, AMOUNT, DATE, INVOICE_NUMBER, PAYER, PAYMENT_ID, REASON, Choice
from regflow.cli.output import Column, clean, print_lines, print_table, to_json, validation_summary
from schemas.limits import MAX_AMOUNT
from schemas.messages import RecordPayment

if TYPE_CHECKING:
    from workflow.settings import Settings

PAYMENT_MEANS: tuple[str, ...] = get_args(RecordPayment.model_fields["means"].annotation)  # from the schema
INVOICE_TABLE = (Column("invoice", "invoice", 12), Column("status", "status", 9), Column("due on", "due_on", 10),
                 Column("total", "total", 10, right=True), Column("paid", "paid", 10, right=True),
                 Column("outstanding", "outstanding", 11, right=True), Column("late", "days_overdue", 5, right=True),
                 Column("client", "client", gap="  "))
PAYMENT_TABLE = (Column("payment", "payment_id", 24), Column("invoice", "invoice", 12, empty="-"),
                 Column("amount", "amount", 10, right=True), Column("received", "received_on", 10),
                 Column("means", "means", 20), Column("by", "recorded_by", 10, empty="-"),
                 Column("anomalies", lambda r: ", ".join(r["anomalies"]), empty="-"))


@sending("pay", "record a payment received by finance")
@click.option("--payment-id", required=True, type=PAYMENT_ID)
@click.option("--invoice", type=INVOICE_NUMBER, help="invoice number, e.g. 2023-000001")
@click.option("--amount", required=True, type=AMOUNT,
              help=f"euros, a dot and at most 2 decimals, e.g. 1190.00 (up to {MAX_AMOUNT})")
@click.option("--on", "received_on", required=True, type=DATE, help="YYYY-MM-DD, the day it was received")
@click.option("--payer", type=PAYER)
@click.option("--means", default="transfer", type=Choice(PAYMENT_MEANS), help="default: transfer")
@click.option("--by", type=ACTOR, help="who records it (the history's actor when it settles the invoice)")
def pay(settings: Settings, waiting: Waiting, *, payment_id: str, invoice: str | None, amount: Decimal,
        received_on: date, payer: str | None, means: str, by: str | None) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="finance", producer="finance") as client:
        envelope = client.record_payment(payment_id=payment_id, invoice_number=invoice, amount=amount,
                                         received_on=received_on, payer=payer, means=means, requested_by=by)
    return answer(settings, waiting, [Sent(envelope, f"paiement {payment_id} de {amount} EUR enregistré",
                                           f"payment {payment_id} of {amount} EUR recorded")])


@sending("correct-invoice", "credit a wrong invoice and issue a corrected one")
@click.argument("invoice_number", type=INVOICE_NUMBER)
@click.option("--reason", required=True, type=REASON)
@click.option("--client-json", metavar="FILE", help="a JSON file (UTF-8) with the corrected organisme-client block")
def correct_invoice(settings: Settings, waiting: Waiting, *, invoice_number: str, reason: str,
                    client_json: str | None) -> int:
    from producers.commands import CommandClient, TextFileError, read_utf8_text
    from schemas.form import ClientOrganisation

    client_block = None
    if client_json:
        path = Path(client_json)
        try:
            client_block = ClientOrganisation.model_validate_json(
                read_utf8_text(path, max_bytes=settings.max_message_bytes))
        except TextFileError as exc:
            print_lines(f"erreur / error: {path}: {exc}; rien n'a été envoyé / nothing sent", file=sys.stderr)
            return 2
        except ValidationError as exc:
            print_lines(f"erreur / error: {path}: pas un bloc organisme-client / not a client block: "
                        f"{validation_summary(exc)}; rien n'a été envoyé / nothing sent", file=sys.stderr)
            return 2
    with CommandClient(settings, role="finance", producer="finance") as client:
        envelope = client.correct_invoice(invoice_number, reason, client_block)
    return answer(settings, waiting, [Sent(
        envelope, f"facture {invoice_number} : avoir et facture rectificative émis",
        f"invoice {invoice_number}: credit note and corrected invoice issued")])


@command("invoices", "finance: invoices, due dates, paid, outstanding, days overdue")
@click.option("--status", type=Choice(["open", "settled", "overpaid", "credited"]))
@click.option("--csv", "as_csv", is_flag=True, help="print it as CSV, for a spreadsheet")
@json_option
def invoices(settings: Settings, *, status: str | None, as_csv: bool, as_json: bool) -> int:
    import csv

    from workflow.bootstrap import bootstrap
    from workflow.domain.payment_rules import paris_date
    from workflow.persistence.views import INVOICE_COLUMNS, invoice_list

    deps = bootstrap(settings)
    rows = invoice_list(deps.sessions, paris_date(deps.clock.now()), status)
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=INVOICE_COLUMNS)
        writer.writeheader()
        writer.writerows(clean(rows))
    elif as_json:
        print(to_json(rows))
    else:
        print_table(INVOICE_TABLE, rows)
    return 0


@command("payments", "finance: payments received, who recorded them, their anomalies",
         exclusive=[("as_json", "as_csv")])
@click.option("--invoice", help="only the payments of this invoice")
@click.option("--anomalies", is_flag=True, help="only the payments with an anomaly")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="print it as CSV, for a spreadsheet")
def payments(settings: Settings, *, invoice: str | None, anomalies: bool, as_json: bool, as_csv: bool) -> int:
    """Finance: the payments received, who recorded them and their anomalies (`--anomalies`: only those)."""
    import csv

    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import PAYMENT_COLUMNS, payment_list

    rows = payment_list(session_factory(make_engine(settings.database_url)), invoice=invoice,
                        anomalies_only=anomalies)
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=PAYMENT_COLUMNS)
        writer.writeheader()
        writer.writerows({**r, "anomalies": " ".join(r["anomalies"])} for r in clean(rows))
    elif as_json:
        print(to_json(rows))
    else:
        print_table(PAYMENT_TABLE, rows)
        print(f"{len(rows)} payment(s)")
    return 0


@command("check-overdue", "publish payment.overdue now (the payments consumer also runs it every "
                          "REGFLOW_PERIODIC_CHECK_SECONDS)")
@click.option("--as-of", type=DATE, help="YYYY-MM-DD; default: today (the clock)")
@json_option
def overdue_notices(settings: Settings, *, as_of: date | None, as_json: bool) -> int:
    from consumers.payments import check_overdue
    from workflow.bootstrap import bootstrap
    from workflow.domain.payment_rules import paris_date

    deps = bootstrap(settings)
    as_of = as_of or paris_date(deps.clock.now())
    published = check_overdue(deps, as_of)
    if as_json:
        print(to_json({"as_of": as_of.isoformat(), "published": published}))
    else:
        print(f"{published} payment.overdue event(s) queued for publication (as of {as_of})")
    return 0


COMMANDS: tuple[Command, ...] = (pay, correct_invoice, invoices, payments, overdue_notices)
