"""What a personal link answers when it is opened (the join service's decision, no I/O).

The brochures promise "une invitation comportant un lien hypertexte d'accès à la plate-forme de
vidéo-conférence": the link opens the platform during the session and says why not otherwise. The join
service looks the token up (`LinkStatus`), then asks `join_outcome` which page to show:

- an unknown token: not found (404), nothing said about why;
- a revoked access (a replacement, a cancellation): the seat was transferred, whom to contact;
- before the doors open (`OPENS_BEFORE`, 30 minutes before the start by default): the date and time in
  Europe/Paris, and the `.ics`;
- from then to the end of the last half-day, lunch included (the room stays the same): the join is
  recorded, then the participant is sent to the platform (302);
- after the end: the session has ended.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from workflow.domain.access_links import LinkStatus

OPENS_BEFORE = timedelta(minutes=30)


class JoinOutcome(StrEnum):
    NOT_FOUND = "not_found"
    TRANSFERRED = "transferred"
    TOO_EARLY = "too_early"
    OPEN = "open"
    ENDED = "ended"


def join_outcome(status: LinkStatus, *, now: datetime, starts: datetime, ends: datetime,
                 opens_before: timedelta = OPENS_BEFORE) -> JoinOutcome:
    """The page for a link of `status` opened at `now`, for a session from `starts` to `ends` (aware)."""
    if now.tzinfo is None or starts.tzinfo is None or ends.tzinfo is None:
        raise ValueError("join_outcome compares aware datetimes only")
    if opens_before < timedelta(0):
        raise ValueError(f"the doors cannot open after the start: opens_before={opens_before}")
    if status is LinkStatus.UNKNOWN:
        return JoinOutcome.NOT_FOUND
    if status is LinkStatus.REVOKED:
        return JoinOutcome.TRANSFERRED
    if now < starts - opens_before:
        return JoinOutcome.TOO_EARLY
    if now < ends:
        return JoinOutcome.OPEN
    return JoinOutcome.ENDED
