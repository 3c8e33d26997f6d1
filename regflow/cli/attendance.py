"""`regflow attendance import SESSION FILE` and `regflow attendance show SESSION`: the platform's report stored
and matched to the participants, then the sheet per participant and half-day."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import CONTEXT_SETTINGS, command, json_option
from regflow.cli.options import SESSION_ID
from regflow.cli.output import both, printable, to_json

if TYPE_CHECKING:
    from workflow.settings import Settings

PRESENCE_FR = {"present": "présent", "partial": "partiel", "absent": "absent"}


@command("import", "store a platform's attendance report (CSV) for a session; the same file twice adds nothing")
@click.argument("session_id", type=SESSION_ID)
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def import_attendance(settings: Settings, *, session_id: str, report: Path, as_json: bool) -> int:
    """Exit 1 when a row could not be read or matched nobody: someone should look before the sheet is signed."""
    from workflow.adapters.attendance_report import MAX_BYTES, ReportError
    from workflow.adapters.clocks import clock_from_spec
    from workflow.ops.attendance import import_report
    from workflow.persistence.db import make_engine, session_factory

    try:
        with report.open("rb") as file:
            done = import_report(session_factory(make_engine(settings.database_url)), clock_from_spec(settings.clock),
                                 session_id, file.read(MAX_BYTES + 1))
    except ReportError as refused:
        raise click.ClickException(both(f"rapport refusé : {refused.reason_fr}", f"report refused: {refused}")
                                   ) from refused
    if as_json:
        print(to_json(vars(done)))
    else:
        print(printable(f"{session_id} : {done.added} ligne(s) ajoutée(s), {done.already} déjà importée(s), "
                        f"{len(done.unmatched)} sans participant, {len(done.problems)} illisible(s) / {done.added} "
                        f"line(s) added, {done.already} already imported, {len(done.unmatched)} unmatched, "
                        f"{len(done.problems)} unreadable (format {done.layout})"))
        for line in done.unmatched:
            print(printable(f"  ligne {line['line']:>5}  sans participant / unmatched  {line['email'] or '—'}  "
                            f"{line['name']}"))
        for problem in done.problems:
            print(printable(f"  ligne {problem['line']:>5}  {both(problem['reason_fr'], problem['reason_en'])}"))
    return 1 if done.unmatched or done.problems else 0


@command("show", "the attendance sheet: per participant and half-day, minutes connected and presence")
@click.argument("session_id", type=SESSION_ID)
@click.option("--threshold", type=click.IntRange(1, 600), default=None,
              help="minutes connected in a half-day to count as present (default: 80 % of it)")
@json_option
def show_attendance(settings: Settings, *, session_id: str, threshold: int | None, as_json: bool) -> int:
    from workflow.adapters.attendance_report import ReportError
    from workflow.adapters.data_files import load_catalogue
    from workflow.ops.attendance import attendance_sheet
    from workflow.persistence.db import make_engine, session_factory

    try:
        sheet = attendance_sheet(session_factory(make_engine(settings.database_url)),
                                 load_catalogue(settings.catalogue_path).schedule, session_id,
                                 threshold_minutes=threshold or settings.attendance_present_minutes)
    except ReportError as refused:
        raise click.ClickException(both(refused.reason_fr or str(refused), str(refused))) from refused
    if as_json:
        print(to_json(sheet))
        return 0
    print(printable(f"{session_id} ({sheet['date']}) : {len(sheet['participants'])} participant(s)"))
    for person in sheet["participants"]:
        parts = "  ".join(f"{'matin' if p['part'] == 0 else 'après-midi'} {PRESENCE_FR[p['presence']]} "
                          f"{p['connected_minutes']} min" for p in person["parts"])
        print(printable(f"  {person['email']:<34} {parts}  {person['hours_followed']} h suivies / followed  "
                        f"{len(person['joins'])} accès au lien / link opened"))
    for line in sheet["unmatched"]:
        print(printable(f"  ligne {line['line']:>5} sans participant / unmatched: {line['email'] or '—'} "
                        f"{line['name']}"))
    return 0


ATTENDANCE = click.Group("attendance", help="a session's attendance: import the platform's report, show the sheet",
                         short_help="a session's attendance: import the platform's report, show the sheet",
                         context_settings=CONTEXT_SETTINGS)
ATTENDANCE.add_command(import_attendance)
ATTENDANCE.add_command(show_attendance)
