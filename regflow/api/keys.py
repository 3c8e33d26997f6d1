"""The client systems of the HTTP intake API and their keys, kept in a JSON file (`REGFLOW_API_KEYS_FILE`, written by
`regflow api-keys add NAME`, which shows the key once). Only the key's SHA-256 is stored.

A key is 32 random bytes (`secrets.token_urlsafe`), so a fast hash is enough: nobody can try a dictionary against
2^256 keys, and scrypt, right for the back office's passwords (`regflow.web.users`), would cost every API call tens
of milliseconds of CPU. A key presented is hashed and compared with every stored hash in constant time
(`hmac.compare_digest`, no early exit), so the answer's timing says nothing of which client nor how close."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from workflow.persistence.orm.intake_api import CLIENT_NAME_MAX

NAME_PATTERN = re.compile(rf"^[a-z0-9][a-z0-9._-]{{1,{CLIENT_NAME_MAX - 1}}}$")
PREFIX = "rfk_"  # says what a leaked string is, for a secret scanner and for whoever finds it in a log
KEY_MAX = 200  # longer is not a key of ours: refused before hashing


class ApiKeyError(ValueError):
    """A client name that cannot be written."""


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKeyStore:
    """Read on every call: a key added or removed takes effect without restarting the service."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        clients: dict[str, dict[str, str]] = json.loads(self.path.read_text(encoding="utf-8")).get("clients", {})
        return clients

    def names(self) -> list[str]:
        return sorted(self._load())

    def authenticate(self, key: str) -> str | None:
        """The client whose key this is, else None; every stored hash compared, in constant time."""
        if len(key) > KEY_MAX:
            return None
        digest, found = key_digest(key).encode(), None
        for name, entry in self._load().items():
            if hmac.compare_digest(digest, str(entry.get("key_sha256", "")).encode()):
                found = name
        return found

    def add(self, name: str) -> str:
        """A new key for `name` (replacing its previous one), returned once: only its SHA-256 is written."""
        if not NAME_PATTERN.match(name):
            raise ApiKeyError(f"name {name!r}: 2 to {CLIENT_NAME_MAX} lower-case letters, digits, '.', '_' or '-'")
        key = PREFIX + secrets.token_urlsafe(32)
        clients = self._load()
        clients[name] = {"key_sha256": key_digest(key), "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self._write(clients)
        return key

    def remove(self, name: str) -> bool:
        clients = self._load()
        if clients.pop(name, None) is None:
            return False
        self._write(clients)
        return True

    def _write(self, clients: dict[str, dict[str, str]]) -> None:
        """Atomically, readable by its owner only (mode 600), as the back office's users file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"clients": clients}, file, indent=2)
        temporary.replace(self.path)
