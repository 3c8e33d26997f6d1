"""`regflow chorus …`: the invoices on the e-invoicing platform (Chorus Pro), for support and finance. `poll` asks
the platform now (the invoicing consumer also does every REGFLOW_CHORUS_POLL_SECONDS); `correct` fixes a held or
*à recycler* invoice's routing and sends it; `complete` answers a *suspendue* one with the evidence pack. Each
decision is committed first, then sent by the same poll (workflow/ops/einvoicing.py)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import CONTEXT_SETTINGS, Command, command, json_option
from regflow.cli.options import ACTOR, INVOICE_NUMBER, form_field
from regflow.cli.output import print_lines, to_json

if TYPE_CHECKING:
    from workflow.ops.einvoicing import Poll, PollReport
    from workflow.settings import Settings

SERVICE_CODE = form_field("client.chorus_service_code", "code service", "service code")
COMMITMENT = form_field("client.chorus_commitment_number", "numéro d'engagement", "commitment number")


def _poll(settings: Settings) -> Poll:
    from workflow.bootstrap import bootstrap
    from workflow.ops.einvoicing import Poll

    deps = bootstrap(settings)
    return Poll(deps.sessions, deps.clock, deps.chorus, deps.schedule, settings.private_payment_term_days,
                deps.evidence)


def _report(report: PollReport, as_json: bool) -> int:
    if as_json:
        print(to_json({"sent": report.sent, "held": report.held,
                       "changed": [{"document": n, "status": s} for n, s in report.changed],
                       "failed": [{"document": n, "error": e} for n, e in report.failed]}))
    else:
        for number in report.sent:
            print(f"{number}: envoyée / sent")
        for number in report.held:
            print(f"{number}: retenue (voir la page Factures) / held (see the Invoices page)")
        for number, status in report.changed:
            print(f"{number}: {status}")
        for number, error in report.failed:
            print_lines(f"{number}: échec, réessayé au prochain relevé / failed, tried again at the next poll: "
                        f"{error}", file=sys.stderr)
        print(f"{len(report.sent)} sent, {len(report.held)} held, {len(report.changed)} status change(s), "
              f"{len(report.failed)} failure(s)")
    return 1 if report.failed else 0


@command("poll", "ask the platform now: send what waits, read every deposited invoice's status")
@click.option("--invoice", "only", type=INVOICE_NUMBER, help="only this document")
@json_option
def poll(settings: Settings, *, only: str | None, as_json: bool) -> int:
    from workflow.ops.einvoicing import poll_platform

    return _report(poll_platform(_poll(settings), only), as_json)


@command("correct", "correct a held or à-recycler invoice's routing, then send it (same number)")
@click.argument("invoice_number", type=INVOICE_NUMBER)
@click.option("--service-code", type=SERVICE_CODE, help="the buyer's code service (BT-10)")
@click.option("--commitment", type=COMMITMENT, help="the buyer's numéro d'engagement (BT-13)")
@click.option("--by", required=True, type=ACTOR, help="who corrects it (recorded in the history)")
@json_option
def correct(settings: Settings, *, invoice_number: str, service_code: str | None, commitment: str | None, by: str,
            as_json: bool) -> int:
    from workflow.ops.einvoicing import correct_routing, poll_platform
    from workflow.persistence.unit_of_work import UnitOfWork

    if not (service_code or commitment):
        raise click.UsageError("--service-code ou/or --commitment")
    found = _poll(settings)
    with UnitOfWork(found.sessions, found.clock, actor="support") as uow:
        decided = correct_routing(uow, invoice_number, service_code=service_code, commitment_number=commitment,
                                  now=found.clock.now(), by=by)
        uow.commit()
    if not as_json:
        print(f"{invoice_number}: {'libérée / released' if decided == 'released' else 'à renvoyer / to resend'}")
    return _report(poll_platform(found, invoice_number), as_json)


@command("complete", "answer a suspended invoice with the session's evidence pack")
@click.argument("invoice_number", type=INVOICE_NUMBER)
@click.option("--by", required=True, type=ACTOR, help="who sends it (recorded in the history)")
@json_option
def complete(settings: Settings, *, invoice_number: str, by: str, as_json: bool) -> int:
    from workflow.ops.einvoicing import complete_suspended, poll_platform
    from workflow.persistence.unit_of_work import UnitOfWork

    found = _poll(settings)
    with UnitOfWork(found.sessions, found.clock, actor="support") as uow:
        complete_suspended(uow, invoice_number, now=found.clock.now(), by=by)
        uow.commit()
    return _report(poll_platform(found, invoice_number), as_json)


SUBCOMMANDS: tuple[Command, ...] = (poll, correct, complete)
GROUP = click.Group("chorus", commands=list(SUBCOMMANDS), context_settings=CONTEXT_SETTINGS,
                    help="the invoices on Chorus Pro: poll, correct the routing, complete a suspended one",
                    short_help="Chorus Pro: poll the statuses, correct a held or à-recycler invoice, complete one")
COMMANDS: tuple[click.Command, ...] = (GROUP,)
