"""What the notifications consumer keeps: the participants' accesses, the reminders, the e-mail outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.domain.access_links import ACTIVE
from workflow.domain.reminders import SCHEDULED
from workflow.persistence.orm import Base, EmailRow, ParticipantAccessRow, ReminderRow
from workflow.persistence.repositories.protocols import Seat, SeatPresence

_EMAILS = Base.metadata.tables[EmailRow.__tablename__]
_ACCESSES = Base.metadata.tables[ParticipantAccessRow.__tablename__]
# Core, on the table: a session's presences written without loading its accesses as mapped rows.
_PRESENCE = (update(_ACCESSES).where(_ACCESSES.c.id == bindparam("access_id"))
             .values(presence=bindparam("marked"), minutes_followed=bindparam("minutes")))


class SqlAccesses:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, access: ParticipantAccessRow) -> None:
        self._session.add(access)

    def active_of(self, registration_id: str) -> list[ParticipantAccessRow]:
        return list(self._session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.registration_id == registration_id, ParticipantAccessRow.status == ACTIVE)
            .order_by(ParticipantAccessRow.created_at, ParticipantAccessRow.email)))

    def seat_ids_in_session(self, session_id: str) -> list[str]:
        return list(self._session.scalars(select(ParticipantAccessRow.id).where(
            ParticipantAccessRow.session_id == session_id, ParticipantAccessRow.status == ACTIVE)
            .order_by(ParticipantAccessRow.created_at, ParticipantAccessRow.email, ParticipantAccessRow.id)))

    def seats(self, session_id: str, ids: Sequence[str]) -> dict[str, Seat]:
        if not ids:
            return {}
        rows = self._session.execute(select(_ACCESSES.c.id, _ACCESSES.c.registration_id, _ACCESSES.c.email).where(
            _ACCESSES.c.session_id == session_id, _ACCESSES.c.status == ACTIVE, _ACCESSES.c.id.in_(ids)))
        return {row.id: Seat(row.id, row.registration_id, row.email) for row in rows}

    def record_presence(self, presences: Sequence[SeatPresence]) -> None:
        if presences:
            self._session.execute(_PRESENCE, [{"access_id": p.access_id, "marked": p.presence,
                                               "minutes": p.minutes_followed} for p in presences])


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
