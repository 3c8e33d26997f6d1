"""What a handler may ask of storage: one Protocol per kind of record.

The unit of work exposes the SQL implementations of this package; the handler unit tests run the same
handlers on in-memory fakes (tests/unit/fakes.py) that keep the same interface. Records are the ORM rows:
plain mapped classes, built and read without a session, so the handlers need no SQL to use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from workflow.domain.catalogue import Catalogue, Schedule, SessionState
from workflow.domain.machine import State
from workflow.domain.registration import Registration
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


class Registrations(Protocol):
    """Registrations as domain objects, written back by the unit of work on commit."""

    def get(self, registration_id: str, *, for_update: bool = False) -> Registration | None: ...

    def add(self, registration: Registration) -> None: ...

    def in_session(self, session_id: str, states: set[State]) -> list[Registration]:
        """The session's registrations in one of `states`, oldest first."""
        ...

    def ids_in_session(self, session_id: str, states: set[State]) -> list[str]:
        """The ids of `in_session`, in its order, without loading the registrations."""
        ...

    def emails_registered(self, session_id: str, *, excluding: str, among: set[str]) -> set[str]:
        """Which of `among` (login e-mails) other registrations, not rejected, already enrol in the session."""
        ...


class Catalogues(Protocol):
    """The catalogue as stored now (`regflow trainings` / `regflow sessions` change it)."""

    def current(self, schedule: Schedule) -> Catalogue: ...

    def seats_taken(self, session_id: str, *, excluding: str | None = None, lock: bool = False) -> int:
        """Participants of the session's other registrations that hold a seat (not rejected, cancelled, credited)."""
        ...

    def set_state(self, session_id: str, state: SessionState, *, at: datetime) -> TrainingSessionRow | None:
        """The session's new state, its version bumped; None if unknown or already in that state."""
        ...


class Invoices(Protocol):
    def next_number(self, year: int) -> int:
        """The next number of the year's sequence, shared with credit notes, gap-free (CGI annexe II art. 242
        nonies A): a rolled-back transaction gives its number back."""
        ...

    def add(self, invoice: InvoiceRow) -> None: ...

    def get(self, number: str) -> InvoiceRow | None: ...

    def current_of(self, registration_id: str) -> InvoiceRow | None:
        """The registration's current invoice: the latest one no credit note cancelled."""
        ...


class CreditNotes(Protocol):
    def add(self, credit_note: CreditNoteRow) -> None: ...

    def get(self, number: str) -> CreditNoteRow | None: ...

    def is_credited(self, invoice_number: str) -> bool: ...

    def last_credited_invoice(self, registration_id: str) -> str | None:
        """The invoice the registration's latest credit note cancelled (the one a new invoice replaces)."""
        ...


class Receivables(Protocol):
    def get(self, invoice_number: str) -> ReceivableRow | None: ...

    def add(self, receivable: ReceivableRow) -> None: ...

    def uncredited_of(self, registration_id: str) -> list[ReceivableRow]: ...

    def overdue(self, today: date, period: str) -> list[ReceivableRow]:
        """Open receivables due before `today` whose notice of `period` has not gone out, earliest due first;
        claimed for this transaction (another replica skips them)."""
        ...


class Payments(Protocol):
    def is_recorded(self, payment_id: str) -> bool:
        """Finance's payment id is counted once."""
        ...

    def add(self, payment: PaymentRow) -> None: ...

    def received_for(self, invoice_number: str) -> list[tuple[Decimal, date]]:
        """(amount, day received) of each payment matched to the invoice, as recorded so far."""
        ...


class InterestClaims(Protocol):
    """Late-payment interest claimed from public buyers, one per invoice."""

    def get(self, number: str, *, for_update: bool = False) -> InterestClaimRow | None: ...

    def of_invoice(self, invoice_number: str) -> InterestClaimRow | None: ...

    def add(self, claim: InterestClaimRow) -> None: ...


class SessionRecords(Protocol):
    """Operations' record that a session was held ("service fait")."""

    def held_on(self, session_id: str) -> date | None: ...

    def add(self, record: SessionRecordRow) -> None: ...


