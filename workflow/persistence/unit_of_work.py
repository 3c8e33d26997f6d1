"""Unit of work: one message handled = one transaction.

The state change, its audit rows, the inbox row (this message was handled by this consumer) and the
outbox rows (events to publish) commit together or not at all. That is what makes effects happen
once: a redelivered message finds its inbox row; a process killed before commit leaves nothing, and
the broker redelivers the unacknowledged message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from uuid import uuid4

from sqlalchemy import Executable, Result, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from schemas.form import Contract, RegistrationForm
from schemas.messages import CommandDecided, Envelope
from workflow.domain.clock import Clock
from workflow.domain.decisions import ACCEPTED, REFUSED, Accepted, Refused
from workflow.domain.errors import InconsistentMessageError, MessageConflictError, RegflowError
from workflow.domain.registration import DomainEvent, HistoryEntry, Registration
from workflow.persistence.orm import (
    Base,
    CommandDecisionRow,
    HistoryRow,
    InboxRow,
    OutboxRow,
    RegistrationRow,
    SessionParticipantRow,
)
from workflow.persistence.repositories import (
    Accesses,
    Attendance,
    Catalogues,
    Certificates,
    CreditNotes,
    Deposits,
    DocumentFiles,
    Emails,
    InterestClaims,
    Invoices,
    Payments,
    Receivables,
    RegistrationRepository,
    Reminders,
    SessionRecords,
    SqlAccesses,
    SqlAttendance,
    SqlCatalogue,
    SqlCertificates,
    SqlCreditNotes,
    SqlDeposits,
    SqlDocumentFiles,
    SqlEmails,
    SqlInterestClaims,
    SqlInvoices,
    SqlPayments,
    SqlReceivables,
    SqlReminders,
    SqlSessionRecords,
    SqlSurveys,
    Surveys,
)


class UnitOfWork:
    """`with uow:` opens a transaction; only `commit()` persists; leaving without it rolls back.

    The repositories, built on entering, are all a handler reads and writes through: `registrations` (domain
    objects, written back on commit), `invoices`, `credit_notes`, `receivables`, `payments`, `interest_claims`,
    `session_records`, `accesses`, `attendance`, `certificates`, `surveys`, `reminders`, `emails`, `catalogue`,
    `document_files` and `deposits` (rows of `workflow.persistence.orm`).
    """

    session: Session
    registrations: RegistrationRepository
    invoices: Invoices
    credit_notes: CreditNotes
    receivables: Receivables
    payments: Payments
    interest_claims: InterestClaims
    session_records: SessionRecords
    accesses: Accesses
    attendance: Attendance
    certificates: Certificates
    surveys: Surveys
    reminders: Reminders
    emails: Emails
    catalogue: Catalogues
    document_files: DocumentFiles
    deposits: Deposits

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, *, actor: str,
                 message: Envelope | None = None, body: bytes | None = None) -> None:
        self._sessions = sessions
        self.clock = clock
        self.actor = actor
        self.message = message
        self.body_sha256 = hashlib.sha256(body).hexdigest() if body is not None else None
        self._loose_rows: list[dict[str, Any]] = []
        self._claimed = False  # this transaction holds the message's inbox row (`already_handled`)

    def __enter__(self) -> Self:
        self.session = self._sessions()
        self.registrations = RegistrationRepository(self.session)
        self.invoices = SqlInvoices(self.session)
        self.credit_notes = SqlCreditNotes(self.session)
        self.receivables = SqlReceivables(self.session)
        self.payments = SqlPayments(self.session)
        self.interest_claims = SqlInterestClaims(self.session)
        self.session_records = SqlSessionRecords(self.session)
        self.accesses = SqlAccesses(self.session)
        self.attendance = SqlAttendance(self.session)
        self.certificates = SqlCertificates(self.session)
        self.surveys = SqlSurveys(self.session)
        self.reminders = SqlReminders(self.session)
        self.emails = SqlEmails(self.session)
        self.catalogue = SqlCatalogue(self.session)
        self.document_files = SqlDocumentFiles(self.session)
        self.deposits = SqlDeposits(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.session.rollback()
        self.session.close()

    # --- inbox ----------------------------------------------------------------------------------

    def already_handled(self) -> bool:
        """True if this message's effects are committed; else the message is claimed for this transaction.

        The claim is the inbox row itself, inserted first: a second copy handled at the same moment by
        another replica waits on that row until the first commits, then finds it (or takes over if the
        first rolled back). Checking without claiming let the second copy see the first one's effects
        but not its inbox row, and refuse a form as an illegal "resubmit" (found by the fault suite).
        """
        if self.message is None:
            return False
        key = (self.actor, str(self.message.event_id))
        # One statement, not a read then a guarded insert: `INSERT … ON CONFLICT DO NOTHING RETURNING` waits on a
        # copy being handled by another replica like the insert did, and answers nothing once that one committed.
        claimed = self._core(_statements(self.session).claim, {
            "consumer": self.actor, "message_id": key[1], "message_type": self.message.type,
            "processed_at": self.clock.now(), "body_sha256": self.body_sha256}).first()
        if claimed is not None:
            self._claimed = True
            return False
        if (handled := self.session.get(InboxRow, key)) is not None:
            self._same_body_or_conflict(handled)
        return True

    def _same_body_or_conflict(self, handled: InboxRow) -> None:
        """Same id and same body: a duplicate. Same id, another body: another message reusing an id."""
        if handled.body_sha256 and self.body_sha256 and handled.body_sha256 != self.body_sha256:
            raise MessageConflictError(
                f"message id {handled.message_id} was already handled by {self.actor} with another body "
                f"(sha256 {handled.body_sha256[:12]}…, this one {self.body_sha256[:12]}…)")

    def confirm_published(self, body: bytes) -> None:
        """An event acts only if regflow published it: its outbox row holds this very body. A forged event
        (a leaked password, a misconfigured broker) is refused whatever it claims."""
        assert self.message is not None
        recorded = self._core(_RECORDED, {"event_id": str(self.message.event_id)}).first()
        if recorded is None:
            raise InconsistentMessageError(
                f"event {self.message.type} {self.message.event_id} is not in the outbox: regflow did not publish it")
        if recorded.routing_key != self.message.type or recorded.body.encode() != body:
            raise InconsistentMessageError(
                f"event {self.message.event_id} differs from the one regflow recorded ({recorded.routing_key})")

    # --- decisions ------------------------------------------------------------------------------

    def decide(self, decision: Accepted | Refused) -> None:
        """The decision on the command being handled: a row the sender waits for, and its event."""
        assert self.message is not None
        refused = isinstance(decision, Refused)
        reason_fr = decision.reason_fr if isinstance(decision, Refused) else None
        reason_en = decision.reason_en if isinstance(decision, Refused) else None
        decided = {"command_type": self.message.type, "consumer": self.actor,
                   "outcome": REFUSED if refused else ACCEPTED, "registration_id": self.message.registration_id,
                   "reason_fr": reason_fr, "reason_en": reason_en, "decided_at": self.clock.now()}
        # Written again when a refusal follows a first decision (`consumers.runner._decide_refused`): an upsert,
        # one statement where a merge read the row first.
        self._core(_statements(self.session).decide, {"command_id": str(self.message.event_id), **decided})
        self.publish("command.refused" if refused else "command.accepted", CommandDecided(
            command_id=self.message.event_id, command_type=self.message.type,
            outcome="refused" if refused else "accepted", reason_fr=reason_fr, reason_en=reason_en,
            detail=decision.detail), self.message.registration_id)

    # --- outbox ---------------------------------------------------------------------------------

    def publish(self, event_type: str, payload: Contract, registration_id: str | None = None) -> None:
        """An event that belongs to no registration (e.g. session.held), published after commit. Its outbox row is
        built now: a handler that publishes many (a large session's attendance in parts) keeps their JSON, not
        their models, until the commit."""
        self._loose_rows.append(self._outbox_row(registration_id, DomainEvent(event_type, payload)))

    def _outbox_row(self, registration_id: str | None, event: DomainEvent) -> dict[str, Any]:
        now = self.clock.now()
        cause = self.message
        envelope = Envelope(
            event_id=uuid4(), type=event.type, occurred_at=now, registration_id=registration_id,
            correlation_id=cause.correlation_id if cause else uuid4(),
            causation_id=cause.event_id if cause else None, producer=self.actor,
            payload=event.payload.model_dump(mode="json"))
        return {"event_id": str(envelope.event_id), "routing_key": event.type, "registration_id": registration_id,
                "body": envelope.model_dump_json(), "created_at": now, "published_at": None, "set_aside_at": None,
                "set_aside_reason": None}

    def _core(self, statement: Executable, parameters: dict[str, Any] | list[dict[str, Any]]) -> Result[Any]:
        """A Core statement on this transaction's connection, past the ORM's bulk-insert and flush machinery (about
        a third of a message's own CPU when the inbox, decision, history and outbox rows went through it). The ORM's
        pending changes are flushed first, as `Session.execute` would have done."""
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.flush()
        return self.session.connection().execute(statement, parameters)

    # --- commit ---------------------------------------------------------------------------------

    def commit(self, *, mark_handled: bool = True) -> None:
        """Persist everything; `mark_handled=False` leaves no inbox row (a parked message may be replayed)."""
        now = self.clock.now()
        cause = str(self.message.event_id) if self.message else None
        history: list[dict[str, Any]] = []
        outbox: list[dict[str, Any]] = []
        for registration, loaded in self.registrations.seen.values():
            if loaded is not None and not registration.new_history and not registration.events:
                continue  # only read (e.g. by notifications): no write, no version bump to collide with
            row = self._write_back(registration, loaded)
            history += (_history_row(registration.id, entry) for entry in registration.new_history)
            outbox += (self._outbox_row(registration.id, event) for event in registration.events)
            row.updated_at = now
        outbox += self._loose_rows
        self.session.flush()  # the registrations (their versions checked) before the rows that follow them
        if history:
            self._core(_HISTORY, history)
        if outbox:
            self._core(_OUTBOX, outbox)  # in the order the events were raised: the relay publishes by id
        if mark_handled and self.message is not None and cause is not None and not self._claimed:
            self._core(_INBOX, {"consumer": self.actor, "message_id": cause, "message_type": self.message.type,
                                "processed_at": now, "body_sha256": self.body_sha256})
        self.session.commit()
        for registration, _ in self.registrations.seen.values():
            registration.new_history.clear()
            registration.events.clear()
        self._loose_rows.clear()

    def _write_back(self, registration: Registration, row: RegistrationRow | None) -> RegistrationRow:
        if row is None:
            row = RegistrationRow(id=registration.id, created_at=self.clock.now())
            self.session.add(row)
            self.registrations.seen[registration.id] = (registration, row)
        form = registration.form
        before = _enrolment_of(row.form) if row.form is not None else None
        row.state = registration.state
        row.training_id = form.training_id
        row.session_id = form.session_id
        row.client_name = form.client.name
        row.client_is_public = registration.client_is_public
        row.form = form.model_dump(mode="json")
        row.errors = [e.model_dump(mode="json") for e in registration.errors]
        row.warnings = [w.model_dump(mode="json") for w in registration.warnings]
        row.service_fait_on = registration.service_fait_on
        enrolled = _enrolment(form)
        if before != enrolled:
            if before:
                self.session.execute(delete(SessionParticipantRow).where(
                    SessionParticipantRow.registration_id == registration.id))
            self.session.add_all(SessionParticipantRow(registration_id=registration.id, session_id=session_id,
                                                       email=email) for session_id, email in enrolled)
        return row

    def record_refusal(self, registration_id: str, trigger: str, error: RegflowError) -> None:
        """Keep a refused command in the registration's history (the caller commits)."""
        if self.session.get(RegistrationRow, registration_id) is None:
            return
        state = self.session.scalars(select(RegistrationRow.state)
                                     .where(RegistrationRow.id == registration_id)).one()
        self.session.add(HistoryRow(
            registration_id=registration_id, from_state=state, to_state=None, trigger=trigger,
            outcome="refused", reason=str(error),
            cause_event_id=str(self.message.event_id) if self.message else None,
            actor=self.actor, at=self.clock.now()))


@dataclass(frozen=True)
class _Statements:
    """Built once per dialect and executed with parameters: compiled once, then taken from SQLAlchemy's cache."""

    claim: Any
    decide: Any


_BUILT: dict[str, _Statements] = {}
# Core statements on the tables (not the mapped classes): executed on the connection, they skip the ORM's bulk
# persistence; built once, compiled once (SQLAlchemy's statement cache).
_INBOX_TABLE = Base.metadata.tables[InboxRow.__tablename__]
_DECISIONS = Base.metadata.tables[CommandDecisionRow.__tablename__]
_OUTBOX_TABLE = Base.metadata.tables[OutboxRow.__tablename__]
_INBOX = insert(_INBOX_TABLE)
_HISTORY = insert(Base.metadata.tables[HistoryRow.__tablename__])
_OUTBOX = insert(_OUTBOX_TABLE)
_RECORDED = select(_OUTBOX_TABLE.c.routing_key, _OUTBOX_TABLE.c.body).where(
    _OUTBOX_TABLE.c.event_id == bindparam("event_id"))
_DECIDED = ("command_type", "consumer", "outcome", "registration_id", "reason_fr", "reason_en", "decided_at")


def _statements(session: Session) -> _Statements:
    """The dialect's own INSERT, which knows ON CONFLICT (PostgreSQL, and SQLite since 3.24)."""
    dialect = session.get_bind().dialect.name
    if dialect not in _BUILT:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        decide = insert(_DECISIONS)
        _BUILT[dialect] = _Statements(
            claim=insert(_INBOX_TABLE).on_conflict_do_nothing().returning(_INBOX_TABLE.c.message_id),
            decide=decide.on_conflict_do_update(index_elements=[_DECISIONS.c.command_id],
                                                set_={name: decide.excluded[name] for name in _DECIDED}))
    return _BUILT[dialect]


def _enrolment(form: RegistrationForm) -> set[tuple[str, str]]:
    if not form.session_id:
        return set()
    return {(form.session_id, p.email.strip().lower()) for p in form.participants if p.email}


def _enrolment_of(stored: dict[str, Any]) -> set[tuple[str, str]]:
    session_id = stored.get("session_id")
    if not session_id:
        return set()
    return {(session_id, str(p["email"]).strip().lower()) for p in stored.get("participants", []) if p.get("email")}


def _history_row(registration_id: str, entry: HistoryEntry) -> dict[str, Any]:
    return {"registration_id": registration_id, "from_state": entry.from_state, "to_state": entry.to_state,
            "trigger": entry.trigger, "outcome": entry.outcome, "reason": entry.reason,
            "cause_event_id": str(entry.cause_event_id) if entry.cause_event_id else None,
            "actor": entry.actor, "at": entry.at}


