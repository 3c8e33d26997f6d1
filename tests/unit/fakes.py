"""In-memory stand-ins for the unit of work, its repositories and the adapters a handler is given.

cosmicpython's FakeUnitOfWork / FakeRepository: a handler runs as the runner runs it (`Office.handle`: the
dependencies its signature names injected from a `Deps`, a command's decision, commit), with no database,
broker, SMTP server or disk. Each fake repository keeps the interface of
`workflow.persistence.repositories.protocols` (tests/unit/test_handlers_fakes.py checks it) and answers as the
SQL does: the same filters, the same order. Records are the ORM rows, built without a session.

What the fakes do not do: roll back. A handler that raises leaves what it changed in memory (the real unit
of work would throw it away), and drops only the events it had not committed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import uuid4

from sqlalchemy.orm import sessionmaker

from schemas.form import Contract, RegistrationForm
from schemas.messages import Envelope
from workflow.adapters.clocks import FixedClock
from workflow.adapters.data_files import load_catalogue, load_reference_rates
from workflow.adapters.document_store import ChorusDeposit, DocumentKind, document_name
from workflow.adapters.mailroom import idempotency_key
from workflow.bootstrap import Deps, inject_dependencies, seller_of
from workflow.domain.access_links import ACTIVE
from workflow.domain.catalogue import Catalogue, Schedule, SessionDate, SessionState
from workflow.domain.clock import PARIS, Clock
from workflow.domain.decisions import Accepted, Refused
from workflow.domain.einvoicing import BuyerRequirements, StatusReport
from workflow.domain.identifiers import normalise_email
from workflow.domain.machine import State
from workflow.domain.receivables import CREDITED, OPEN
from workflow.domain.registration import HistoryEntry, Registration
from workflow.domain.reminders import SCHEDULED
from workflow.messaging.topology import Topology
from workflow.persistence.orm import (
    AttendanceMarkRow,
    CertificateRow,
    CreditNoteRow,
    DepositRow,
    DocumentFileRow,
    EmailRow,
    InterestClaimRow,
    InvoiceRow,
    ParticipantAccessRow,
    PaymentRow,
    ReceivableRow,
    ReminderRow,
    SessionRecordRow,
    SignedSheetRow,
    SurveyRow,
    TrainingSessionRow,
)
from workflow.persistence.repositories.catalogue import SEAT_HOLDING
from workflow.persistence.repositories.protocols import Seat, SeatPresence
from workflow.settings import Settings

FORMS = Path(__file__).parent.parent / "forms" / "valid"  # the seed forms (tests/conftest.py `load_form`)
SETTINGS = Settings(development=True)
CATALOGUE: Catalogue = load_catalogue()
AT = datetime(2023, 9, 1, 10, tzinfo=PARIS)  # the integration tests' 1 September 2023: before every session


class DuplicateKeyError(Exception):
    """What the database's unique constraint would refuse (at flush or commit)."""


# --- repositories ----------------------------------------------------------------------------------------------


class FakeRegistrations:
    def __init__(self) -> None:
        self.stored: dict[str, Registration] = {}
        self.history: dict[str, list[HistoryEntry]] = {}  # what commits wrote to the audit trail

    def get(self, registration_id: str, *, for_update: bool = False) -> Registration | None:
        return self.stored.get(registration_id)

    def add(self, registration: Registration) -> None:
        self.stored[registration.id] = registration

    def in_session(self, session_id: str, states: set[State]) -> list[Registration]:
        return [r for r in self.stored.values() if r.session_id == session_id and r.state in states]

    def ids_in_session(self, session_id: str, states: set[State]) -> list[str]:
        return [r.id for r in self.in_session(session_id, states)]

    def emails_registered(self, session_id: str, *, excluding: str, among: set[str]) -> set[str]:
        found: set[str] = set()
        for other in self.stored.values():
            if other.id != excluding and other.state != State.REJECTED and other.session_id == session_id:
                found |= {p.email.strip().lower() for p in other.form.participants if p.email} & among
        return found


