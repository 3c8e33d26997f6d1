"""Operations' commands on a session: held (service fait), cancelled, moved to another date. They log in to
the broker as the operations' user (REGFLOW_BROKER_URL_OPERATIONS)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regflow.cli.attendance import ATTENDANCE
from regflow.cli.commands import command, json_option, sending
from regflow.cli.decisions import Sent, Waiting, answer
from regflow.cli.options import ACTOR, DATE, EMAIL, REASON, SESSION_ID
from regflow.cli.output import both, printable, to_json

if TYPE_CHECKING:
    from workflow.adapters.attendance_report import ReportLine
    from workflow.settings import Settings


@sending("hold-session", "record that a session was held (service fait); without the trainer's signed "
         "attendance sheet, --reason is required")
@click.argument("session_id", type=SESSION_ID)
@click.option("--on", "held_on", required=True, type=DATE, help="YYYY-MM-DD, the day it was held")
@click.option("--by", type=ACTOR, help="who records it (the history's actor; default: the payments consumer)")
@click.option("--reason", type=REASON, help="why service fait is recorded without a signed attendance sheet "
              "(named in each registration's history); refused without it when no sheet is signed")
@click.option("--absent", "absent", multiple=True, type=EMAIL,
              help="a participant's e-mail who did not attend (repeat; only without a signed sheet)")
def hold_session(settings: Settings, waiting: Waiting, *, session_id: str, held_on: date, by: str | None,
                 reason: str | None, absent: tuple[str, ...]) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="operations", producer="operations") as client:
        envelope = client.hold_session(session_id, held_on, list(absent), requested_by=by, reason=reason)
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


@command("read-attendance", "operations: read a platform's attendance report (CSV) and show what it says; "
         "imports nothing (regflow attendance import stores it)")
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def read_attendance(settings: Settings, *, report: Path, as_json: bool) -> int:
    """Exit 1 when a row could not be read: someone should look at it before the sheet is signed."""
    from workflow.adapters.attendance_report import MAX_BYTES, ReportError, read_report
    from workflow.domain.clock import PARIS

    try:
        with report.open("rb") as file:
            read = read_report(file.read(MAX_BYTES + 1), zone=PARIS)
    except ReportError as refused:
        raise click.ClickException(both(f"rapport refusé : {refused.reason_fr}", f"report refused: {refused}")
                                   ) from refused
    if as_json:
        print(to_json({"layout": read.layout, "lines": [_connection(line) for line in read.lines],
                       "problems": [vars(problem) for problem in read.problems]}))
        return 1 if read.problems else 0
    print(printable(f"format {read.layout} : {len(read.lines)} connexion(s) lue(s), {len(read.problems)} ligne(s) "
                    f"illisible(s) / layout {read.layout}: {len(read.lines)} connection(s) read, "
                    f"{len(read.problems)} unreadable row(s)"))
    for line in read.lines:
        shown = _connection(line)
        print(printable(f"  ligne {line.line:>5}  {line.email or '(sans e-mail / no e-mail)'}  {shown['joined'][:16]} "
                        f"-> {shown['left'][11:16]}  {shown['minutes']} min  {line.name}"))
    for problem in read.problems:
        print(printable(f"  ligne {problem.line:>5}  {both(problem.reason_fr, problem.reason_en)}"))
    return 1 if read.problems else 0


def _connection(line: ReportLine) -> dict[str, Any]:
    """A connection as operations read it: Paris time, whole minutes."""
    from workflow.domain.clock import PARIS

    start, end = line.interval.start.astimezone(PARIS), line.interval.end.astimezone(PARIS)
    return {"line": line.line, "email": line.email, "name": line.name, "joined": start.isoformat(),
            "left": end.isoformat(), "minutes": int((end - start).total_seconds()) // 60}


COMMANDS: tuple[click.Command, ...] = (hold_session, cancel_session, move_session, read_attendance, ATTENDANCE)
