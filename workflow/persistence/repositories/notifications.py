"""What the notifications consumer keeps: the participants' accesses, the reminders, the e-mail outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.domain.access_links import ACTIVE
from workflow.domain.reminders import SCHEDULED
from workflow.persistence.orm import Base, EmailRow, ParticipantAccessRow, ReminderRow

_EMAILS = Base.metadata.tables[EmailRow.__tablename__]


class SqlAccesses:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, access: ParticipantAccessRow) -> None:
        self._session.add(access)

    def active_of(self, registration_id: str) -> list[ParticipantAccessRow]:
        return list(self._session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.registration_id == registration_id, ParticipantAccessRow.status == ACTIVE)
            .order_by(ParticipantAccessRow.created_at, ParticipantAccessRow.email)))

    def active_in_session(self, session_id: str) -> list[ParticipantAccessRow]:
        return list(self._session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.session_id == session_id, ParticipantAccessRow.status == ACTIVE)
            .order_by(ParticipantAccessRow.created_at, ParticipantAccessRow.email)))


class SqlReminders:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, reminder: ReminderRow) -> None:
        self._session.add(reminder)

    def offsets_planned(self, registration_id: str, session_id: str) -> set[int]:
        return set(self._session.scalars(select(ReminderRow.offset_minutes).where(
            ReminderRow.registration_id == registration_id, ReminderRow.session_id == session_id)))

    def scheduled_of(self, registration_id: str) -> list[ReminderRow]:
        return list(self._session.scalars(select(ReminderRow).where(
            ReminderRow.registration_id == registration_id, ReminderRow.status == SCHEDULED)))

    def due(self, now: datetime, limit: int) -> list[ReminderRow]:
        """Claimed with SKIP LOCKED on PostgreSQL: two replicas never turn the same reminder into e-mails."""
        query = (select(ReminderRow).where(ReminderRow.status == SCHEDULED, ReminderRow.due_at <= now)
                 .order_by(ReminderRow.due_at, ReminderRow.id).limit(limit))
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self._session.scalars(query))


class SqlEmails:
    def __init__(self, session: Session) -> None:
        self._session = session

    def queue(self, email: EmailRow) -> bool:
        """False when an e-mail with this idempotency key is already queued (by this transaction or committed): one
        `INSERT … ON CONFLICT DO NOTHING`, where a read and an ORM flush cost two statements and their machinery."""
        if self._session.new or self._session.dirty or self._session.deleted:
            self._session.flush()
        connection = self._session.connection()
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        values = {column.key: getattr(email, column.key) for column in _EMAILS.columns if column.key != "id"}
        statement = insert(_EMAILS).on_conflict_do_nothing(index_elements=[_EMAILS.c.idempotency_key])
        return connection.execute(statement.returning(_EMAILS.c.id), values).first() is not None