class FakeCreditNotes:
    def __init__(self) -> None:
        self.rows: list[CreditNoteRow] = []

    def add(self, credit_note: CreditNoteRow) -> None:
        if self.get(credit_note.number) is not None or self.is_credited(credit_note.invoice_number):
            raise DuplicateKeyError(credit_note.number)
        credit_note.id = len(self.rows) + 1
        self.rows.append(credit_note)

    def get(self, number: str) -> CreditNoteRow | None:
        return next((c for c in self.rows if c.number == number), None)

    def is_credited(self, invoice_number: str) -> bool:
        return any(c.invoice_number == invoice_number for c in self.rows)

    def last_credited_invoice(self, registration_id: str) -> str | None:
        return next((c.invoice_number for c in reversed(self.rows) if c.registration_id == registration_id), None)


class FakeInvoices:
    def __init__(self, credit_notes: FakeCreditNotes) -> None:
        self.rows: list[InvoiceRow] = []
        self.counters: dict[int, int] = {}
        self._credit_notes = credit_notes

    def next_number(self, year: int) -> int:
        self.counters[year] = self.counters.get(year, 0) + 1
        return self.counters[year]

    def add(self, invoice: InvoiceRow) -> None:
        if self.get(invoice.number) is not None:
            raise DuplicateKeyError(invoice.number)
        invoice.id = len(self.rows) + 1
        self.rows.append(invoice)

    def get(self, number: str) -> InvoiceRow | None:
        return next((i for i in self.rows if i.number == number), None)

    def current_of(self, registration_id: str) -> InvoiceRow | None:
        return next((i for i in reversed(self.rows) if i.registration_id == registration_id
                     and not self._credit_notes.is_credited(i.number)), None)


class FakeReceivables:
    def __init__(self) -> None:
        self.rows: dict[str, ReceivableRow] = {}

    def get(self, invoice_number: str) -> ReceivableRow | None:
        return self.rows.get(invoice_number)

    def add(self, receivable: ReceivableRow) -> None:
        if receivable.invoice_number in self.rows:
            raise DuplicateKeyError(receivable.invoice_number)
        self.rows[receivable.invoice_number] = receivable

    def uncredited_of(self, registration_id: str) -> list[ReceivableRow]:
        return [r for r in self.rows.values() if r.registration_id == registration_id and r.status != CREDITED]

    def overdue(self, today: date, period: str) -> list[ReceivableRow]:
        return sorted((r for r in self.rows.values() if r.status == OPEN and r.due_on < today
                       and r.overdue_notified_period != period), key=lambda r: r.due_on)


class FakePayments:
    def __init__(self) -> None:
        self.rows: list[PaymentRow] = []

    def is_recorded(self, payment_id: str) -> bool:
        return any(p.payment_id == payment_id for p in self.rows)

    def add(self, payment: PaymentRow) -> None:
        if self.is_recorded(payment.payment_id):
            raise DuplicateKeyError(payment.payment_id)
        self.rows.append(payment)

    def received_for(self, invoice_number: str) -> list[tuple[Decimal, date]]:
        return [(p.amount, p.received_on) for p in self.rows if p.invoice_number == invoice_number and p.matched]


class FakeInterestClaims:
    def __init__(self) -> None:
        self.rows: dict[str, InterestClaimRow] = {}

    def get(self, number: str, *, for_update: bool = False) -> InterestClaimRow | None:
        return self.rows.get(number)

    def of_invoice(self, invoice_number: str) -> InterestClaimRow | None:
        return next((c for c in self.rows.values() if c.invoice_number == invoice_number), None)

    def add(self, claim: InterestClaimRow) -> None:
        if claim.number in self.rows:
            raise DuplicateKeyError(claim.number)
        self.rows[claim.number] = claim


class FakeSessionRecords:
    def __init__(self) -> None:
        self.rows: dict[str, SessionRecordRow] = {}

    def held_on(self, session_id: str) -> date | None:
        record = self.rows.get(session_id)
        return record.held_on if record else None

    def add(self, record: SessionRecordRow) -> None:
        if record.session_id in self.rows:
            raise DuplicateKeyError(record.session_id)
        self.rows[record.session_id] = record


