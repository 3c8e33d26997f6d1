"""The HTTP intake API's requests (`regflow.api`): one row per client system and `Idempotency-Key`, committed
before anything is published, so that a retry finds what the first request decided and sends the same envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from schemas.api import IDEMPOTENCY_KEY_MAX
from schemas.limits import REGISTRATION_ID_MAX
from workflow.persistence.orm.base import Base

CLIENT_NAME_MAX = 64  # the API key's name (`regflow api-keys add NAME`)


class ApiRequestRow(Base):
    """An accepted request: who (`client`), under which key, the SHA-256 of the request (method, path and the JSON
    body, canonical), the registration it concerns, the envelope to publish (the same on every retry, so the
    validation consumer's inbox drops a duplicate) and when the broker confirmed it (`published_at`, None while
    it has not: a retry publishes it). A refused request (4xx) is not kept: the key may be used again."""

    __tablename__ = "api_requests"
    __table_args__ = (Index("ix_api_requests_client_registration", "client", "registration_id"),)

    client: Mapped[str] = mapped_column(String(CLIENT_NAME_MAX), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(String(60))
    registration_id: Mapped[str] = mapped_column(String(REGISTRATION_ID_MAX))
    envelope: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
