"""When reminders go out, and when they must not: pure rules, no I/O.

Source: the brochure promises "des courriels de rappel ... quelques heures et quelques minutes avant
le début du séminaire"; the offsets are settings (default 3 hours and 15 minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflow.domain.machine import State

SCHEDULED = "scheduled"
SENT = "sent"
SKIPPED = "skipped"
CANCELLED = "cancelled"

# A reminder processed this long after its due time is flagged as late (the system was down).
LATE_AFTER = timedelta(minutes=5)
REMINDED_STATES = frozenset({State.CONFIRMED, State.INVOICED, State.SETTLED})


@dataclass(frozen=True)
class PlannedReminder:
    offset_minutes: int
    due_at: datetime
    status: str
    reason: str | None = None


def plan_reminders(starts_at: datetime, offsets_minutes: list[int], now: datetime) -> list[PlannedReminder]:
    """One reminder per offset. One already due when the registration is confirmed is not sent:
    the invitation that goes out now says the same, a minute apart would be noise."""
    planned = []
    for offset in sorted(set(offsets_minutes), reverse=True):
        due = starts_at - timedelta(minutes=offset)
        if due <= now:
            planned.append(PlannedReminder(offset, due, SKIPPED, f"due at {due.isoformat()}, before the "
                                                                 f"registration was confirmed ({now.isoformat()})"))
        else:
            planned.append(PlannedReminder(offset, due, SCHEDULED))
    return planned


@dataclass(frozen=True)
class ReminderDecision:
    send: bool
    reason: str | None = None


def decide_reminder(*, now: datetime, due_at: datetime, starts_at: datetime, registration_state: str,
                    registration_session_id: str | None, reminder_session_id: str) -> ReminderDecision:
    """A due reminder is sent, late if need be, only while it still makes sense: the registration is
    still on, for this session, and the session has not started."""
    if registration_session_id != reminder_session_id:
        return ReminderDecision(False, f"the registration moved to {registration_session_id}")
    if registration_state not in REMINDED_STATES:
        return ReminderDecision(False, f"the registration is {registration_state}")
    if now >= starts_at:
        return ReminderDecision(False, f"the session had started ({starts_at.isoformat()}) when the reminder "
                                       f"due at {due_at.isoformat()} could be processed")
    if now - due_at > LATE_AFTER:
        return ReminderDecision(True, f"sent late: due at {due_at.isoformat()}")
    return ReminderDecision(True)
