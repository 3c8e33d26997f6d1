"""The stamped and signed forms sent back as scans (issue #19): kept in the database with their check by support,
so that the upload and its row commit together (no file written before the commit that keeps it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from schemas.limits import MAX_ACTOR_LENGTH, MAX_REASON_LENGTH
from workflow.persistence.orm.base import Base


class SignatureScanRow(Base):
    """A scan of the signed form uploaded on the tracking page: `to_check` until support accepts it (the sign
    command goes out with what support read on it) or refuses it with a reason the gestionnaire reads."""

    __tablename__ = "signature_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(30))  # sniffed from the content, never the browser's word
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), index=True)  # to_check, accepted, refused
    checked_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH))
    checked_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(MAX_REASON_LENGTH))
