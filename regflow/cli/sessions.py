"""Operations' commands on a session: held (service fait), cancelled, moved to another date. They log in to
the broker as the operations' user (REGFLOW_BROKER_URL_OPERATIONS)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import Command, sending
from regflow.cli.decisions import Sent, Waiting, answer
from regflow.cli.options import ACTOR, DATE, REASON, SESSION_ID

if TYPE_CHECKING:
    from workflow.settings import Settings


@sending("hold-session", "record that a session was held (service fait)")
@click.argument("session_id", type=SESSION_ID)
@click.option("--on", "held_on", required=True, type=DATE, help="YYYY-MM-DD, the day it was held")
@click.option("--by", type=ACTOR, help="who records it (the history's actor; default: the payments consumer)")
def hold_session(settings: Settings, waiting: Waiting, *, session_id: str, held_on: date, by: str | None) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="operations", producer="operations") as client:
        envelope = client.hold_session(session_id, held_on, requested_by=by)
    return answer(settings, waiting, [Sent(
        envelope, f"séance {session_id} enregistrée comme tenue le {held_on} (service fait)",
        f"session {session_id} recorded as held on {held_on} (service fait)")])


@sending("cancel-session", "the session will not be held: cancel and credit")
@click.argument("session_id", type=SESSION_ID)
@click.option("--reason", required=True, type=REASON)
def cancel_session(settings: Settings, waiting: Waiting, *, session_id: str, reason: str) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="operations", producer="operations") as client:
        envelope = client.cancel_session(session_id, reason)
    return answer(settings, waiting, [Sent(
        envelope, f"séance {session_id} annulée : ses inscriptions annulées, leurs factures créditées",
        f"session {session_id} cancelled: its registrations cancelled, their invoices credited")])


@sending("move-session", "move a session to another date of the same training")
@click.argument("session_id", type=SESSION_ID)
@click.option("--to", "new_session_id", required=True, type=SESSION_ID, metavar="SESSION_ID",
              help="the new session id")
@click.option("--reason", required=True, type=REASON)
def move_session(settings: Settings, waiting: Waiting, *, session_id: str, new_session_id: str, reason: str) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="operations", producer="operations") as client:
        envelope = client.move_session(session_id, new_session_id, reason)
    return answer(settings, waiting, [Sent(
        envelope, f"séance {session_id} déplacée vers {new_session_id} : factures créditées et réémises",
        f"session {session_id} moved to {new_session_id}: invoices credited and reissued")])


COMMANDS: tuple[Command, ...] = (hold_session, cancel_session, move_session)
