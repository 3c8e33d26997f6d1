"""Tables (SQLAlchemy 2 typed models). Alembic migrations in `workflow/persistence/migrations` create them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns timezone-aware datetimes (SQLite keeps no timezone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Money = Numeric(12, 2, asdecimal=True)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


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


class OutboxRow(Base):
    """Events to publish, written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"

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


class InvoiceCounterRow(Base):
    """Last number issued per year. Incremented under a row lock in the invoice's transaction, so a
    rolled-back invoice gives its number back: no gap (CGI annexe II art. 242 nonies A)."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class IssuedDocument:
    """What an invoice and a credit note share: a number of the yearly sequence, lines, a PDF."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    lines: Mapped[list[Any]]  # [{description, quantity, unit_price, total}], as printed
    total: Mapped[Decimal] = mapped_column(Money)
    document_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class InvoiceRow(IssuedDocument, Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    registration_id: Mapped[str] = mapped_column(ForeignKey("registrations.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    due_on: Mapped[date | None] = mapped_column(Date)


class CreditNoteRow(IssuedDocument, Base):
    """An avoir: its own number in the same yearly sequence, referencing the invoice it cancels."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    invoice_number: Mapped[str] = mapped_column(ForeignKey("invoices.number"), unique=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)


class ReceivableRow(Base):
    """Finance's view of an invoice: what is due, when, what was paid. Mutable, unlike the invoice."""

    __tablename__ = "receivables"

    invoice_number: Mapped[str] = mapped_column(ForeignKey("invoices.number"), primary_key=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    client_name: Mapped[str | None] = mapped_column(String(300))
    client_category: Mapped[str] = mapped_column(String(40))
    total: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)
    sent_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date)
    service_fait_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # open | settled | overpaid | credited
    overdue_notified_period: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime]


class SessionRecordRow(Base):
    """Operations' record that a session was held ("service fait")."""

    __tablename__ = "session_records"

    session_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    absent_emails: Mapped[list[Any]]  # attendance: the participants who did not attend
    recorded_at: Mapped[datetime]


class PaymentRow(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(String(100), unique=True)  # finance's ref: counted once
    invoice_number: Mapped[str | None] = mapped_column(String(20), index=True)
    matched: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[Decimal] = mapped_column(Money)
    received_on: Mapped[date] = mapped_column(Date)
    payer: Mapped[str | None] = mapped_column(String(300))
    means: Mapped[str] = mapped_column(String(30))
    anomalies: Mapped[list[Any]]  # e.g. unknown_invoice, before_service_fait, overpayment, invoice_credited
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str | None] = mapped_column(String(100))  # the finance officer; None: not said


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


@event.listens_for(InvoiceRow, "before_update")
@event.listens_for(CreditNoteRow, "before_update")
def _issued_documents_are_immutable(mapper: Any, connection: Any, target: Any) -> None:
    """An issued invoice or credit note is never changed: it is corrected by a credit note (CGI)."""
    raise ValueError(f"{type(target).__name__} {target.number} is issued and cannot be modified")