class FakeCatalogue:
    """The catalogue as stored: `stored` may be replaced by a test (operations changing it between messages)."""

    def __init__(self, registrations: FakeRegistrations, catalogue: Catalogue = CATALOGUE) -> None:
        self.stored = catalogue
        self._registrations = registrations
        self.versions: dict[str, int] = {}

    def current(self, schedule: Schedule) -> Catalogue:
        return self.stored.model_copy(update={"schedule": schedule})

    def seats_taken(self, session_id: str, *, excluding: str | None = None, lock: bool = False) -> int:
        return sum(len({p.email.strip().lower() for p in r.form.participants if p.email})
                   for r in self._registrations.stored.values()
                   if r.session_id == session_id and r.id != excluding and r.state in SEAT_HOLDING)

    def set_state(self, session_id: str, state: SessionState, *, at: datetime) -> TrainingSessionRow | None:
        found = self.stored.session(session_id)
        if found is None or found[1].state is state:
            return None
        training, session = found
        changed = session.model_copy(update={"state": state})
        self.replace(training.id, changed)
        self.versions[session_id] = self.versions.get(session_id, 1) + 1
        return TrainingSessionRow(id=session_id, training_id=training.id, date=session.date, state=state.value,
                                  capacity=session.capacity, registration_deadline=session.registration_deadline,
                                  join_url=session.join_url, trainer=session.trainer,
                                  version=self.versions[session_id], created_at=at, updated_at=at)

    def replace(self, training_id: str, session: SessionDate) -> None:
        """The training's session of that id replaced (or added) by `session`."""
        trainings = [t.model_copy(update={"sessions": [*(s for s in t.sessions if s.id != session.id), session]})
                     if t.id == training_id else t for t in self.stored.trainings]
        self.stored = self.stored.model_copy(update={"trainings": trainings})


class FakeAccesses:
    def __init__(self) -> None:
        self.rows: list[ParticipantAccessRow] = []

    def add(self, access: ParticipantAccessRow) -> None:
        self.rows.append(access)

    def active_of(self, registration_id: str) -> list[ParticipantAccessRow]:
        return sorted((a for a in self.rows if a.registration_id == registration_id and a.status == ACTIVE),
                      key=lambda a: (a.created_at, a.email))

    def seat_ids_in_session(self, session_id: str) -> list[str]:
        return [a.id for a in sorted((a for a in self.rows if a.session_id == session_id and a.status == ACTIVE),
                                     key=lambda a: (a.created_at, a.email, a.id))]

    def seats(self, session_id: str, ids: Sequence[str]) -> dict[str, Seat]:
        wanted = set(ids)
        return {a.id: Seat(a.id, a.registration_id, a.email) for a in self.rows
                if a.id in wanted and a.session_id == session_id and a.status == ACTIVE}

    def record_presence(self, presences: Sequence[SeatPresence]) -> None:
        marked = {p.access_id: p for p in presences}
        for access in self.rows:
            if (p := marked.get(access.id)) is not None:
                access.presence, access.minutes_followed = p.presence, p.minutes_followed


class FakeAttendance:
    """The signed sheets as the back office stored them (a test puts one in `sheets`)."""

    def __init__(self) -> None:
        self.sheets: dict[str, SignedSheetRow] = {}
        self.corrections: dict[tuple[str, int], AttendanceMarkRow] = {}

    def signed_sheet(self, session_id: str) -> SignedSheetRow | None:
        return self.sheets.get(session_id)

    def marks(self, session_id: str) -> dict[tuple[str, int], AttendanceMarkRow]:
        return {k: m for k, m in self.corrections.items() if m.session_id == session_id}


class FakeCertificates:
    def __init__(self) -> None:
        self.rows: dict[str, CertificateRow] = {}

    def add(self, certificate: CertificateRow) -> None:
        if certificate.number in self.rows:
            raise DuplicateKeyError(certificate.number)
        self.rows[certificate.number] = certificate

    def get(self, number: str) -> CertificateRow | None:
        return self.rows.get(number)

    def of_registration(self, registration_id: str, session_id: str) -> list[CertificateRow]:
        return sorted((c for c in self.rows.values() if c.registration_id == registration_id
                       and c.session_id == session_id), key=lambda c: (c.trainee, c.number))


