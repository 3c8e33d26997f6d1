"""The BPF figures (Cerfa 10443*17) on a year computed by hand: the revenue lines by kind of client, credit
notes by their own date, the trainees and their hours from service fait, the distance share, the year typed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from schemas.form import ClientCategory
from workflow.domain.bpf import (
    REVENUE_LINE_OF,
    TRAINEE_LINE_OF,
    BpfFigures,
    BpfYearError,
    HeldSession,
    Issued,
    RevenueLine,
    Seat,
    TraineeLine,
    bpf_figures,
    bpf_year,
    figure_lines,
)

DAY = 360  # the brochure's day: 2 x (3h15 less a 15-minute break)
C = ClientCategory


def invoice(number: str, on: str, total: str, category: ClientCategory | None) -> Issued:
    return Issued(number, date.fromisoformat(on), Decimal(total), category.value if category else None)


def credit(number: str, on: str, total: str, category: ClientCategory) -> Issued:
    return Issued(number, date.fromisoformat(on), Decimal(total), category.value, credit_note=True)


DOCUMENTS = [
    invoice("2023-000001", "2023-03-10", "1190.00", C.COMPANY),  # 2 x 595
    invoice("2023-000002", "2023-05-02", "595.00", C.ASSOCIATION),  # ADMR
    invoice("2023-000003", "2023-06-01", "1250.00", C.ASSOCIATION),  # APF, 2 x 625, credited below
    credit("2023-000005", "2023-06-20", "1250.00", C.ASSOCIATION),
    invoice("2023-000006", "2023-06-20", "625.00", C.ASSOCIATION),  # APF's corrected invoice
    invoice("2023-000004", "2023-04-04", "1785.00", C.LOCAL_AUTHORITY),  # the Département, 3 x 595
    invoice("2023-000007", "2023-09-01", "595.00", C.STATE_PUBLIC_ESTABLISHMENT),  # an ARS
    invoice("2023-000008", "2023-09-02", "1190.00", C.PUBLIC_HEALTH_ESTABLISHMENT),  # a CHU
    invoice("2023-000009", "2023-10-01", "595.00", C.PUBLIC_ENTERPRISE),  # a SEM
    credit("2023-000010", "2023-01-10", "595.00", C.LOCAL_AUTHORITY),  # cancels an invoice of December 2022
    invoice("2022-000011", "2022-12-15", "625.00", C.COMPANY),  # another year: out
    invoice("2024-000001", "2024-01-05", "595.00", C.STATE),  # another year: out
    credit("2024-000002", "2024-01-03", "595.00", C.ASSOCIATION),  # credits 2023-000002, but in 2024: out
]
REMOTE, WEBINAR = "Journée de formation à distance", "Journée d'étude en webinaire"
HELD = [
    HeldSession("cpom-handicap-2023-09-15", "cpom-handicap", date(2023, 9, 15), REMOTE, "https://visio.example.org/b"),
    HeldSession("cpom-aide-domicile-2023-11-20", "cpom-aide-domicile", date(2023, 11, 20), WEBINAR, None),
    HeldSession("cpom-handicap-2023-12-01", "cpom-handicap", date(2023, 12, 1), REMOTE, None),
    HeldSession("cpom-handicap-2022-12-01", "cpom-handicap", date(2022, 12, 1), REMOTE, None),  # another year
]
S1, S2, S3, S0 = (h.session_id for h in HELD)


def seat(session_id: str, email: str, category: ClientCategory, presence: str, minutes: int | None) -> Seat:
    return Seat(session_id, email, category.value, presence, minutes)


SEATS = [
    seat(S1, "claire@acme.example", C.COMPANY, "present", 360),  # the signed sheet: minutes measured
    seat(S1, "paul@acme.example", C.COMPANY, "present", 360),
    seat(S1, "lea@admr.example", C.ASSOCIATION, "partial", 180),  # the morning only
    seat(S1, "a@departement.example", C.LOCAL_AUTHORITY, "present", 360),
    seat(S1, "b@departement.example", C.LOCAL_AUTHORITY, "absent", 0),  # absent all day: not a trainee
    seat(S1, "c@departement.example", C.LOCAL_AUTHORITY, "partial", 180),
    seat(S2, "d@ars.example", C.STATE_PUBLIC_ESTABLISHMENT, "present", None),  # operations' word: the day, 6 h
    seat(S2, "e@chu.example", C.PUBLIC_HEALTH_ESTABLISHMENT, "present", None),
    seat(S2, "f@chu.example", C.PUBLIC_HEALTH_ESTABLISHMENT, "absent", None),  # nothing measured, absent: 0 h
    seat(S2, "g@sem.example", C.PUBLIC_ENTERPRISE, "present", None),
    seat(S3, "Claire@acme.example", C.COMPANY, "present", 360),  # her second training: a second seat
    seat(S0, "h@acme.example", C.COMPANY, "present", 360),  # a session of 2022: out
    seat("cpom-handicap-2023-12-15", "i@acme.example", C.COMPANY, "present", 360),  # a session not held: out
]


@pytest.fixture
def year_2023() -> BpfFigures:
    return bpf_figures(2023, DOCUMENTS, HELD, SEATS, day_minutes=DAY)


def test_revenue_goes_by_kind_of_client_with_credit_notes_deducted_at_their_own_date(year_2023: BpfFigures) -> None:
    # line 1: 1190 + 595 + 1250 - 1250 + 625 + 595; line 3: 1785 + 595 + 1190 - 595 (December 2022's, credited)
    assert year_2023.revenue[RevenueLine.C1] == Decimal("3005.00")
    assert year_2023.revenue[RevenueLine.C3] == Decimal("2975.00")
    assert all(amount == 0 for line, amount in year_2023.revenue.items() if line not in (RevenueLine.C1,
                                                                                          RevenueLine.C3))
    assert year_2023.revenue_total == Decimal("5980.00")
    assert year_2023.unclassified_documents == []


def test_trainees_and_hours_follow_the_attendance_recorded_at_service_fait(year_2023: BpfFigures) -> None:
    private, public = year_2023.trainees[TraineeLine.A], year_2023.trainees[TraineeLine.E]
    # a: Claire twice, Paul, Léa's morning, the SEM's participant credited with the day: 6 + 6 + 3 + 6 + 6
    assert (private.count, private.hours) == (5, Decimal("27.00"))
    # e: the Département's present and half-day, the ARS's and the CHU's present credited with the day: 6 + 3 + 6 + 6
    assert (public.count, public.hours) == (4, Decimal("21.00"))
    assert all(year_2023.trainees[line].count == 0 for line in (TraineeLine.B, TraineeLine.C, TraineeLine.D))
    assert (year_2023.trainees_total.count, year_2023.trainees_total.hours) == (9, Decimal("48.00"))
    assert year_2023.absent == 2
    assert (year_2023.day_credited.count, year_2023.day_credited.hours) == (3, Decimal("18.00"))
    assert year_2023.persons == 8  # Claire once, whatever the case of her address


def test_trainings_sessions_and_distance_are_counted_from_the_sessions_held(year_2023: BpfFigures) -> None:
    assert (year_2023.trainings, year_2023.sessions, year_2023.distance_sessions) == (2, 3, 3)
    shown = {line.key: line.value for line in figure_lines(year_2023)}
    assert shown["B-distance"] == "oui"
    assert shown["part-distance-seances"] == Decimal("100.0")
    assert shown["part-distance-heures"] == Decimal("100.0")
    assert shown["heures-dispensees"] == Decimal("18.00")


def test_a_session_in_a_room_is_not_counted_at_a_distance() -> None:
    room = HeldSession("s-2023-05-01", "t", date(2023, 5, 1), "Journée en présentiel, Paris", None)
    figures = bpf_figures(2023, [], [room], [Seat(room.session_id, "x@y.example", "company", "present", 360)],
                          day_minutes=DAY)
    shown = {line.key: line.value for line in figure_lines(figures)}
    assert (shown["B-distance"], shown["part-distance-seances"], shown["part-distance-heures"]) == (
        "non", Decimal("0.0"), Decimal("0.0"))


def test_each_figure_is_labelled_with_the_line_of_the_form_it_fills(year_2023: BpfFigures) -> None:
    lines = figure_lines(year_2023)
    keys = [line.key for line in lines]
    assert len(keys) == len(set(keys))
    assert [k for k in keys if k.startswith("C-")] == [*(f"C-{n}" for n in range(1, 12)), "C-total"]
    shown = {line.key: line for line in lines}
    assert (shown["C-1"].frame, shown["C-1"].line, shown["C-1"].value) == ("C", "1", Decimal("3005.00"))
    assert (shown["C-3"].frame, shown["C-3"].line, shown["C-3"].value) == ("C", "3", Decimal("2975.00"))
    assert (shown["F-1a-stagiaires"].value, shown["F-1a-heures"].value) == (5, Decimal("27.00"))
    assert (shown["F-1e-stagiaires"].value, shown["F-1e-heures"].value) == (4, Decimal("21.00"))
    assert (shown["F-1-total-stagiaires"].value, shown["F-3d-heures"].value) == (9, Decimal("48.00"))
    assert "3 place(s) sans minutes mesurées" in shown["F-1-total-heures"].basis
    assert all(line.frame and line.label for line in lines)


@pytest.mark.parametrize(("category", "revenue", "trainee"), [
    (C.STATE, RevenueLine.C3, TraineeLine.E),
    (C.LOCAL_AUTHORITY, RevenueLine.C3, TraineeLine.E),
    (C.STATE_PUBLIC_ESTABLISHMENT, RevenueLine.C3, TraineeLine.E),
    (C.LOCAL_PUBLIC_ESTABLISHMENT, RevenueLine.C3, TraineeLine.E),
    (C.PUBLIC_HEALTH_ESTABLISHMENT, RevenueLine.C3, TraineeLine.E),
    (C.PUBLIC_ENTERPRISE, RevenueLine.C1, TraineeLine.A),
    (C.ASSOCIATION, RevenueLine.C1, TraineeLine.A),
    (C.COMPANY, RevenueLine.C1, TraineeLine.A),
])
def test_the_form_s_client_category_decides_the_lines(category: ClientCategory, revenue: RevenueLine,
                                                      trainee: TraineeLine) -> None:
    assert (REVENUE_LINE_OF[category], TRAINEE_LINE_OF[category]) == (revenue, trainee)


def test_every_client_category_has_its_lines() -> None:
    assert set(REVENUE_LINE_OF) == set(TRAINEE_LINE_OF) == set(ClientCategory)


def test_an_unknown_category_is_set_apart_to_be_placed_by_hand_not_guessed() -> None:
    figures = bpf_figures(2023, [invoice("2023-000001", "2023-02-01", "595.00", None)], [], [], day_minutes=DAY)
    assert sum(figures.revenue.values()) == 0
    assert (figures.unclassified_revenue, figures.unclassified_documents) == (Decimal("595.00"), ["2023-000001"])
    assert figures.revenue_total == Decimal("595.00")
    assert "C-non-classe" in {line.key for line in figure_lines(figures)}


def test_a_year_is_four_digits_from_2000_to_the_current_one() -> None:
    assert bpf_year(" 2023 ", 2024) == 2023
    assert bpf_year("2024", 2024) == 2024


@pytest.mark.parametrize("typed", ["", "abc", "23", "1999", "2025", "20233", "2023.0", "-2023", "٢٠٢٣",
                                   "2023\x1b[2J", "9" * 10_000])
def test_a_year_out_of_range_is_refused_in_french_and_english(typed: str) -> None:
    with pytest.raises(BpfYearError) as refused:
        bpf_year(typed, 2024)
    message = str(refused.value)
    assert message.startswith("année « ")
    assert " / invalid year '" in message
    assert "de 2000 à 2024" in message
    assert "\x1b" not in message
    assert len(message) < 400
