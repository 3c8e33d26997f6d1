"""The decisions on commands, read by whoever sent them (the command line, the page)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.decisions import CommandDecision
from workflow.persistence.orm import CommandDecisionRow


def command_decision(sessions: sessionmaker[Session], command_id: str) -> CommandDecision | None:
    """The decision on a command, None while it is in flight."""
    with sessions() as session:
        row = session.get(CommandDecisionRow, command_id)
        if row is None:
            return None
        return CommandDecision(command_id=row.command_id, command_type=row.command_type, consumer=row.consumer,
                               outcome=row.outcome, registration_id=row.registration_id, reason_fr=row.reason_fr,
                               reason_en=row.reason_en, decided_at=row.decided_at)


def wait_for_decision(sessions: sessionmaker[Session], command_id: str, timeout_seconds: float, *,
                      poll_seconds: float = 0.1, monotonic: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> CommandDecision | None:
    """Poll for the decision until it comes or `timeout_seconds` pass (None: still in flight)."""
    deadline = monotonic() + timeout_seconds
    while True:
        found = command_decision(sessions, command_id)
        if found is not None or monotonic() >= deadline:
            return found
        sleep(poll_seconds)
