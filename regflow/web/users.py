"""The back-office page's users: a name, a password hash and roles, kept in a JSON file
(`REGFLOW_WEB_USERS_FILE`, written by `regflow web-user add`).

Passwords are hashed with werkzeug.security's scrypt (memory-hard, salted, the hash names its own
parameters so they can be raised later without breaking stored hashes). Werkzeug is already there
with Flask and maintained by the same team (Pallets): no extra native dependency to keep up, where
argon2-cffi would add one for a handful of back-office accounts.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from schemas.limits import TRAINING_NAME_MAX


class Role(StrEnum):
    """What a user may do beyond reading registrations and timelines (everyone can)."""

    SUPPORT = "support"  # replaces participants
    FINANCE = "finance"  # records payments, sees invoices
    OPERATIONS = "operations"  # records sessions held, sees the queues
    TRAINER = "trainer"  # corrects and signs the attendance sheet of a session (service fait)


ROLE_NAMES = frozenset(r.value for r in Role)
LANGUAGES = ("fr", "en")  # the back office's (regflow.web.i18n)
HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 12
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
FULL_NAME = re.compile(rf"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]{{1,{TRAINING_NAME_MAX}}}$")  # as a session's trainer
# Checked when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("regflow-no-such-user", method=HASH_METHOD)


class WebUserError(ValueError):
    """A user that cannot be written: bad name, short password, unknown role."""


@dataclass(frozen=True)
class WebUser:
    name: str
    roles: tuple[Role, ...]
    full_name: str | None = None  # a trainer's name, as a session names its trainer
    language: str | None = None  # "fr" or "en": the back office's language for this user (else the browser's)

    def can(self, role: Role) -> bool:
        return role in self.roles

    def trains(self, trainer: str | None) -> bool:
        """A trainer signs the sheets of the sessions that name them, and of those that name nobody."""
        if not self.can(Role.TRAINER):
            return False
        return trainer is None or (self.full_name is not None and _same_name(self.full_name, trainer))


def _same_name(one: str, other: str) -> bool:
    return " ".join(one.casefold().split()) == " ".join(other.casefold().split())


class UserStore:
    """Read on every call: a user added or removed takes effect without restarting the page."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, object]]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        users: dict[str, dict[str, object]] = data.get("users", {})
        return users

    def get(self, name: str) -> WebUser | None:
        entry = self._load().get(name)
        if entry is None:
            return None
        roles, full_name, language = entry.get("roles"), entry.get("full_name"), entry.get("language")
        return WebUser(name, tuple(Role(r) for r in roles if r in ROLE_NAMES) if isinstance(roles, list) else (),
                       full_name if isinstance(full_name, str) else None,
                       language if language in LANGUAGES else None)

    def authenticate(self, name: str, password: str) -> WebUser | None:
        """The user when the password matches, else None (the same work for an unknown name)."""
        entry = self._load().get(name)
        stored = entry.get("password_hash") if entry else None
        if not isinstance(stored, str):
            check_password_hash(_DUMMY_HASH, password)
            return None
        return self.get(name) if check_password_hash(stored, password) else None

    def add(self, name: str, password: str, roles: list[str], *, full_name: str | None = None,
            language: str | None = None) -> WebUser:
        """Create or replace a user (a new password, new roles); the file is kept private (mode 600)."""
        if not NAME_PATTERN.match(name):
            raise WebUserError(f"name {name!r}: 2 to 64 letters, digits, '.', '_', '@' or '-'")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise WebUserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
        unknown = [r for r in roles if r not in ROLE_NAMES]
        if unknown or not roles:
            raise WebUserError(f"role: one or more of {', '.join(Role)} (got {', '.join(unknown) or 'none'})")
        if full_name is not None and not FULL_NAME.match(full_name):
            raise WebUserError(f"full name: one line of 1 to {TRAINING_NAME_MAX} printable characters")
        if language is not None and language not in LANGUAGES:
            raise WebUserError(f"language: one of {', '.join(LANGUAGES)}")
        users = self._load()
        users[name] = {"password_hash": generate_password_hash(password, method=HASH_METHOD),
                       "roles": sorted(set(roles)), **({"full_name": full_name.strip()} if full_name else {}),
                       **({"language": language} if language else {})}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"users": users}, file, indent=2)
        temporary.replace(self.path)  # atomic: the page never reads a half-written file
        user = self.get(name)
        assert user is not None
        return user
