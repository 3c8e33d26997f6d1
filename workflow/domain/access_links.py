"""Personal links to the video-conference platform: one unguessable token per participant.

The token is HMAC-SHA256(link secret, access id), the access id being 128 random bits from `secrets`.
The database keeps the access id and the token's SHA-256, never the token: a copy of the database gives
no usable link, yet the same link can be written again in every reminder (derived, not stored).
Revoking an access (the participant was replaced, the session cancelled) makes its token 'revoked'.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ACTIVE = "active"
REVOKED = "revoked"


def new_access_id() -> str:
    return secrets.token_hex(16)


def token_for(secret: str, access_id: str) -> str:
    """43 URL-safe characters (256 bits): what the participant's link ends with."""
    digest = hmac.new(secret.encode(), access_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def join_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{token}"


def token_from(text: str) -> str:
    """Accept the bare token or the whole link, as pasted by support or sent by the platform."""
    return text.strip().rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


class LinkStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LinkCheck:
    status: LinkStatus
    registration_id: str | None = None
    session_id: str | None = None
    participant: str | None = None
    email: str | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
