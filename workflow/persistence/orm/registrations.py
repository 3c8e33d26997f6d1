"""A registration, its participants and history; the inbox, the outbox and the decisions on commands;
the record of a session held."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.limits import MAX_ACTOR_LENGTH
from workflow.persistence.orm.base import Base


class RegistrationRow(Base):
    __tablename__ = "registrations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    training_id: Mapped[str | None] = mapped_column(String(100))
    session_id: Mapped[str | None] = mapped_column(String(100), index=True)
    client_name: Mapped[str | None] = mapped_column(String(300))
    client_is_public: Mapped[bool] = mapped_column(Boolean)
    form: Mapped[dict[str, Any]]
    errors: Mapped[list[Any]]
    warnings: Mapped[list[Any]]
    service_fait_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # Optimistic versioning: an UPDATE that finds another version raises StaleDataError (retried).
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class SessionParticipantRow(Base):
    """Who a registration enrols in which session: the index behind the 'already registered' warning,
    so checking a form reads a few rows instead of every form of the session."""

    __tablename__ = "session_participants"
    __table_args__ = (Index("ix_session_participants_session_email", "session_id", "email"),)

    registration_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(100))


class HistoryRow(Base):
    """Audit trail: every transition applied or refused, with its cause and author."""

    __tablename__ = "registration_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(10))  # applied | refused
    reason: Mapped[str | None] = mapped_column(Text)
    cause_event_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class InboxRow(Base):
    """Messages already handled, per consumer: a redelivered message finds its row and has no effect."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_type: Mapped[str] = mapped_column(String(60))
    processed_at: Mapped[datetime]
    # SHA-256 of the body: the same id with another body is a conflict, parked, never taken for a duplicate.
    # None on rows written before migration 0008 (compared by id only).
    body_sha256: Mapped[str | None] = mapped_column(String(64))


_PENDING = "published_at IS NULL AND set_aside_at IS NULL"


class OutboxRow(Base):
    """Events to publish, written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"
    # The relay's poll (`workflow.messaging.relay`): the pending rows in id order, from an index holding only them.
    # With the two single-column indexes alone PostgreSQL combined them in a bitmap scan, which walks every entry
    # left by rows since published (a bitmap scan never marks them dead): 19 ms a poll at 110,000 rows, every 50 ms.
    __table_args__ = (Index("ix_outbox_pending", "id", postgresql_where=text(_PENDING), sqlite_where=text(_PENDING)),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    routing_key: Mapped[str] = mapped_column(String(60))
    registration_id: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    # A row the broker cannot take (too large, refused) is set aside with its reason instead of blocking the
    # rows behind it; `regflow status` and the Queue health page show it, a metric counts it.
    set_aside_at: Mapped[datetime | None] = mapped_column(index=True)
    set_aside_reason: Mapped[str | None] = mapped_column(Text)


class CommandDecisionRow(Base):
    """What became of a command (cmd.*): accepted, or refused with its reason. Written in the transaction
    that handled it (or that recorded the refusal); the command line and the page wait for it."""

    __tablename__ = "command_decisions"

    command_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    command_type: Mapped[str] = mapped_column(String(60))
    consumer: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(10))  # accepted | refused
    registration_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason_fr: Mapped[str | None] = mapped_column(Text)
    reason_en: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime]


class SessionRecordRow(Base):
    """Operations' record that a session was held ("service fait")."""

    __tablename__ = "session_records"

    session_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    absent_emails: Mapped[list[Any]]  # attendance: the participants who did not attend
    recorded_at: Mapped[datetime]
    evidence: Mapped[str] = mapped_column(String(20), default="operations")  # signed_sheet | operations
    reason: Mapped[str | None] = mapped_column(Text)  # operations' reason when there is no signed sheet
    recorded_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH))
