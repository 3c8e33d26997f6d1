"""What became of a command, read by whoever sent it (the command line, the page).

Every command (`cmd.*`) gets one decision, written in the transaction that handled it: accepted (with
what was done), or refused with its reason in French and English. A refusal is a business answer,
recorded and acknowledged; dead letters are for messages that cannot be processed at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
