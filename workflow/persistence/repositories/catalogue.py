"""The catalogue as operations left it: read per unit of work, so that every process sees a change at once."""

from __future__ import annotations

from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from schemas.events import SessionChanged
from workflow.domain.catalogue import Catalogue, Schedule, SessionDate, SessionState, Training
from workflow.domain.machine import State
from workflow.persistence.orm import RegistrationRow, SessionParticipantRow, TrainingRow, TrainingSessionRow

# A registration holds its participants' seats until it is rejected, cancelled or credited.
SEAT_HOLDING = (State.RECEIVED, State.SIGNED, State.CONFIRMED, State.INVOICED, State.SETTLED,
                State.SESSION_HELD, State.PAID)


# The catalogue's rows as PostgreSQL holds them in this transaction's snapshot: each row's id and the transaction
# that wrote its current version (`xmin`). Another transaction's insert, update or delete changes it; the same
# fingerprint means the very rows a load would read. This transaction's own changes all carry its one `xmin`, so
# two of them look alike: `own` says it wrote catalogue rows, and then it reads them itself.
_FINGERPRINT = text(
    "SELECT coalesce((SELECT string_agg(id || ':' || xmin::text, ',' ORDER BY id) FROM trainings), '') || '/' || "
    "coalesce((SELECT string_agg(id || ':' || xmin::text, ',' ORDER BY id) FROM training_sessions), '') AS rows, "
    "EXISTS (SELECT 1 FROM trainings WHERE xmin = xid(pg_current_xact_id_if_assigned())) OR "
    "EXISTS (SELECT 1 FROM training_sessions WHERE xmin = xid(pg_current_xact_id_if_assigned())) AS own")
# Per engine (one per database a process talks to), weakly: the last catalogue loaded, its fingerprint, its schedule.
_LAST_LOADED: WeakKeyDictionary[Engine, tuple[str, Schedule, Catalogue]] = WeakKeyDictionary()


class SqlCatalogue:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._loaded: Catalogue | None = None

    def current(self, schedule: Schedule) -> Catalogue:
        """Once per unit of work (the handler, its rules and its e-mails read the same). On PostgreSQL, the catalogue
        this process loaded last is reused while the rows' fingerprint is unchanged: one small query instead of two
        and the models built again (about 1 ms of CPU a message, in every consumer)."""
        if self._loaded is None:
            bind = self._session.get_bind()
            engine = bind if isinstance(bind, Engine) else bind.engine
            if engine.dialect.name != "postgresql":
                self._loaded = self._load(schedule)
                return self._loaded
            if self._session.new or self._session.dirty or self._session.deleted:
                self._session.flush()  # what this unit of work changed, in the fingerprint (text() does not autoflush)
            fingerprint, own = self._session.execute(_FINGERPRINT).one()
            last = _LAST_LOADED.get(engine)
            if own:
                self._loaded = self._load(schedule)  # not committed, maybe not the last change: not for the others
            elif last is not None and last[0] == fingerprint and last[1] == schedule:
                self._loaded = last[2]
            else:
                self._loaded = self._load(schedule)
                _LAST_LOADED[engine] = (str(fingerprint), schedule, self._loaded)
        return self._loaded

    def _load(self, schedule: Schedule) -> Catalogue:
        sessions: dict[str, list[SessionDate]] = {}
        for row in self._session.scalars(select(TrainingSessionRow).order_by(TrainingSessionRow.date,
                                                                             TrainingSessionRow.id)):
            sessions.setdefault(row.training_id, []).append(session_of(row))
        trainings = [training_of(row, sessions.get(row.id, []))
                     for row in self._session.scalars(select(TrainingRow).order_by(TrainingRow.id))]
        return Catalogue(trainings=trainings, schedule=schedule)

    def seats_taken(self, session_id: str, *, excluding: str | None = None, lock: bool = False) -> int:
        """Participants of the session's other registrations that hold a seat. `lock` takes the session's row
        first, so that two forms checked at once by two replicas cannot both take the last seat."""
        if lock:
            self.session_row(session_id, for_update=True)
        query = (select(func.count()).select_from(SessionParticipantRow)
                 .join(RegistrationRow, RegistrationRow.id == SessionParticipantRow.registration_id)
                 .where(SessionParticipantRow.session_id == session_id, RegistrationRow.state.in_(SEAT_HOLDING)))
        if excluding is not None:
            query = query.where(SessionParticipantRow.registration_id != excluding)
        return int(self._session.scalar(query) or 0)

    def training_row(self, training_id: str) -> TrainingRow | None:
        return self._session.get(TrainingRow, training_id)

    def session_row(self, session_id: str, *, for_update: bool = False) -> TrainingSessionRow | None:
        return self._session.get(TrainingSessionRow, session_id, with_for_update=for_update or None)

    def add(self, row: TrainingRow | TrainingSessionRow) -> None:
        self._session.add(row)
        self._loaded = None

    def set_state(self, session_id: str, state: SessionState, *, at: datetime) -> TrainingSessionRow | None:
        """The session's new state (held, cancelled, closed...); None if unknown or already in it."""
        row = self.session_row(session_id, for_update=True)
        if row is None or row.state == state:
            return None
        row.state, row.version, row.updated_at = state.value, row.version + 1, at
        self._loaded = None
        return row


def session_of(row: TrainingSessionRow) -> SessionDate:
    return SessionDate(id=row.id, date=row.date, state=SessionState(row.state), capacity=row.capacity,
                       registration_deadline=row.registration_deadline, join_url=row.join_url, trainer=row.trainer)


def training_of(row: TrainingRow, sessions: list[SessionDate]) -> Training:
    return Training(id=row.id, title=row.title, format=row.format, objective=row.objective,
                    audience=list(row.audience), speaker=row.speaker, price_per_participant=row.price_per_participant,
                    vat=row.vat, invoice_is_training_agreement=row.invoice_is_training_agreement, sessions=sessions)


def session_changed(row: TrainingSessionRow, by: str) -> SessionChanged:
    """The event a change publishes (`session.created` / `session.updated`)."""
    return SessionChanged(session_id=row.id, training_id=row.training_id, session_date=row.date,
                          state=row.state,
                          capacity=row.capacity, registration_deadline=row.registration_deadline,
                          trainer=row.trainer, has_join_url=row.join_url is not None, version=row.version,
                          changed_by=by)
