"""The evidence of attendance: each opening of a personal link during the session (the join service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from schemas.limits import CATALOGUE_ID_MAX
from workflow.persistence.orm.base import Base


class JoinRecordRow(Base):
    """Who joined is the access (a participant's seat), when is `joined_at`: nothing else personal, no address,
    no browser (the participant is known through the access, kept as long as the registration)."""

    __tablename__ = "join_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    access_id: Mapped[str] = mapped_column(String(40), index=True)
    session_id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), index=True)
    joined_at: Mapped[datetime]
