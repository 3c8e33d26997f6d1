"""Registrations: loaded as domain objects, remembered, written back by the unit of work on commit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.form import RegistrationForm
from schemas.messages import RuleViolation
from workflow.domain.machine import State
from workflow.domain.registration import Registration
from workflow.persistence.orm import RegistrationRow, SessionParticipantRow


class RegistrationRepository:
    """Loads registrations as domain objects and writes them back on commit."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[str, tuple[Registration, RegistrationRow | None]] = {}

    def get(self, registration_id: str, *, for_update: bool = False) -> Registration | None:
        if registration_id in self.seen:
            return self.seen[registration_id][0]
        query = select(RegistrationRow).where(RegistrationRow.id == registration_id)
        row = self._session.scalars(query.with_for_update() if for_update else query).one_or_none()
        if row is None:
            return None
        registration = _to_domain(row)
        self.seen[registration.id] = (registration, row)
        return registration

    def add(self, registration: Registration) -> None:
        self.seen[registration.id] = (registration, None)

    def in_session(self, session_id: str, states: set[State]) -> list[Registration]:
        found = [self.get(rid) for rid in self.ids_in_session(session_id, states)]
        return [r for r in found if r is not None]

    def ids_in_session(self, session_id: str, states: set[State]) -> list[str]:
        """Only the ids (oldest first): a session of 10,000 is a list of strings, not 10,000 aggregates."""
        return list(self._session.scalars(
            select(RegistrationRow.id)
            .where(RegistrationRow.session_id == session_id, RegistrationRow.state.in_(states))
            .order_by(RegistrationRow.created_at, RegistrationRow.id)))

    def emails_registered(self, session_id: str, *, excluding: str, among: set[str]) -> set[str]:
        """Which of `among` (login e-mails) other registrations already enrol in the session (indexed)."""
        if not among:
            return set()
        query = (select(SessionParticipantRow.email)
                 .join(RegistrationRow, RegistrationRow.id == SessionParticipantRow.registration_id)
                 .where(SessionParticipantRow.session_id == session_id, SessionParticipantRow.email.in_(among),
                        SessionParticipantRow.registration_id != excluding, RegistrationRow.state != State.REJECTED))
        return set(self._session.scalars(query))


def _to_domain(row: RegistrationRow) -> Registration:
    return Registration(
        id=row.id, state=State(row.state), form=RegistrationForm.model_validate(row.form),
        errors=[RuleViolation.model_validate(e) for e in row.errors],
        warnings=[RuleViolation.model_validate(w) for w in row.warnings],
        service_fait_on=row.service_fait_on)
