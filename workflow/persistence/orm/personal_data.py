"""The record of each personal-data request (RGPD art. 5-2, accountability): an export, an erasure or the scheduled
pseudonymisation, who did it and when, and what it did. It names the person by their pseudonym, never by the
e-mail: the log of an erasure must not bring back what it erased."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.limits import MAX_ACTOR_LENGTH
from workflow.persistence.orm.base import Base


class PersonalDataRequestRow(Base):
    __tablename__ = "personal_data_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # export | erase | purge
    subject: Mapped[str | None] = mapped_column(String(40), index=True)  # `personne-<token>`; None: a purge run
    actor: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]]  # per table: rows found, pseudonymised, deleted, kept (with the reasons' keys)
