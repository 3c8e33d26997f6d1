"""The evidence of attendance: each opening of a personal link during the session (the join service), the
platform's report lines, the trainer's corrections and the signed sheet."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schemas.limits import CATALOGUE_ID_MAX, TRAINING_NAME_MAX
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


class AttendanceMarkRow(Base):
    """The trainer's correction of one participant's half-day on the sheet (present / partial / absent and the
    minutes followed), before the sheet is signed; one per (session, access, part)."""

    __tablename__ = "attendance_marks"
    __table_args__ = (UniqueConstraint("session_id", "access_id", "part"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), index=True)
    access_id: Mapped[str] = mapped_column(String(40))
    part: Mapped[int] = mapped_column(Integer)
    presence: Mapped[str] = mapped_column(String(10))
    minutes: Mapped[int] = mapped_column(Integer)
    corrected_by: Mapped[str] = mapped_column(String(64))
    corrected_at: Mapped[datetime]


class SignedSheetRow(Base):
    """The signed attendance sheet: service fait. Who signed (the back-office user and the name they typed),
    when, the attestation's words, the sheet as signed and its SHA-256. Written once, never changed."""

    __tablename__ = "signed_sheets"

    session_id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), primary_key=True)
    signed_by: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(TRAINING_NAME_MAX))
    signed_at: Mapped[datetime]
    attestation: Mapped[str] = mapped_column(Text)
    sheet: Mapped[dict[str, Any]]
    sheet_sha256: Mapped[str] = mapped_column(String(64))


class CertificateRow(Base):
    """A participant's certificat de réalisation, issued after service fait: one per (session, seat); the PDF is
    in the document store under its number."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("session_id", "access_id"),)

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), index=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    access_id: Mapped[str] = mapped_column(String(40))
    trainee: Mapped[str] = mapped_column(String(420))
    minutes_followed: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
