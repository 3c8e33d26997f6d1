"""What the notifications consumer keeps: e-mails to send, participants' accesses, reminders due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.persistence.orm.base import Base


class EmailRow(Base):
    """An e-mail to send, once: the idempotency key is (registration, kind, recipient, occurrence).

    Written pending in the transaction of the event that asks for it; sent later by the notifications
    consumer, which claims it with a lease, renders it from `template` and `context` (the personal link is
    derived at send time, so no usable token is ever stored), sends it, and marks it sent.
    """

    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    template: Mapped[str] = mapped_column(String(40))
    context: Mapped[dict[str, Any]]
    attachments: Mapped[list[Any]]  # [{"type": "document"|"ics", ...}], built at send time
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))  # the same on every attempt: clients dedupe on it
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # Wall-clock (not the business clock) end of a sender's claim: no other replica takes the row before.
    lease_until: Mapped[datetime | None]


class ParticipantAccessRow(Base):
    """A participant's personal access to a session. The link's token is HMAC(link secret, id): only
    its SHA-256 is stored, so the table alone gives no usable link."""

    __tablename__ = "participant_access"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # random (secrets), never shown
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320))
    civilite: Mapped[str | None] = mapped_column(String(10))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10))  # active | revoked
    sequence: Mapped[int] = mapped_column(Integer)  # the .ics SEQUENCE: +1 at each change of the event
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the session is held (the signed sheet, or operations' word): present | partial | absent, and the
    # minutes of training followed (None: operations recorded it without a sheet, nothing was measured).
    presence: Mapped[str | None] = mapped_column(String(10))
    minutes_followed: Mapped[int | None] = mapped_column(Integer)


class ReminderRow(Base):
    """A reminder due before a session: a table the notifications consumer polls (durable, cancellable)."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("registration_id", "session_id", "offset_minutes"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str] = mapped_column(String(100))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # scheduled | sent | skipped | cancelled
    reason: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