class Accesses(Protocol):
    """The participants' personal accesses to their session."""

    def add(self, access: ParticipantAccessRow) -> None: ...

    def active_of(self, registration_id: str) -> list[ParticipantAccessRow]:
        """The registration's active accesses, oldest first."""
        ...

    def seat_ids_in_session(self, session_id: str) -> list[str]:
        """The ids of the session's active accesses (the seats held now), oldest first: a session of 20,000
        seats is a list of strings, not 20,000 rows."""
        ...

    def seats(self, session_id: str, ids: Sequence[str]) -> dict[str, Seat]:
        """Those of `ids` that are active accesses to the session, by id."""
        ...

    def record_presence(self, presences: Sequence[SeatPresence]) -> None:
        """Each access's presence and minutes followed (service fait), in one statement."""
        ...


class Seat(NamedTuple):
    """An active access as service fait reads it: three strings, no mapped row in the session."""

    id: str
    registration_id: str
    email: str


class SeatPresence(NamedTuple):
    """What service fait writes on an access: its presence, and the minutes followed (None: not measured)."""

    access_id: str
    presence: str
    minutes_followed: int | None


class Certificates(Protocol):
    """The certificates of completion issued after service fait."""

    def add(self, certificate: CertificateRow) -> None: ...

    def get(self, number: str) -> CertificateRow | None: ...

    def of_registration(self, registration_id: str, session_id: str) -> list[CertificateRow]:
        """The registration's certificates for the session, by trainee."""
        ...


class Surveys(Protocol):
    """The satisfaction surveys, one per (session, seat present)."""

    def add(self, survey: SurveyRow) -> None: ...

    def of_seat(self, session_id: str, access_id: str) -> SurveyRow | None: ...

    def reminders_due(self, now: datetime, limit: int) -> list[SurveyRow]:
        """Unanswered, not yet reminded, whose delay has passed."""
        ...


class Attendance(Protocol):
    """The attendance sheet: the trainer's corrections and the signed sheet."""

    def signed_sheet(self, session_id: str) -> SignedSheetRow | None: ...

    def marks(self, session_id: str) -> dict[tuple[str, int], AttendanceMarkRow]: ...


class Reminders(Protocol):
    def add(self, reminder: ReminderRow) -> None: ...

    def offsets_planned(self, registration_id: str, session_id: str) -> set[int]:
        """The offsets (minutes before the start) already planned for this registration and session, whatever
        became of them."""
        ...

    def scheduled_of(self, registration_id: str) -> list[ReminderRow]: ...

    def due(self, now: datetime, limit: int) -> list[ReminderRow]:
        """Scheduled reminders due at `now`, earliest first, claimed for this transaction."""
        ...


class Emails(Protocol):
    """The e-mail outbox the Mailroom queues into (`workflow.adapters.mailroom`)."""

    def queue(self, email: EmailRow) -> bool:
        """Queued, unless an e-mail with its idempotency key already is (then False, and nothing written)."""
        ...


class DocumentFiles(Protocol):
    """Issued PDFs, by their store name (`workflow.adapters.document_store.document_name`), kept in the
    transaction that issued them."""

    def add(self, document: DocumentFileRow) -> None: ...

    def get(self, name: str) -> DocumentFileRow | None: ...


class Deposits(Protocol):
    """The Chorus Pro deposit each public buyer's document owes, one per number."""

    def add(self, deposit: DepositRow) -> None: ...

    def get(self, document_number: str, *, for_update: bool = False) -> DepositRow | None:
        """The deposit of that number; `for_update` locks it until this transaction ends."""
        ...

    def numbers_in(self, statuses: Sequence[str], *, unless_platform: Sequence[str] = (), limit: int = 500
                   ) -> list[str]:
        """Numbers of the deposits in these statuses, but those whose platform status is in `unless_platform`."""
        ...

    def claim(self, document_number: str) -> DepositRow | None:
        """The deposit locked for this transaction; None when another process holds it."""
        ...