class FakeSurveys:
    def __init__(self) -> None:
        self.rows: list[SurveyRow] = []

    def add(self, survey: SurveyRow) -> None:
        if self.of_seat(survey.session_id, survey.access_id) is not None:
            raise DuplicateKeyError(f"{survey.session_id} {survey.access_id}")
        survey.id = len(self.rows) + 1
        self.rows.append(survey)

    def of_seat(self, session_id: str, access_id: str) -> SurveyRow | None:
        return next((s for s in self.rows if s.session_id == session_id and s.access_id == access_id), None)

    def reminders_due(self, now: datetime, limit: int) -> list[SurveyRow]:
        due = [s for s in self.rows if s.answered_at is None and s.reminded_at is None and s.remind_at <= now]
        return sorted(due, key=lambda s: (s.remind_at, s.id))[:limit]


class FakeReminders:
    def __init__(self) -> None:
        self.rows: list[ReminderRow] = []

    def add(self, reminder: ReminderRow) -> None:
        if reminder.offset_minutes in self.offsets_planned(reminder.registration_id, reminder.session_id):
            raise DuplicateKeyError(f"{reminder.registration_id} {reminder.session_id} {reminder.offset_minutes}")
        reminder.id = len(self.rows) + 1
        self.rows.append(reminder)

    def offsets_planned(self, registration_id: str, session_id: str) -> set[int]:
        return {r.offset_minutes for r in self.rows if r.registration_id == registration_id
                and r.session_id == session_id}

    def scheduled_of(self, registration_id: str) -> list[ReminderRow]:
        return [r for r in self.rows if r.registration_id == registration_id and r.status == SCHEDULED]

    def due(self, now: datetime, limit: int) -> list[ReminderRow]:
        due = [r for r in self.rows if r.status == SCHEDULED and r.due_at <= now]
        return sorted(due, key=lambda r: (r.due_at, r.id))[:limit]


class FakeEmails:
    """The outbox the real Mailroom queues into, when a test gives it this unit of work."""

    def __init__(self) -> None:
        self.rows: list[EmailRow] = []

    def is_queued(self, idempotency_key: str) -> bool:
        return any(e.idempotency_key == idempotency_key for e in self.rows)

    def queue(self, email: EmailRow) -> bool:
        if self.is_queued(email.idempotency_key):
            return False
        email.id = len(self.rows) + 1
        self.rows.append(email)
        return True


class FakeDocumentFiles:
    def __init__(self) -> None:
        self.rows: dict[str, DocumentFileRow] = {}

    def add(self, document: DocumentFileRow) -> None:
        if document.name in self.rows:
            raise DuplicateKeyError(document.name)
        self.rows[document.name] = document

    def get(self, name: str) -> DocumentFileRow | None:
        return self.rows.get(name)


class FakeDeposits:
    def __init__(self) -> None:
        self.rows: dict[str, DepositRow] = {}

    def add(self, deposit: DepositRow) -> None:
        if deposit.document_number in self.rows:
            raise DuplicateKeyError(deposit.document_number)
        self.rows[deposit.document_number] = deposit

    def get(self, document_number: str, *, for_update: bool = False) -> DepositRow | None:
        return self.rows.get(document_number)

    def numbers_in(self, statuses: Sequence[str], *, unless_platform: Sequence[str] = (), limit: int = 500
                   ) -> list[str]:
        return [n for n, r in sorted(self.rows.items(), key=lambda item: (item[1].created_at, item[0]))
                if r.status in statuses and r.kind in ("invoice", "credit_note")
                and r.platform_status not in unless_platform][:limit]

    def claim(self, document_number: str) -> DepositRow | None:
        return self.rows.get(document_number)


# --- the unit of work ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """An event the commit put in the outbox."""

    type: str
    payload: Contract
    registration_id: str | None


