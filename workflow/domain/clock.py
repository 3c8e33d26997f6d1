"""The one source of the current time, a port: injected everywhere, so that 2023 and 2024 sessions can be
replayed. People read Europe/Paris; events carry UTC. The clocks themselves are in `workflow.adapters.clocks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


def paris_today(clock: Clock) -> datetime:
    return clock.now().astimezone(PARIS)
