"""What operations do to the catalogue (`regflow trainings`, `regflow sessions`, the back office's pages): each
change is checked by the catalogue's own shapes, committed with its `session.created` / `session.updated`
event in the outbox, and seen by every consumer at their next message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.catalogue import Catalogue, Schedule, SessionDate, SessionState, Training
from workflow.domain.clock import PARIS, Clock
from workflow.persistence.orm import TrainingRow, TrainingSessionRow
from workflow.persistence.repositories.catalogue import session_changed, session_of
from workflow.persistence.unit_of_work import UnitOfWork

ACTOR = "operations"
# What `regflow sessions edit` may change; the state changes by its own commands (close, cancel-session...).
SESSION_FIELDS = ("date", "capacity", "registration_deadline", "join_url", "trainer")
TRAINING_FIELDS = ("title", "format", "objective", "audience", "speaker", "price_per_participant",
                   "invoice_is_training_agreement")


class CatalogueChangeError(ValueError):
    """A change the catalogue cannot take, told in French then English (the CLI prints it, exit 2)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(f"{fr} / {en}")
        self.fr, self.en = fr, en


@dataclass(frozen=True)
class CatalogueDesk:
    sessions: sessionmaker[Session]
    clock: Clock
    schedule: Schedule

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.clock, actor=ACTOR)

    def catalogue(self) -> Catalogue:
        with self._uow() as uow:
            return uow.catalogue.current(self.schedule)

    # --- trainings ---------------------------------------------------------------------------------

    def add_training(self, training: Training) -> Training:
        now = self.clock.now()
        with self._uow() as uow:
            if uow.session.get(TrainingRow, training.id) is not None:
                raise CatalogueChangeError(f"la formation {training.id} existe déjà",
                                             f"training {training.id} already exists")
            uow.session.add(TrainingRow(**training.model_dump(exclude={"sessions"}), created_at=now, updated_at=now))
            uow.commit()
        return training

    def edit_training(self, training_id: str, changes: dict[str, Any]) -> Training:
        now = self.clock.now()
        with self._uow() as uow:
            row = uow.session.get(TrainingRow, training_id, with_for_update=True)
            current = self._training(uow, training_id)
            if row is None or current is None:
                raise CatalogueChangeError(f"aucune formation {training_id}", f"no training {training_id}")
            changed = Training.model_validate({**current.model_dump(), **_only(changes, TRAINING_FIELDS)})
            for name in TRAINING_FIELDS:
                setattr(row, name, getattr(changed, name))
            row.updated_at = now
            uow.commit()
        return changed

    # --- sessions ----------------------------------------------------------------------------------

    def add_session(self, training_id: str, session: SessionDate) -> SessionDate:
        now = self.clock.now()
        with self._uow() as uow:
            if self._training(uow, training_id) is None:
                raise CatalogueChangeError(f"aucune formation {training_id}", f"no training {training_id}")
            if uow.session.get(TrainingSessionRow, session.id) is not None:
                raise CatalogueChangeError(f"la séance {session.id} existe déjà",
                                           f"session {session.id} already exists")
            if session.date <= now.astimezone(PARIS).date():
                raise CatalogueChangeError(f"la date {session.date:%d/%m/%Y} est passée",
                                             f"the date {session.date} is past")
            row = TrainingSessionRow(id=session.id, training_id=training_id, date=session.date,
                                     state=SessionState.OPEN.value, capacity=session.capacity,
                                     registration_deadline=session.registration_deadline, join_url=session.join_url,
                                     trainer=session.trainer, version=1, created_at=now, updated_at=now)
            uow.session.add(row)
            uow.publish("session.created", session_changed(row, ACTOR))
            uow.commit()
            return session_of(row)

    def edit_session(self, session_id: str, changes: dict[str, Any]) -> SessionDate:
        """Date, capacity, deadline, join address, trainer. A date of a session with registrations is moved
        with `regflow move-session` instead (their invoices and invitations follow); `None` clears a field."""
        now = self.clock.now()
        with self._uow() as uow:
            row = uow.session.get(TrainingSessionRow, session_id, with_for_update=True)
            if row is None:
                raise CatalogueChangeError(f"aucune séance {session_id}", f"no session {session_id}")
            wanted = _only(changes, SESSION_FIELDS)
            changed = SessionDate.model_validate({**session_of(row).model_dump(), **wanted})
            if changed.date != row.date and (uow.catalogue.seats_taken(session_id)
                                             or changed.date <= now.astimezone(PARIS).date()):
                raise CatalogueChangeError(
                    "la date d'une séance qui a des inscrits ne change pas (regflow move-session, vers une autre "
                    "séance, les prévient et refait leurs factures), et la nouvelle date doit être future",
                    "the date of a session with registrations does not change (regflow move-session tells them "
                    "and reissues their invoices), and the new date must be in the future")
            for name in SESSION_FIELDS:
                setattr(row, name, getattr(changed, name))
            row.version, row.updated_at = row.version + 1, now
            uow.publish("session.updated", session_changed(row, ACTOR))
            uow.commit()
            return changed

    def set_state(self, session_id: str, state: SessionState) -> SessionDate:
        """Close (no new form) or reopen a session. Cancelled and held are decided by their commands."""
        now = self.clock.now()
        with self._uow() as uow:
            row = uow.session.get(TrainingSessionRow, session_id, with_for_update=True)
            if row is None:
                raise CatalogueChangeError(f"aucune séance {session_id}", f"no session {session_id}")
            if row.state in (SessionState.CANCELLED, SessionState.HELD):
                raise CatalogueChangeError(f"la séance {session_id} est {_french(row.state)} : elle le reste",
                                             f"session {session_id} is {row.state}: it stays so")
            if (changed := uow.catalogue.set_state(session_id, state, at=now)) is not None:
                uow.publish("session.updated", session_changed(changed, ACTOR))
            uow.commit()
            return session_of(row)

    def listing(self) -> list[dict[str, Any]]:
        """Every session, with its training, its state in words and its seats (for the CLI and the pages)."""
        today = self.clock.now().astimezone(PARIS).date()
        with self._uow() as uow:
            catalogue = uow.catalogue.current(self.schedule)
            return [session_line(training, session, uow.catalogue.seats_taken(session.id), today)
                    for training in catalogue.trainings for session in training.sessions]

    def _training(self, uow: UnitOfWork, training_id: str) -> Training | None:
        return uow.catalogue.current(self.schedule).training(training_id)


def session_line(training: Training, session: SessionDate, taken: int, today: date) -> dict[str, Any]:
    full = session.capacity is not None and taken >= session.capacity
    shown = "full" if full and session.state is SessionState.OPEN else session.state.value
    if shown == "open" and today > session.last_registration_day:
        shown = "closed"  # past its deadline: no form is accepted any more
    return {"id": session.id, "training_id": training.id, "title": training.title, "date": session.date.isoformat(),
            "state": shown, "state_fr": _french(shown), "capacity": session.capacity, "seats_taken": taken,
            "seats_left": None if session.capacity is None else max(session.capacity - taken, 0),
            "registration_deadline": session.last_registration_day.isoformat(),
            "join_url_set": session.join_url is not None, "trainer": session.trainer}


def _french(state: str) -> str:
    return {"open": "ouverte", "closed": "close", "full": "complète", "held": "tenue",
            "cancelled": "annulée"}.get(state, state)


def _only(changes: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise CatalogueChangeError(f"champ(s) non modifiable(s) : {', '.join(unknown)}",
                                     f"field(s) that cannot be changed: {', '.join(unknown)}")
    return changes
