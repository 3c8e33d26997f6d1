"""The evidence of attendance: each opening of a personal link during the session (the join service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
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


class AttendanceLineRow(Base):
    """A line of the platform's attendance report, imported for a session (`regflow attendance import`): kept
    whether or not its e-mail matches a participant. (session, file's SHA-256, line) is unique, so the same
    file imported twice adds nothing."""

    __tablename__ = "attendance_lines"
    __table_args__ = (UniqueConstraint("session_id", "file_sha256", "line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    line: Mapped[int] = mapped_column(Integer)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(300))
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime]
    access_id: Mapped[str | None] = mapped_column(String(40))  # the participant matched by e-mail, if any
    imported_at: Mapped[datetime]
