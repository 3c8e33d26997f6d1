"""The signature platform's callbacks as received (issue #19): one row per platform event id, so that a replayed or
retried callback is recognised and acts once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from workflow.persistence.orm.base import Base


class SignatureCallbackRow(Base):
    """`pending` until the sign command is confirmed by the broker (`published`), or `ignored` with why (another
    event, an unknown registration, one no longer waiting): the platform's retries then change nothing."""

    __tablename__ = "signature_callbacks"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform: Mapped[str] = mapped_column(String(30))
    event_name: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(200))  # the platform's signature request id
    registration_id: Mapped[str | None] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str | None] = mapped_column(String(300))
