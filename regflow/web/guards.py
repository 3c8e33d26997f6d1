"""The page's defences that keep state or check input, without Flask: the login throttle, the live sessions,
the characters a request may carry and the user name as the logs show it.

The throttle and the live sessions are kept in this process's memory: one page process (compose runs one)
counts and knows its own. Several replicas would each count failed logins separately and would not know each
other's sessions (a load balancer would then need sticky sessions); a restart forgets both, so everyone logs
in again after it.

Time is `time.monotonic` unless the caller injects another source (the tests move it): never the business
clock (`REGFLOW_CLOCK`), which a demo or a test moves by months or stops.
"""

from __future__ import annotations

import math
import secrets
import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from workflow.ops.logs import EMAIL, mask_text

Monotonic = Callable[[], float]
MAX_NAME_KEY = 64  # the longest name `regflow web-user add` accepts: longer ones are the same unknown user
PRUNE_ABOVE = 10_000  # keys (names, addresses, sessions) kept before the expired ones are swept


class LoginThrottle:
    """At most `attempts` failed logins per user name and per client address within `window` seconds;
    beyond that every attempt with that name or from that address is refused, a right password included,
    until the oldest of those failures is `window` seconds old. A refused attempt is not counted (it is not
    checked), so the lock ends `window` after the failures, whatever is tried meanwhile. A successful login
    clears its name's failures, not its address's: an account of one's own must not reset an address that
    guesses at the others."""

    def __init__(self, attempts: int, window: float, now: Monotonic) -> None:
        self.attempts, self.window, self.now = attempts, window, now
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(name: str, address: str) -> list[tuple[str, str]]:
        return [("name", name[:MAX_NAME_KEY]), ("address", address)]

    def retry_after(self, name: str, address: str) -> float:
        """Seconds until `name` from `address` may try again: 0 when it may now."""
        now = self.now()
        with self._lock:
            waits = [failures[0] + self.window - now for key in self._keys(name, address)
                     if (failures := self._failures.get(key)) is not None and len(failures) >= self.attempts]
        return max([0.0, *waits])

    def failed(self, name: str, address: str) -> None:
        now = self.now()
        with self._lock:
            for key in self._keys(name, address):
                failures = self._failures.setdefault(key, deque(maxlen=self.attempts))
                while failures and failures[0] <= now - self.window:
                    failures.popleft()
                failures.append(now)
            if len(self._failures) > PRUNE_ABOVE:
                self._failures = {k: f for k, f in self._failures.items() if f and f[-1] > now - self.window}

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name[:MAX_NAME_KEY]), None)


@dataclass
class _Live:
    user: str
    last_seen: float


class LiveSessions:
    """The sessions logged in and not logged out, by a random id that the signed cookie carries: a cookie
    whose id is not here (logged out, idle for longer than `idle` seconds, issued by another process or before
    a restart) is a visitor who must log in."""

    def __init__(self, idle: float, now: Monotonic) -> None:
        self.idle, self.now = idle, now
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()

    def start(self, user: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = self.now()
        with self._lock:
            if len(self._live) > PRUNE_ABOVE:
                self._live = {k: s for k, s in self._live.items() if s.last_seen > now - self.idle}
            self._live[session_id] = _Live(user, now)
        return session_id

    def check(self, session_id: object, user: str) -> bool:
        """True (and the session's idle time restarts) when `session_id` is live and belongs to `user`."""
        if not isinstance(session_id, str):
            return False
        now = self.now()
        with self._lock:
            live = self._live.get(session_id)
            if live is None or live.user != user or live.last_seen <= now - self.idle:
                self._live.pop(session_id, None)
                return False
            live.last_seen = now
            return True

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str):
            with self._lock:
                self._live.pop(session_id, None)


# Refused anywhere in a request's path or query: every control character (Unicode category Cc: NUL, ESC,
# DEL, C1...). PostgreSQL cannot store a NUL, and none belongs in a name, an id or a filter.
# In a form field TAB, LF and CR are text (a textarea's lines come as CR LF): the other Cc are refused.
FORM_WHITESPACE = frozenset("\t\n\r")


def bad_character(values: Iterable[str], *, allowed: frozenset[str] = frozenset()) -> str | None:
    """The first control character (category Cc) in `values` that is not `allowed`, else None."""
    for value in values:
        for character in value:
            if unicodedata.category(character) == "Cc" and character not in allowed:
                return character
    return None


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def masked_name(name: str) -> str:
    """A login name as the logs show it: `a***`, an e-mail as `workflow.ops.logs.mask_text` masks it. A name field
    sometimes holds a password typed one field too early: only its first character is ever written."""
    if EMAIL.fullmatch(name):
        return mask_text(name)
    return f"{name[:1]}***" if name else "(empty)"


def minutes(seconds: float) -> int:
    """Whole minutes, rounded up: "try again in 1 minute" rather than in 0."""
    return max(1, math.ceil(seconds / 60))
