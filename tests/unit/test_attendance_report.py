"""Reading the platform's attendance report (workflow/adapters/attendance_report.py): the layouts of
`workflow/data/attendance_layouts.json`, and every way a file can be wrong."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regflow.cli import main
from workflow.adapters.attendance_report import MAX_BYTES, ReportError, read_report
from workflow.domain.attendance import Interval, attendance, parts_of
from workflow.domain.catalogue import Schedule, SchedulePart

PARIS = ZoneInfo("Europe/Paris")


def paris(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2023, 9, day, hour, minute, second, tzinfo=PARIS)


def test_a_zoom_participant_report_gives_one_record_per_row_in_paris_time() -> None:
    data = ("Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\r\n"
            "Claire Martin,C.Martin@Gironde.fr,09/15/2023 09:31:12 AM,09/15/2023 12:44:00 PM,193,No\r\n"
            "Claire Martin,c.martin@gironde.fr,09/15/2023 01:46:00 PM,09/15/2023 05:00:00 PM,194,No\r\n"
            "Invité,,09/15/2023 10:00:00 AM,09/15/2023 10:30:00 AM,30,Yes\r\n").encode()
    report = read_report(data, zone=PARIS)
    assert report.layout == "zoom"
    assert report.problems == []
    assert [(line.line, line.email, line.interval) for line in report.lines] == [
        (2, "c.martin@gironde.fr", Interval(paris(15, 9, 31, 12), paris(15, 12, 44))),
        (3, "c.martin@gironde.fr", Interval(paris(15, 13, 46), paris(15, 17, 0))),
        (4, None, Interval(paris(15, 10, 0), paris(15, 10, 30)))]


def test_a_french_spreadsheet_in_windows_1252_with_semicolons_and_a_duration_instead_of_a_leave() -> None:
    data = "Nom;Courriel;Arrivée;Durée\r\nÉlodie Brun;e.brun@ars.sante.fr;15/09/2023 09:30;195\r\n".encode("cp1252")
    report = read_report(data, zone=PARIS)
    assert report.layout == "generic"
    [line] = report.lines
    assert (line.name, line.email, line.interval) == (
        "Élodie Brun", "e.brun@ars.sante.fr", Interval(paris(15, 9, 30), paris(15, 12, 45)))
    schedule = Schedule(timezone="Europe/Paris", break_minutes_per_part=15,
                        parts=[SchedulePart(start=paris(15, 9, 30).time(), end=paris(15, 12, 45).time()),
                               SchedulePart(start=paris(15, 13, 45).time(), end=paris(15, 17, 0).time())])
    morning, afternoon = attendance([line.interval], parts_of(schedule, paris(15, 0, 0).date()))
    assert (morning.connected_minutes, afternoon.connected_minutes) == (195, 0)


def test_a_utf8_report_with_a_bom_and_iso_times_with_their_offset() -> None:
    data = "\ufeffemail,join,leave\nx@y.fr,2023-09-15T07:30:00+00:00,2023-09-15T08:00:00+00:00\n".encode()
    [line] = read_report(data, zone=PARIS).lines
    assert line.interval == Interval(paris(15, 9, 30), paris(15, 10, 0))


def test_unreadable_rows_are_kept_with_their_line_and_reason_and_the_rows_behind_are_read() -> None:
    data = ("email,join,leave\n"
            "a@x.fr,15/09/2023 25:00,15/09/2023 12:00\n"
            "b@x.fr,15/09/2023 11:00,15/09/2023 10:00\n"
            "c@x.fr,15/09/2023 09:30,\n"
            "\n"
            f"d@x.fr,15/09/2023 09:30,{'9' * 400}\n"
            "e@x.fr,15/09/2023 09:30,15/09/2023 12:45\n").encode()
    report = read_report(data, zone=PARIS)
    assert [(p.line, p.reason_en.split(" ")[0]) for p in report.problems] == [
        (2, "unreadable"), (3, "a"), (4, "neither"), (6, "a")]
    assert "finit avant de commencer" in report.problems[1].reason_fr
    assert [line.email for line in report.lines] == ["e@x.fr"]


@pytest.mark.parametrize(("data", "english", "french"), [
    (b"", "empty", "vide"),
    (b"a,b\x00,c\n", "NUL", "octets nuls"),
    (b"x" * (MAX_BYTES + 1), "over the", "au-del\u00e0"),
    (b"Nom,Pr\xc3\xa9nom\n", "no known layout", "colonnes non reconnues"),
    (b"\x81\x8d\x8f\x90\x9d", "neither UTF-8", "ni en UTF-8"),
])
def test_a_file_that_cannot_be_read_is_refused_whole_in_english_and_french(
        data: bytes, english: str, french: str) -> None:
    with pytest.raises(ReportError, match=english) as refused:
        read_report(data, zone=PARIS)
    assert french in refused.value.reason_fr


@given(st.binary(max_size=2000))
def test_whatever_the_bytes_the_reader_answers_with_a_report_or_a_named_refusal(data: bytes) -> None:
    try:
        report = read_report(data, zone=PARIS)
    except ReportError as refused:
        reason_fr = refused.reason_fr
    else:
        assert all(line.interval.end >= line.interval.start for line in report.lines)
        return
    assert reason_fr, "a refusal says why in French too"


@given(st.lists(st.lists(st.text(max_size=40), min_size=1, max_size=6), max_size=20))
def test_whatever_the_rows_under_a_known_header_each_is_a_record_or_a_problem(rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "join", "leave", "duration"])
    writer.writerows(rows)
    try:
        report = read_report(out.getvalue().encode(), zone=PARIS)
    except ReportError:
        return  # a cell with a NUL, or a quote the sniffer misreads: refused whole, by name
    assert {line.line for line in report.lines}.isdisjoint({p.line for p in report.problems})
    day = Schedule(timezone="Europe/Paris", break_minutes_per_part=15,
                   parts=[SchedulePart(start=paris(15, 9, 30).time(), end=paris(15, 12, 45).time())])
    for figure in attendance([line.interval for line in report.lines], parts_of(day, paris(15, 0, 0).date())):
        assert 0 <= figure.connected_minutes <= figure.part.minutes  # what was read, the arithmetic takes


def test_read_attendance_shows_each_connection_and_each_unreadable_row_and_fails_on_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGFLOW_DEVELOPMENT", "1")
    report = tmp_path / "rapport.csv"
    report.write_bytes("Nom;Courriel;Arrivée;Durée\r\nÉlodie Brun;e.brun@ars.sante.fr;15/09/2023 09:30;195\r\n"
                       "X;x@y.fr;15/09/2023 99:30;10\r\n".encode("cp1252"))
    assert main(["read-attendance", str(report)]) == 1
    output = capsys.readouterr().out
    assert "1 connexion(s) lue(s), 1 ligne(s) illisible(s)" in output
    assert "e.brun@ars.sante.fr  2023-09-15T09:30 -> 12:45  195 min  Élodie Brun" in output
    assert "ligne     3  heure d'arrivée illisible" in output
    assert main(["read-attendance", str(report), "--json"]) == 1
    shown = json.loads(capsys.readouterr().out)
    assert [row["minutes"] for row in shown["lines"]] == [195]
    assert [problem["line"] for problem in shown["problems"]] == [3]


def test_read_attendance_refuses_a_report_it_cannot_read_in_french_and_english(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGFLOW_DEVELOPMENT", "1")
    report = tmp_path / "export.csv"
    report.write_text("a,b\n1,2\n")
    assert main(["read-attendance", str(report)]) == 1
    said = capsys.readouterr().err
    assert "rapport refusé : colonnes non reconnues [a, b]" in said
    assert "report refused: no known layout" in said
