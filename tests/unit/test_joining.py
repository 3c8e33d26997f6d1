"""Which page a personal link opens on (workflow/domain/joining.py), at the boundaries, for the seeds' day
(9h30-17h00 Europe/Paris), the doors opening 30 minutes before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflow.domain.access_links import LinkStatus
from workflow.domain.joining import JoinOutcome, join_outcome

PARIS = ZoneInfo("Europe/Paris")
STARTS = datetime(2023, 9, 15, 9, 30, tzinfo=PARIS)
ENDS = datetime(2023, 9, 15, 17, 0, tzinfo=PARIS)


def opened_at(hour: int, minute: int, second: int = 0, status: LinkStatus = LinkStatus.VALID, **kw: timedelta
              ) -> JoinOutcome:
    now = datetime(2023, 9, 15, hour, minute, second, tzinfo=PARIS)
    return join_outcome(status, now=now, starts=STARTS, ends=ENDS, **kw)


@pytest.mark.parametrize(("moment", "page"), [
    ((8, 59, 59), JoinOutcome.TOO_EARLY),   # a second before the doors open
    ((9, 0, 0), JoinOutcome.OPEN),          # 30 minutes before the start
    ((12, 50, 0), JoinOutcome.OPEN),        # lunch: the room stays the same
    ((16, 59, 59), JoinOutcome.OPEN),
    ((17, 0, 0), JoinOutcome.ENDED),        # the end of the last half-day
])
def test_a_valid_link_opens_the_platform_from_half_an_hour_before_to_the_end(
        moment: tuple[int, int, int], page: JoinOutcome) -> None:
    assert opened_at(*moment) is page


def test_an_unknown_or_revoked_link_says_so_whatever_the_time() -> None:
    assert opened_at(10, 0, status=LinkStatus.UNKNOWN) is JoinOutcome.NOT_FOUND
    assert opened_at(10, 0, status=LinkStatus.REVOKED) is JoinOutcome.TRANSFERRED
    assert opened_at(7, 0, status=LinkStatus.REVOKED) is JoinOutcome.TRANSFERRED


def test_the_doors_opening_is_configurable() -> None:
    assert opened_at(9, 20, opens_before=timedelta(0)) is JoinOutcome.TOO_EARLY
    assert opened_at(8, 30, opens_before=timedelta(hours=1)) is JoinOutcome.OPEN


def test_a_utc_clock_gives_the_same_page() -> None:
    now = datetime(2023, 9, 15, 7, 0, tzinfo=UTC)  # 9h00 in Paris (UTC+2)
    assert join_outcome(LinkStatus.VALID, now=now, starts=STARTS, ends=ENDS) is JoinOutcome.OPEN


def test_naive_times_and_doors_opening_after_the_start_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        join_outcome(LinkStatus.VALID, now=datetime(2023, 9, 15, 9), starts=STARTS, ends=ENDS)
    with pytest.raises(ValueError, match="cannot open after"):
        opened_at(9, 0, opens_before=timedelta(minutes=-1))
