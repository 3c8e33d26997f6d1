"""The clocks: the system's, a fixed one (unit tests), and a file every process reads (tests, the demo).

Consumers run as separate processes, so a test or the demo that wants to move time for all of them
at once uses a `FileClock`: every process reads the same file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from workflow.domain.clock import Clock


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (unit tests)."""

    def __init__(self, instant: datetime) -> None:
        self._instant = _aware(instant)

    def now(self) -> datetime:
        return self._instant

    def set(self, instant: datetime) -> None:
        self._instant = _aware(instant)


class FileClock:
    """Reads the instant from a file that a test or the demo rewrites to move time for every process."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return _aware(datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip()))

    def set(self, instant: datetime) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(_aware(instant).isoformat(), encoding="utf-8")
        tmp.replace(self.path)  # atomic: a reader never sees half a timestamp


def clock_from_spec(spec: str) -> Clock:
    """Build the clock named by the `REGFLOW_CLOCK` setting."""
    if spec == "system":
        return SystemClock()
    kind, _, value = spec.partition(":")
    if kind == "fixed":
        return FixedClock(datetime.fromisoformat(value))
    if kind == "file":
        return FileClock(Path(value))
    raise ValueError(f"REGFLOW_CLOCK: unknown clock {spec!r} (expected system, fixed:<iso> or file:<path>)")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"a clock needs a timezone-aware datetime, got {instant.isoformat()}")
    return instant
