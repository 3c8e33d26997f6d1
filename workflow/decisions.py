"""What became of a command, read by whoever sent it (the command line, the page).

Every command (`cmd.*`) gets one decision, written in the transaction that handled it: accepted (with
what was done), or refused with its reason in French and English. A refusal is a business answer,
recorded and acknowledged; dead letters are for messages that cannot be processed at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from workflow.orm import CommandDecisionRow

ACCEPTED = "accepted"
REFUSED = "refused"


@dataclass(frozen=True)
class Accepted:
    """A handler's answer to a command it carried out; `detail` says what was done."""

    detail: str | None = None


@dataclass(frozen=True)
class Refused:
    """A handler's "no" whose effects are still committed (a form rejected by its rules is recorded)."""

    reason_fr: str
    reason_en: str
    detail: str | None = None


@dataclass(frozen=True)
class CommandDecision:
    command_id: str
    command_type: str
    consumer: str
    outcome: str  # accepted | refused
    registration_id: str | None
    reason_fr: str | None
    reason_en: str | None
    decided_at: datetime

    @property
    def accepted(self) -> bool:
        return self.outcome == ACCEPTED

    def as_dict(self) -> dict[str, str | None]:
        return {"command_id": self.command_id, "command_type": self.command_type, "consumer": self.consumer,
                "outcome": self.outcome, "registration_id": self.registration_id, "reason_fr": self.reason_fr,
                "reason_en": self.reason_en, "decided_at": self.decided_at.isoformat()}


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
