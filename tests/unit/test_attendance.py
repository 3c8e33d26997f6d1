"""The attendance arithmetic (workflow/domain/attendance.py), computed by hand on the seeds' day:
9h30-12h45 and 13h45-17h00 Europe/Paris, 15 minutes of break in each half-day (195 minutes, 180 of training)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.domain.attendance import (
    AttendanceError,
    Interval,
    Presence,
    attendance,
    connected_seconds,
    hours_followed,
    merged,
    parts_of,
)
from workflow.domain.catalogue import Schedule, SchedulePart

PARIS = ZoneInfo("Europe/Paris")
SCHEDULE = Schedule(timezone="Europe/Paris", break_minutes_per_part=15,
                    parts=[SchedulePart(start=time(9, 30), end=time(12, 45)),
                           SchedulePart(start=time(13, 45), end=time(17, 0))])
DAY = date(2023, 9, 15)
PARTS = parts_of(SCHEDULE, DAY)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2023, 9, 15, hour, minute, second, tzinfo=PARIS)


def figures(*intervals: tuple[datetime, datetime], threshold: int | None = None) -> list[tuple[int, int, str]]:
    result = attendance([Interval(a, b) for a, b in intervals], PARTS, threshold_minutes=threshold)
    return [(p.connected_minutes, p.followed_minutes, p.presence.value) for p in result]


def test_the_seeds_day_has_two_half_days_of_195_minutes_and_180_of_training() -> None:
    assert [(p.start.time(), p.end.time(), p.minutes, p.training) for p in PARTS] == [
        (time(9, 30), time(12, 45), 195, timedelta(hours=3)), (time(13, 45), time(17, 0), 195, timedelta(hours=3))]


def test_there_all_day_is_present_twice_and_six_hours_followed() -> None:
    result = attendance([Interval(at(9, 25), at(17, 5))], PARTS)
    assert [(p.connected_minutes, p.followed_minutes, p.presence) for p in result] == [
        (195, 180, Presence.PRESENT), (195, 180, Presence.PRESENT)]
    assert hours_followed(result) == 6


def test_joined_late_counts_from_the_join() -> None:
    # 10h20 to 12h45: 145 minutes, under the 156 (80 % of 195) of the default threshold.
    assert figures((at(10, 20), at(12, 45)))[0] == (145, 145, "partial")


def test_left_early_counts_to_the_leave() -> None:
    # 13h45 to 16h30: 165 minutes, present (>= 156); followed 165 (under the 180 of training).
    assert figures((at(13, 45), at(16, 30)))[1] == (165, 165, "present")


def test_a_rejoin_adds_the_two_stretches_and_the_overlap_counts_once() -> None:
    # 9h30-10h30 (60) and 10h15-11h00 overlapping (so 9h30-11h00: 90), then 11h30-12h45 (75): 165 minutes.
    assert figures((at(9, 30), at(10, 30)), (at(10, 15), at(11, 0)), (at(11, 30), at(12, 45)))[0] == \
        (165, 165, "present")


def test_a_connection_across_the_lunch_break_counts_in_each_half_day_and_not_during_lunch() -> None:
    # 11h00 to 15h00: 105 minutes in the morning (to 12h45), none of 12h45-13h45, 75 in the afternoon.
    assert figures((at(11, 0), at(15, 0))) == [(105, 105, "partial"), (75, 75, "partial")]


def test_never_connected_is_absent_and_connected_only_at_lunch_too() -> None:
    assert figures() == [(0, 0, "absent"), (0, 0, "absent")]
    assert figures((at(12, 50), at(13, 40))) == [(0, 0, "absent"), (0, 0, "absent")]


def test_seconds_are_rounded_down_to_whole_minutes() -> None:
    assert figures((at(9, 30), at(9, 31, 59)))[0] == (1, 1, "partial")
    assert figures((at(9, 30), at(9, 30, 59)))[0] == (0, 0, "absent")


def test_the_threshold_is_the_operators() -> None:
    assert figures((at(10, 20), at(12, 45)), threshold=120)[0] == (145, 145, "present")
    assert figures((at(10, 20), at(12, 45)), threshold=150)[0] == (145, 145, "partial")


def test_records_in_utc_or_any_zone_count_the_same() -> None:
    paris = figures((at(9, 30), at(12, 45)))
    utc = figures((at(9, 30).astimezone(UTC), at(12, 45).astimezone(UTC)))
    assert paris == utc == [(195, 180, "present"), (0, 0, "absent")]


def test_a_daylight_saving_day_keeps_its_wall_clock_schedule() -> None:
    # 29 October 2023: Paris goes from UTC+2 to UTC+1 at 3h00; the day's parts are still 9h30-12h45 (195).
    parts = parts_of(SCHEDULE, date(2023, 10, 29))
    assert [p.minutes for p in parts] == [195, 195]
    assert parts[0].start.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(("start", "end", "english", "french"), [
    (at(11), at(10), "ends before it starts", "finit avant de commencer"),
    (datetime(2023, 9, 15, 9, 30), at(10), "without a time zone", "sans fuseau horaire"),
])
def test_a_record_that_cannot_be_counted_is_refused_in_english_and_french(
        start: datetime, end: datetime, english: str, french: str) -> None:
    with pytest.raises(AttendanceError, match=english) as refused:
        Interval(start, end)
    assert french in (refused.value.reason_fr or "")


def test_a_threshold_under_one_minute_is_refused() -> None:
    with pytest.raises(AttendanceError, match="at least one minute"):
        attendance([], PARTS, threshold_minutes=0)


# --- properties: whatever the records, the figures stay within the day -----------------------------------

moments = st.integers(min_value=7 * 60, max_value=19 * 60).map(
    lambda minute: datetime(2023, 9, 15, tzinfo=PARIS) + timedelta(minutes=minute))
intervals = st.lists(st.tuples(moments, moments).map(lambda pair: Interval(min(pair), max(pair))), max_size=12)


@given(intervals)
def test_the_minutes_of_a_part_never_exceed_it_and_followed_never_exceed_training(records: list[Interval]) -> None:
    for figure in attendance(records, PARTS):
        assert 0 <= figure.followed_minutes <= figure.connected_minutes <= figure.part.minutes
        assert figure.followed_minutes <= 180
        assert (figure.presence is Presence.ABSENT) == (figure.connected_minutes == 0)


@given(intervals, st.randoms(use_true_random=False))
def test_order_and_repetition_of_the_records_change_nothing(records: list[Interval], rng: random.Random) -> None:
    shuffled = [*records, *records[: len(records) // 2]]
    rng.shuffle(shuffled)
    assert attendance(shuffled, PARTS) == attendance(records, PARTS)


@given(intervals)
def test_merged_intervals_are_sorted_apart_and_cover_each_record_once(records: list[Interval]) -> None:
    union = merged(records)
    assert all(a.end < b.start for a, b in itertools.pairwise(union))
    assert merged(union) == union
    day = (datetime(2023, 9, 15, tzinfo=PARIS), datetime(2023, 9, 16, tzinfo=PARIS))
    covered = connected_seconds(union, *day)
    assert covered <= sum((r.end - r.start).total_seconds() for r in records)
    assert all(connected_seconds(union, r.start, r.end) == (r.end - r.start).total_seconds() for r in records)