class FakeUnitOfWork:
    """Repositories in memory; `commit()` moves the registrations' new events and history out, as the outbox and
    the audit trail would hold them."""

    def __init__(self, clock: Clock, *, actor: str = "test") -> None:
        self.clock = clock
        self.actor = actor
        self.message: Envelope | None = None
        self.session = None  # what a dependency drawing through the unit of work's session is given (no database)
        self.registrations = FakeRegistrations()
        self.credit_notes = FakeCreditNotes()
        self.invoices = FakeInvoices(self.credit_notes)
        self.receivables = FakeReceivables()
        self.payments = FakePayments()
        self.interest_claims = FakeInterestClaims()
        self.session_records = FakeSessionRecords()
        self.accesses = FakeAccesses()
        self.attendance = FakeAttendance()
        self.certificates = FakeCertificates()
        self.surveys = FakeSurveys()
        self.reminders = FakeReminders()
        self.emails = FakeEmails()
        self.catalogue = FakeCatalogue(self.registrations)
        self.document_files = FakeDocumentFiles()
        self.deposits = FakeDeposits()
        self.committed = False
        self.commits = 0
        self.published: list[Published] = []
        self.decisions: list[Accepted | Refused] = []
        self._loose: list[Published] = []

    def __enter__(self) -> Self:
        self.committed = False
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._loose.clear()  # left without commit: nothing it meant to publish goes out

    def publish(self, event_type: str, payload: Contract, registration_id: str | None = None) -> None:
        self._loose.append(Published(event_type, payload, registration_id))

    def decide(self, decision: Accepted | Refused) -> None:
        self.decisions.append(decision)

    def commit(self, *, mark_handled: bool = True) -> None:
        for registration in self.registrations.stored.values():
            self.published += [Published(e.type, e.payload, registration.id) for e in registration.events]
            self.registrations.history.setdefault(registration.id, []).extend(registration.new_history)
            registration.events.clear()
            registration.new_history.clear()
        self.published += self._loose
        self._loose.clear()
        self.committed = True
        self.commits += 1

    def events(self, event_type: str) -> list[Any]:
        """The payloads of the events of that type published so far, oldest first."""
        return [p.payload for p in self.published if p.type == event_type]

    def event_types(self) -> list[str]:
        return [p.type for p in self.published]


# --- adapters --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedMail:
    registration_id: str
    kind: str
    recipient: str
    occurrence: str
    context: dict[str, Any]
    attachments: list[dict[str, Any]]

    @property
    def key(self) -> str:
        return idempotency_key(self.registration_id, self.kind, self.recipient, self.occurrence)


class FakeMailroom:
    """Records what the Mailroom would queue, with its two rules: once per idempotency key, and only to one
    valid address (`workflow.adapters.mailroom.Mailroom.enqueue`)."""

    def __init__(self) -> None:
        self.queued: list[QueuedMail] = []

    def enqueue(self, uow: object, *, registration_id: str, kind: str, recipient: str | None, occurrence: str,
                context: dict[str, Any], attachments: list[dict[str, Any]] | None = None,
                template: str | None = None) -> bool:
        if not recipient or normalise_email(recipient.strip()) is None:
            return False
        mail = QueuedMail(registration_id, kind, recipient.strip(), occurrence, context, attachments or [])
        if any(m.key == mail.key for m in self.queued):
            return False
        self.queued.append(mail)
        return True

    def sent_to(self, recipient: str) -> list[str]:
        """The kinds of e-mail queued for this address, in order."""
        return [m.kind for m in self.queued if m.recipient.lower() == recipient.lower()]

    def of_kind(self, kind: str) -> list[QueuedMail]:
        return [m for m in self.queued if m.kind == kind]


class FakeDocumentStore:
    def __init__(self) -> None:
        self.written: dict[str, bytes] = {}

    def path_of(self, name: str) -> Path:
        return Path("/documents") / name

    def write(self, name: str, content: bytes) -> Path:
        self.written[name] = content
        return self.path_of(name)

    def read(self, kind: DocumentKind, number: str) -> bytes:
        return self.written[document_name(kind, number)]


