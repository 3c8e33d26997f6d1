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


# BigBlueButton's Learning Analytics Dashboard, "Download Session Data" (bbb-learning-dashboard/src/services/
# UserService.js, makeUserCSVData): the header bare and translated (Duration never is), every value quoted, the
# times as the moderator's browser writes them, one row per person, a last row of anonymous poll answers.
BBB_HEADER_EN = ("Name,Moderator,Activity Score,Talk time,Webcam Time,Messages,Reactions,Poll Votes,Raise Hands,"
                 "Join,Left,Duration")
BBB_HEADER_FR = ("Nom,Modérateur,Activity Score,Temps de conversation,Temps de partage de caméra,Messages,Réactions,"
                 "Votes du sondage,Mains levées,Rejoindre,Quitté,Duration")


def test_a_bigbluebutton_export_from_an_english_browser_gives_one_record_per_person_in_paris_time() -> None:
    data = (f"{BBB_HEADER_EN},Are you ready?\r\n"
            '"Sophie Formatrice","TRUE","0","01:50:12","05:59:00","12","0","0","0",'
            '"9/15/2023, 09:20:05 AM","9/15/2023, 05:02:10 PM","07:42:05","-"\r\n'
            '"Claire Martin","FALSE","4.2","00:03:10","-","3","2","1","1",'
            '"9/15/2023, 09:31:12 AM","9/15/2023, 05:00:00 PM","06:12:48","Yes"\r\n'
            '"Élodie Brun","FALSE","1","-","-","0","0","0","0","9/15/2023, 01:46:00 PM","-","03:14:00","-"\r\n'
            '"Anonymous","","","","","","","","","","","","Yes\r\nNo"').encode()
    report = read_report(data, zone=PARIS)
    assert report.layout == "bigbluebutton"
    assert report.problems == []
    assert [(line.line, line.email, line.name, line.interval) for line in report.lines] == [
        (2, None, "Sophie Formatrice", Interval(paris(15, 9, 20, 5), paris(15, 17, 2, 10))),
        (3, None, "Claire Martin", Interval(paris(15, 9, 31, 12), paris(15, 17, 0))),
        (4, None, "Élodie Brun", Interval(paris(15, 13, 46), paris(15, 17, 0)))]  # still there: Join + Duration


def test_a_bigbluebutton_export_from_a_french_browser_takes_the_e_mail_from_a_courriel_poll() -> None:
    data = (f"{BBB_HEADER_FR},Courriel\r\n"
            '"Claire Martin","FALSE","4,2","00:03:10","-","3","2","1","1",'
            '"15/09/2023 09:31:12","15/09/2023 17:00:00","06:12:48","C.Martin@Gironde.fr"\r\n'
            '"Paul Roux","FALSE","0","-","-","0","0","0","0","15/09/2023 09:35:00","15/09/2023 12:45:00","03:10:00","-"'
            '\r\n"Anonyme","","","","","","","","","","","",""').encode()
    report = read_report(data, zone=PARIS)
    assert (report.layout, report.problems) == ("bigbluebutton", [])
    assert [(line.email, line.interval) for line in report.lines] == [
        ("c.martin@gironde.fr", Interval(paris(15, 9, 31, 12), paris(15, 17, 0))),
        (None, Interval(paris(15, 9, 35), paris(15, 12, 45)))]  # no answer, "-": listed as unmatched


def test_a_bigbluebutton_export_s_unreadable_rows_are_kept_as_problems_and_the_others_read() -> None:
    data = (f"{BBB_HEADER_EN}\r\n"
            '"Claire Martin","FALSE","0","-","-","0","0","0","0","9/15/2023, 09:31:12\u202fAM",'
            '"9/15/2023, 12:44:00\u202fPM","03:12:48"\r\n'
            '"Paul Roux","FALSE","0","-","-","0","0","0","0","15/09/2023 25:00:00","-","03:10:00"\r\n'
            '"Dupont, "JJ", Jean","FALSE","0","-","-","0","0","0","0",'
            '"9/15/2023, 09:31:12 AM","9/15/2023, 12:44:00 PM","03:12:48"\r\n'
            '"Marc Petit","FALSE","0","-","-","0","0","0","0","9/15/2023, 09:30:00 AM","-","03:75:00"\r\n'
            '"Anonymous","FALSE","0","-","-","0","0","0","0","9/15/2023, 01:45:00 PM","9/15/2023, 05:00:00 PM",'
            '"03:15:00"\r\n').encode()
    report = read_report(data, zone=PARIS)
    assert report.layout == "bigbluebutton"
    assert [(p.line, p.reason_en) for p in report.problems] == [
        (3, "unreadable join time '15/09/2023 25:00:00'"),
        (4, "unreadable join time '0'"),  # BBB does not escape a quote in a name: the row shifts, refused
        (5, "neither a readable leave time nor a duration")]
    assert [(line.line, line.name, line.interval) for line in report.lines] == [
        (2, "Claire Martin", Interval(paris(15, 9, 31, 12), paris(15, 12, 44))),  # U+202F: read as a space
        (6, "Anonymous", Interval(paris(15, 13, 45), paris(15, 17, 0)))]  # a person who joined is no summary row


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
