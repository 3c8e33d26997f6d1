"""The video-conference platform's attendance report (CSV), read into connection records.

The file is hostile until checked: its size, its encoding (UTF-8, with or without BOM, or the Windows-1252 of
a French spreadsheet), its separator (`,` `;` or tab), its header (one of the layouts of
`workflow/data/attendance_layouts.json`), and each row. A row that cannot be read is kept as a problem
with its line number and the reason in English and French, never dropped; the rows behind it are read (blank
lines and a platform's own summary row, named in its layout, are no one's and skipped).
Matching the lines to participants by e-mail is the caller's (unmatched lines are listed, not lost).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from workflow.domain.attendance import AttendanceError, Interval
from workflow.domain.identifiers import normalise_email

LAYOUTS_FILE = Path(__file__).resolve().parent.parent / "data" / "attendance_layouts.json"
MAX_BYTES = 5 * 1024 * 1024  # a day's report of a few hundred lines is a few tens of kilobytes
MAX_ROWS = 20_000
MAX_CELL = 320  # the longest field read: an e-mail address (RFC 5321)
MAX_MINUTES = 24 * 60


class ReportError(AttendanceError):
    """The file as a whole cannot be read: nothing of it is imported (named in English and French)."""


@dataclass(frozen=True)
class Layout:
    name: str
    columns: dict[str, list[str]]
    required: list[str]
    time_formats: list[str]
    summary_row_names: list[str] = field(default_factory=list)  # names of rows no one's, as header keys


@dataclass(frozen=True)
class ReportLine:
    line: int  # in the file, the header being line 1
    email: str | None  # normalised; None when the platform gave none (a guest): listed as unmatched
    name: str
    interval: Interval


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason_en: str
    reason_fr: str


@dataclass
class Report:
    layout: str
    lines: list[ReportLine] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def load_layouts(path: Path = LAYOUTS_FILE) -> list[Layout]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Layout(d["name"], d["columns"], d["required"], d["time_formats"], d.get("summary_row_names", []))
            for d in data["layouts"]]


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ReportError(f"the report is {len(data)} bytes, over the {MAX_BYTES} accepted",
                          f"le rapport fait {len(data)} octets, au-delà des {MAX_BYTES} acceptés")
    if b"\x00" in data:
        raise ReportError("the report is not a text file (it holds NUL bytes)",
                          "le rapport n'est pas un fichier texte (il contient des octets nuls)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ReportError("the report is neither UTF-8 nor Windows-1252 text",
                              "le rapport n'est ni en UTF-8 ni en Windows-1252") from exc


def _key(header: str) -> str:
    return " ".join(header.strip().strip('"').casefold().split())


def _columns(header: list[str], layouts: list[Layout]) -> tuple[Layout, dict[str, int]]:
    keys = [_key(h) for h in header]
    for layout in layouts:
        found = {}
        for field_name, names in layout.columns.items():
            index = next((keys.index(n) for n in names if n in keys), None)
            if index is not None:
                found[field_name] = index
        if all(r in found for r in layout.required):
            return layout, found
    expected = "; ".join(f"{lay.name}: {', '.join(lay.columns[r][0] for r in lay.required)}" for lay in layouts)
    shown = ", ".join(keys)[:200]
    raise ReportError(f"no known layout for the columns [{shown}] (expected {expected})",
                      f"colonnes non reconnues [{shown}] (attendu {expected})")


def _moment(value: str, layout: Layout, zone: ZoneInfo) -> datetime | None:
    value = value.strip()
    for pattern in layout.time_formats:
        try:
            moment = datetime.fromisoformat(value) if pattern == "iso" else datetime.strptime(value, pattern)
        except ValueError:
            continue
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    return None


def _minutes(value: str) -> float | None:
    """Minutes as a spreadsheet writes them (`195`, `193,5`) or h:mm:ss as BigBlueButton does (`03:15:00`)."""
    text = value.strip()
    clock = text.split(":")
    if len(clock) == 3:
        if not all(part.isascii() and part.isdigit() for part in clock) or max(int(clock[1]), int(clock[2])) > 59:
            return None
        minutes = Decimal(int(clock[0]) * 60 + int(clock[1])) + Decimal(int(clock[2])) / 60
    else:
        try:
            minutes = Decimal(text.replace(",", "."))
        except InvalidOperation:
            return None
    return float(minutes) if minutes.is_finite() and 0 <= minutes <= MAX_MINUTES else None


def _cell(row: list[str], at: dict[str, int], name: str) -> str:
    index = at.get(name)
    return row[index] if index is not None and index < len(row) else ""


def _summary_row(row: list[str], layout: Layout, at: dict[str, int]) -> bool:
    """The export's own row, no one's connection (BigBlueButton's last, of the anonymous poll answers): one of
    the layout's names and no join time; a participant who chose that name and joined is still read."""
    return _key(_cell(row, at, "name")) in layout.summary_row_names and not _cell(row, at, "join").strip()


def _line(number: int, row: list[str], layout: Layout, at: dict[str, int], zone: ZoneInfo
          ) -> ReportLine | RowProblem:
    def cell(name: str) -> str:
        return _cell(row, at, name)

    if any(len(value) > MAX_CELL for value in row):
        return RowProblem(number, f"a cell over {MAX_CELL} characters", f"une cellule de plus de {MAX_CELL} caractères")
    join = _moment(cell("join"), layout, zone)
    if join is None:
        return RowProblem(number, f"unreadable join time {cell('join')[:40]!r}",
                          f"heure d'arrivée illisible {cell('join')[:40]!r}")
    leave = _moment(cell("leave"), layout, zone) if cell("leave").strip() else None
    if leave is None:
        minutes = _minutes(cell("duration_minutes"))
        if minutes is None:
            return RowProblem(number, "neither a readable leave time nor a duration",
                              "ni heure de départ lisible ni durée")
        leave = join + timedelta(minutes=minutes)
    try:
        interval = Interval(join, leave)
    except AttendanceError as exc:
        return RowProblem(number, str(exc), exc.reason_fr or str(exc))
    email = cell("email").strip()
    return ReportLine(number, normalise_email(email) if email else None, cell("name").strip(), interval)


def read_report(data: bytes, *, zone: ZoneInfo, layouts: list[Layout] | None = None) -> Report:
    """The report's connection records and the rows it could not read; `ReportError` for the file itself."""
    text = _text(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise ReportError(f"the report is not readable CSV: {exc}", f"le rapport n'est pas un CSV lisible : {exc}"
                          ) from exc
    if not rows:
        raise ReportError("the report is empty", "le rapport est vide")
    if len(rows) > MAX_ROWS + 1:
        raise ReportError(f"the report has {len(rows) - 1} rows, over the {MAX_ROWS} accepted",
                          f"le rapport a {len(rows) - 1} lignes, au-delà des {MAX_ROWS} acceptées")
    layout, at = _columns(rows[0], layouts if layouts is not None else load_layouts())
    report = Report(layout.name)
    for number, row in enumerate(rows[1:], start=2):
        if not any(value.strip() for value in row) or _summary_row(row, layout, at):
            continue  # a blank line, as spreadsheets leave at the end, or the export's summary row
        read = _line(number, row, layout, at, zone)
        if isinstance(read, ReportLine):
            report.lines.append(read)
        else:
            report.problems.append(read)
    return report