class FakeChorusPro:
    """Every deposit it was sent, in order (a number twice is a duplicate the platform received); `deposited`
    answers from them, as the platform's search by number would."""

    def __init__(self) -> None:
        self.deposits: list[ChorusDeposit] = []
        self.attachments: list[tuple[str, str]] = []
        self.received: dict[str, bytes] = {}
        self.statuses: dict[str, StatusReport] = {}
        self.recycled: list[tuple[str, str | None, str | None]] = []
        self.required: dict[str, BuyerRequirements] = {}

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        self.deposits.append(deposit)
        self.received[deposit.invoice_number] = facturx_pdf
        return f"fake-chorus:{deposit.invoice_number}"

    def deposited(self, invoice_number: str) -> str | None:
        return f"fake-chorus:{invoice_number}" if invoice_number in self.received else None

    def attach(self, invoice_number: str, name: str, pdf: bytes) -> str:
        self.attachments.append((invoice_number, name))
        self.received[f"{invoice_number}/{name}"] = pdf
        return f"fake-chorus:{invoice_number}/{name}"

    def attached(self, invoice_number: str, name: str) -> str | None:
        key = f"{invoice_number}/{name}"
        return f"fake-chorus:{key}" if key in self.received else None

    def status(self, invoice_number: str) -> StatusReport | None:
        return self.statuses.get(invoice_number)

    def recycle(self, invoice_number: str, service_code: str | None, commitment_number: str | None) -> None:
        self.recycled.append((invoice_number, service_code, commitment_number))

    def complete(self, invoice_number: str, name: str, pdf: bytes, comment: str) -> None:
        self.attachments.append((invoice_number, name))

    def requirements(self, buyer_siret: str) -> BuyerRequirements:
        return self.required.get(buyer_siret, BuyerRequirements())


# --- the harness -----------------------------------------------------------------------------------------------


@dataclass
class Office:
    """One consumer's world in memory: a fixed clock, the fake unit of work, mails, documents, Chorus Pro."""

    actor: str
    clock: FixedClock = field(default_factory=lambda: FixedClock(AT))
    mail: FakeMailroom = field(default_factory=FakeMailroom)
    documents: FakeDocumentStore = field(default_factory=FakeDocumentStore)
    chorus: FakeChorusPro = field(default_factory=FakeChorusPro)
    settings: Settings = field(default_factory=lambda: SETTINGS)

    def __post_init__(self) -> None:
        self.uow = FakeUnitOfWork(self.clock, actor=self.actor)
        self.deps = Deps(
            settings=self.settings, sessions=sessionmaker(), clock=self.clock, schedule=CATALOGUE.schedule,
            topology=Topology("unit-tests"), documents=self.documents,  # type: ignore[arg-type]
            chorus=self.chorus, seller=seller_of(self.settings), rates=load_reference_rates(),
            mail=self.mail, evidence=lambda uow, session_id: b"%PDF-1.4 evidence pack of " + session_id.encode())  # type: ignore[arg-type]

    def handle(self, handler: Any, message_type: str, payload: Contract, *, registration_id: str | None = None
               ) -> Accepted | Refused | None:
        """As the runner: the handler with what it names injected, a command's decision, commit."""
        message = Envelope(type=message_type, occurred_at=self.clock.now(), registration_id=registration_id,
                           correlation_id=uuid4(), producer="tests", payload=payload.model_dump(mode="json"))
        self.uow.message = message
        with self.uow:
            result: Accepted | Refused | None = inject_dependencies(handler, self.deps)(message, payload, self.uow)
            if message_type.startswith("cmd."):
                self.uow.decide(result if isinstance(result, Refused) else (result or Accepted()))
            self.uow.commit()
        return result

    def given(self, registration_id: str, state: State, form: RegistrationForm | str = "handicap-departement.json",
              **changes: Any) -> Registration:
        """A registration already in `state` (its form a seed file of tests/forms/valid, or a form)."""
        if isinstance(form, str):
            form = seed_form(form)
        registration = Registration(id=registration_id, state=state, form=form, **changes)
        self.uow.registrations.add(registration)
        return registration

    def registration(self, registration_id: str) -> Registration:
        found = self.uow.registrations.get(registration_id)
        assert found is not None, f"no registration {registration_id}"
        return found

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)


def seed_form(name: str, **changes: Any) -> RegistrationForm:
    """A form of tests/forms/valid, with top-level fields changed."""
    seed = json.loads((FORMS / name).read_text(encoding="utf-8"))
    return RegistrationForm.model_validate({**seed, **changes})
