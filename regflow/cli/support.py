"""Support's commands: a participant replaced, a personal link checked, the e-mails sent (and sent again), a
registration's history, the registrations of a session. Only `replace-participant` publishes, as support's
broker user (REGFLOW_BROKER_URL_SUPPORT); the others read the database."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import Command, command, json_option, sending
from regflow.cli.decisions import Sent, Waiting, answer
from regflow.cli.options import EMAIL, REGISTRATION_ID, REPLACED, REPLACER, Choice, form_field
from regflow.cli.output import clean, printable, to_json
from workflow.domain.machine import State

if TYPE_CHECKING:
    from workflow.settings import Settings


@sending("replace-participant", "support: a participant is replaced by another")
@click.argument("registration_id", type=REGISTRATION_ID)
@click.option("--replaced", required=True, type=REPLACED, help="login e-mail of who is replaced")
@click.option("--civilite", required=True, type=Choice(["Mme", "M."]))
@click.option("--first-name", required=True, type=form_field("participants[].first_name", "prénom", "first name"))
@click.option("--last-name", required=True, type=form_field("participants[].last_name", "nom", "last name"))
@click.option("--email", required=True, type=EMAIL, help="the newcomer's login e-mail")
@click.option("--by", required=True, type=REPLACER, help="who asked (recorded in the history)")
def replace_participant(settings: Settings, waiting: Waiting, *, registration_id: str, replaced: str,
                        civilite: str, first_name: str, last_name: str, email: str, by: str) -> int:
    """Support: publish the request, then report validation's decision (and what the history records)."""
    from producers.commands import CommandClient
    from schemas.form import Participant

    replacement = Participant(civilite=civilite, first_name=first_name, last_name=last_name, email=email)
    with CommandClient(settings, role="support", producer="support") as client:
        envelope = client.replace_participant(registration_id, replaced, replacement, requested_by=by)
    return answer(settings, waiting, [Sent(
        envelope, f"{replaced} remplacé(e) par {email} dans {registration_id}",
        f"{replaced} replaced by {email} in {registration_id}", history_detail=True)])


@command("check-link", "is a participant's personal link valid, revoked or unknown?",
         details="TOKEN: the token or the whole link. Exit 0 only if it is valid.")
@click.argument("token")
@json_option
def check_link(settings: Settings, *, token: str, as_json: bool) -> int:
    """What the video-conference platform asks: is this personal link valid? Exit 0 only if it is."""
    from workflow.domain.access_links import LinkStatus
    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import check_link as link_status

    with session_factory(make_engine(settings.database_url))() as session:
        found = link_status(session, token)
    code = 0 if found.status is LinkStatus.VALID else 1
    if as_json:
        print(to_json({"status": found.status.value, "participant": found.participant, "email": found.email,
                       "registration_id": found.registration_id, "session_id": found.session_id,
                       "revoked_at": found.revoked_at.isoformat() if found.revoked_at else None,
                       "revoked_reason": found.revoked_reason}))
        return code
    if found.status is LinkStatus.UNKNOWN:
        print("unknown: no participant has this link")
        return code
    who = printable(f"{found.participant} <{found.email}>, registration {found.registration_id}, "
                    f"session {found.session_id}")
    if found.status is LinkStatus.REVOKED:
        when = found.revoked_at.isoformat() if found.revoked_at else "?"
        print(f"revoked: {who}; revoked at {when}: {printable(found.revoked_reason)}")
        return code
    print(f"valid: {who}")
    return code


@command("emails", "operations: e-mails sent, pending, failed; retry the failed ones",
         details="IDS: retry these e-mails.")
@click.argument("action", type=Choice(["list", "retry"]), default="list", required=False)
@click.argument("ids", nargs=-1, type=int)
@click.option("--status", type=Choice(["pending", "sent", "failed"]))
@click.option("--registration")
@click.option("--all-failed", is_flag=True, help="retry: every failed e-mail")
@json_option
def emails(settings: Settings, *, action: str, ids: tuple[int, ...], status: str | None, registration: str | None,
           all_failed: bool, as_json: bool) -> int:
    from workflow.adapters.mailroom import retry_failed
    from workflow.bootstrap import bootstrap
    from workflow.persistence.views import email_list

    deps = bootstrap(settings)
    if action == "retry":
        if not ids and not all_failed:
            print("give e-mail ids, or --all-failed", file=sys.stderr)
            return 2
        count = retry_failed(deps.sessions, deps.clock, list(ids) or None)
        print(f"{count} failed e-mail(s) back to pending: the notifications consumer sends them at its next tick")
        return 0
    rows = email_list(deps.sessions, status=status, registration_id=registration)
    if as_json:
        print(to_json(rows))
        return 0
    for row in clean(rows):
        error = f"  [{row['error']}]" if row["error"] else ""
        print(f"{row['id']:>6}  {row['status']:<7} {row['attempts']}x  {row['kind']:<20} {row['to']:<36} "
              f"{row['subject']}{error}")
    print(f"{len(rows)} e-mail(s)")
    return 0


@command("show", "a registration's state and full history")
@click.argument("registration_id")
@json_option
def show(settings: Settings, *, registration_id: str, as_json: bool) -> int:
    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import format_timeline, registration_timeline

    view = registration_timeline(session_factory(make_engine(settings.database_url)), registration_id)
    if view is None:
        print(f"no registration {printable(registration_id)}", file=sys.stderr)
        return 1
    print(to_json(view) if as_json else format_timeline(clean(view)))
    return 0


@command("registrations", "registrations by session, filtered by state and session")
@click.option("--state", type=Choice([s.value for s in State]))
@click.option("--session", metavar="ID", help="a session id, e.g. cpom-handicap-2023-09-15")
@json_option
def registrations(settings: Settings, *, state: str | None, session: str | None, as_json: bool) -> int:
    """The same list as the back-office page: registrations by session, filtered by state and session."""
    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import registration_list

    rows = registration_list(session_factory(make_engine(settings.database_url)), state=state, session_id=session)
    if as_json:
        print(to_json(rows))
        return 0
    for r in clean(rows):
        print(f"{r['id']:<38} {r['state']:<13} {r['session_id'] or '-':<32} {r['participants']:>3}  "
              f"{r['updated_at'][:16]}  {r['client']}")
    print(f"{len(rows)} registration(s)")
    return 0


COMMANDS: tuple[Command, ...] = (replace_participant, check_link, emails, show, registrations)
