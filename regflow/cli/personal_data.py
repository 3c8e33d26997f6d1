"""Support's personal-data requests (RGPD): `regflow personal-data export EMAIL [--output FILE]` (the right of
access, as JSON), `erase EMAIL --reason "…" --actor WHO` (the right to erasure: what the law keeps is said with
why) and `purge [--as-of YYYY-MM-DD] [--dry-run]` (the scheduled pseudonymisation, deploy/cron). The rules are in
`workflow.domain.personal_data`; each request is recorded by pseudonym, never by the e-mail."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import CONTEXT_SETTINGS, command, json_option
from regflow.cli.options import ACTOR, Checked, InputError
from regflow.cli.output import print_lines, to_json
from regflow.cli.retention import AS_OF

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from workflow.domain.clock import Clock
    from workflow.ops.personal_data import Erasure
    from workflow.settings import Settings


def _checked(parse_name: str) -> Checked[str]:
    def parse(text: str) -> str:
        from workflow.domain import personal_data

        try:
            value: str = getattr(personal_data, parse_name)(text)
        except personal_data.PersonalDataError as refused:
            raise InputError(str(refused)) from None
        return value

    parse.__name__ = parse_name
    return Checked(parse, "EMAIL" if parse_name == "subject_email" else "TEXT")


SUBJECT = _checked("subject_email")
REASON = _checked("request_reason")


def _wiring(settings: Settings) -> tuple[sessionmaker[Session], Clock, str]:
    from workflow.adapters.clocks import clock_from_spec
    from workflow.persistence.db import make_engine, session_factory

    return (session_factory(make_engine(settings.database_url)), clock_from_spec(settings.clock),
            settings.require_secret("personal_data_secret"))


@command("export", "the right of access: everything held about a person, as JSON, with where it is",
         details="Every record that names the e-mail or the names beside it (table, key, and only what is about "
                 "the person), and the documents issued in their name. Recorded with who asked, by pseudonym.")
@click.argument("email", type=SUBJECT)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="write the JSON to this file (default: print it)")
@click.option("--actor", type=ACTOR, help="who answers the request (recorded; default: the login name)")
def export_command(settings: Settings, *, email: str, output: Path | None, actor: str | None) -> int:
    import getpass

    from workflow.ops.personal_data import export

    sessions, clock, secret = _wiring(settings)
    held = export(sessions, clock, secret, email, actor=actor or getpass.getuser())
    if output is None:
        print(to_json(held))
    else:
        output.write_text(to_json(held) + "\n", encoding="utf-8")
        print(f"{len(held['records'])} enregistrement(s) dans {len(held['tables'])} table(s) → {output} / "
              f"{len(held['records'])} record(s) in {len(held['tables'])} table(s)")
    return 0


def _erasure_text(done: Erasure) -> str:
    lines = [f"Effacement de {done.subject} / erasure of {done.subject}:"]
    if not (done.pseudonymised or done.kept or any(done.deleted.values())):
        lines.append("  rien ne nomme cette personne (ou déjà effacée) / nothing names this person (or already erased)")
    lines += [f"  pseudonymisé / pseudonymised : {table} ×{n}" for table, n in sorted(done.pseudonymised.items())]
    lines += [f"  supprimé / deleted : {what} ×{n}" for what, n in sorted(done.deleted.items()) if n]
    lines += [f"  conservé / kept : {k.what} {k.identifier} — {k.reason.fr} ({k.reason.article}) / {k.reason.en}"
              for k in done.kept]
    return "\n".join(lines)


@command("erase", "the right to erasure: pseudonymise a person everywhere the law allows, say what is kept and why",
         details="In one transaction: the forms, seats, e-mails, events, history... carry the person's pseudonym "
                 "instead (two records of theirs still match; counts and totals do not change); the scans they "
                 "signed and their survey comments are deleted. Kept: issued invoices and credit notes as issued "
                 "(L123-22), certificates as issued during their period (arrêté du 21 décembre 2018), and every "
                 "registration still in progress or unpaid. Exit 0, or 1 when something of theirs was kept.")
@click.argument("email", type=SUBJECT)
@click.option("--reason", required=True, type=REASON, help="why (the person's request, its date): 3-500 characters")
@click.option("--actor", required=True, type=ACTOR, help="who does it (recorded)")
@json_option
def erase_command(settings: Settings, *, email: str, reason: str, actor: str, as_json: bool) -> int:
    from workflow.ops.personal_data import erase

    sessions, clock, secret = _wiring(settings)
    done = erase(sessions, clock, secret, email, reason=reason, actor=actor)
    if as_json:
        print(to_json({"subject": done.subject, **done.counts()}))
    else:
        print_lines(_erasure_text(done))
    registrations_kept = any(k.what == "registration" for k in done.kept)
    return 1 if registrations_kept else 0


@command("purge", "the scheduled pseudonymisation: everyone on a registration settled longer ago than the policy",
         details="REGFLOW_PERSONAL_DATA_RETENTION_MONTHS (36) after a registration's last payment (its last change "
                 "when nothing was paid), its people are pseudonymised as `erase` does; one on a more recent "
                 "registration waits for it. Run daily (deploy/cron/regflow-personal-data).")
@click.option("--as-of", "as_of", type=AS_OF, help="YYYY-MM-DD; default: today (the clock)")
@click.option("--dry-run", is_flag=True, help="say who would be pseudonymised, change nothing")
@json_option
def purge_command(settings: Settings, *, as_of: date | None, dry_run: bool, as_json: bool) -> int:
    from workflow.domain.payment_rules import paris_date
    from workflow.ops.personal_data import purge

    sessions, clock, secret = _wiring(settings)
    day = as_of or paris_date(clock.now())
    done = purge(sessions, clock, secret, day, settings.personal_data_retention_months,
                 dry_run=dry_run)
    if as_json:
        print(to_json({"as_of": day.isoformat(), "dry_run": dry_run, "registrations": list(done.registrations),
                       "subjects": list(done.subjects), "rows": done.rows}))
    else:
        verb = "seraient pseudonymisées / would be pseudonymised" if dry_run else "pseudonymisées / pseudonymised"
        print(f"Au {day} : {len(done.registrations)} inscription(s) passée(s) la durée de conservation, "
              f"{len(done.subjects)} personne(s) {verb}, {done.rows} ligne(s) / rows")
    return 0


export_command.name, erase_command.name, purge_command.name = "export", "erase", "purge"
personal_data = click.Group("personal-data", help="support: the RGPD rights of access and erasure, and the purge",
                            context_settings=CONTEXT_SETTINGS, commands=[export_command, erase_command, purge_command])

COMMANDS: tuple[click.Command, ...] = (personal_data,)
