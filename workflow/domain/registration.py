"""The registration aggregate: business rules and state changes, no I/O.

Every state change goes through `_fire`, which asks the state machine for the destination, appends a
row to the audit history and records the event to publish. The unit of work persists both in the
transaction that handles the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from schemas.form import Contract, Participant, RegistrationForm, Signature
from schemas.messages import (
    CreditNoteIssued,
    InvoiceIssued,
    ParticipantReplaced,
    RegistrationMoved,
    RegistrationRejected,
    RegistrationTransitioned,
    RuleViolation,
)
from workflow.domain.errors import GuardRefusedError
from workflow.domain.machine import State, next_state


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the audit trail: a transition applied (or refused, with its reason)."""

    from_state: str | None
    to_state: str | None
    trigger: str
    at: datetime
    actor: str
    cause_event_id: UUID | None
    reason: str | None = None
    outcome: str = "applied"


@dataclass(frozen=True)
class DomainEvent:
    type: str
    payload: Contract


@dataclass
class Registration:
    id: str
    state: State
    form: RegistrationForm
    errors: list[RuleViolation] = field(default_factory=list)
    warnings: list[RuleViolation] = field(default_factory=list)
    service_fait_on: date | None = None
    new_history: list[HistoryEntry] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)

    # --- facts read from the form ----------------------------------------------------------------

    @property
    def session_id(self) -> str | None:
        return self.form.session_id

    @property
    def participant_emails(self) -> list[str]:
        return [p.email for p in self.form.participants if p.email]

    @property
    def client_is_public(self) -> bool:
        return self.form.client.category is not None and self.form.client.category.is_public

    # --- commands ---------------------------------------------------------------------------------

    @classmethod
    def receive(cls, registration_id: str, form: RegistrationForm, *, at: datetime, actor: str,
                cause: UUID | None) -> Registration:
        """A new form: the registration starts in 'received'."""
        registration = cls(id=registration_id, state=State.RECEIVED, form=form)
        registration._record(None, State.RECEIVED, "submit", at=at, actor=actor, cause=cause)
        return registration

    def resubmit(self, form: RegistrationForm, *, at: datetime, actor: str, cause: UUID | None) -> None:
        """A corrected form for the same registration re-enters validation; history keeps both."""
        self._fire("resubmit", at=at, actor=actor, cause=cause, reason="corrected form received")
        self.form = form
        self.errors = []
        self.warnings = []

    def reject(self, errors: list[RuleViolation], *, at: datetime, actor: str, cause: UUID | None) -> None:
        self.errors = list(errors)
        reason = "; ".join(f"{e.field}: {e.rule}" for e in errors)
        before = self.state
        self._fire("reject", at=at, actor=actor, cause=cause, reason=reason, publish=False)
        self.events.append(DomainEvent("registration.rejected", RegistrationRejected(
            from_state=before, to_state=self.state, trigger="reject", session_id=self.session_id,
            reason=reason, errors=errors)))

    def note_warnings(self, warnings: list[RuleViolation]) -> None:
        """Warnings are kept on the registration; they never block it."""
        self.warnings = list(warnings)

    def sign(self, signature: Signature, *, at: datetime, actor: str, cause: UUID | None) -> None:
        if self.errors:
            raise GuardRefusedError(self.id, "sign", "the form has unresolved errors")
        self.form = self.form.model_copy(update={"signature": signature})
        self._fire("sign", at=at, actor=actor, cause=cause, reason=signature.method)

    def confirm(self, *, session_starts_at: datetime, at: datetime, actor: str, cause: UUID | None) -> None:
        """A signed registration is confirmed while its session has not started."""
        if at >= session_starts_at:
            raise GuardRefusedError(
                self.id, "confirm", f"the session started at {session_starts_at.isoformat()}")
        self._fire("confirm", at=at, actor=actor, cause=cause)

    def invoice(self, issued: InvoiceIssued, *, at: datetime, actor: str, cause: UUID | None) -> None:
        self._fire("invoice", at=at, actor=actor, cause=cause, reason=issued.invoice_number)
        self.events.append(DomainEvent("invoice.issued", issued))

    def cancel_session(self, reason: str, *, at: datetime, actor: str, cause: UUID | None) -> None:
        """The organiser cancels the session: the registration ends, and its invoice gets a credit note."""
        self._fire("cancel_session", at=at, actor=actor, cause=cause, reason=reason)

    def move_session(self, to_session_id: str, reason: str, *, at: datetime, actor: str, cause: UUID | None) -> None:
        """The organiser moves the session to another date of the same training."""
        before = self.session_id or ""
        self._fire("move_session", at=at, actor=actor, cause=cause, reason=f"{before} -> {to_session_id}: {reason}",
                   publish=False)
        self.form = self.form.model_copy(update={"session_id": to_session_id})
        self.events.append(DomainEvent("registration.moved", RegistrationMoved(
            from_session_id=before, to_session_id=to_session_id, reason=reason, state=self.state)))

    def replace_participant(self, replaced_email: str, replacement: Participant, *, requested_by: str,
                            requested_at: datetime, at: datetime, actor: str, cause: UUID | None) -> None:
        """Support replaces a participant before the session is held (seeds: "Toute inscription confirmée
        est définitive mais le remplacement d'un participant peut être demandé"). Same seat, same price."""
        if self.state in (State.SESSION_HELD, State.PAID):
            raise GuardRefusedError(self.id, "replace_participant",
                                    "the session was already held (service fait): nobody can be replaced")
        emails = [(p.email or "").strip().lower() for p in self.form.participants]
        wanted = replaced_email.strip().lower()
        if wanted not in emails:
            raise GuardRefusedError(self.id, "replace_participant",
                                    f"{replaced_email} is not a participant of this registration "
                                    f"(participants: {', '.join(emails)})")
        if (replacement.email or "").strip().lower() == wanted:
            raise GuardRefusedError(self.id, "replace_participant",
                                    "the replacement has the login e-mail of the participant it replaces")
        index = emails.index(wanted)
        replaced = self.form.participants[index]
        participants = list(self.form.participants)
        participants[index] = replacement
        self._fire("replace_participant", at=at, actor=requested_by, cause=cause, publish=False,
                   reason=f"participants[{index}]: {_who(replaced)} replaced by {_who(replacement)}, asked by "
                          f"{requested_by} at {requested_at.isoformat()} (applied by {actor})")
        self.form = self.form.model_copy(update={"participants": participants})
        self.events.append(DomainEvent("registration.participant_replaced", ParticipantReplaced(
            index=index, replaced=replaced, replacement=replacement, requested_by=requested_by,
            requested_at=requested_at, session_id=self.session_id, state=self.state)))

    def reinvoice(self, credit: CreditNoteIssued, issued: InvoiceIssued, *, at: datetime, actor: str,
                  cause: UUID | None) -> None:
        """A wrong invoice is cancelled by a credit note and replaced, in one step (never edited)."""
        self._fire("reinvoice", at=at, actor=actor, cause=cause, publish=False,
                   reason=f"facture {credit.invoice_number} annulée par l'avoir {credit.credit_note_number}, "
                          f"remplacée par la facture {issued.invoice_number} : {credit.reason}")
        self.events.append(DomainEvent("credit_note.issued", credit))
        self.events.append(DomainEvent("invoice.issued", issued))

    def credit(self, issued: CreditNoteIssued, *, at: datetime, actor: str, cause: UUID | None) -> None:
        self._fire("credit", at=at, actor=actor, cause=cause,
                   reason=f"avoir {issued.credit_note_number} sur la facture {issued.invoice_number}")
        self.events.append(DomainEvent("credit_note.issued", issued))

    def settle(self, invoice_number: str, *, at: datetime, actor: str, cause: UUID | None,
               requested_by: str | None = None) -> None:
        """The invoice is fully paid: 'paid' if the session was held, else 'settled' until it is.
        `requested_by` is the finance officer who recorded the payment: the history names them."""
        self._fire("settle", at=at, actor=requested_by or actor, cause=cause,
                   reason=_applied_by(invoice_number, requested_by, actor))

    def hold_session(self, held_on: date, *, planned_on: date, at: datetime, actor: str,
                     cause: UUID | None, requested_by: str | None = None, evidence: str | None = None) -> None:
        """Service fait results from the session being held on the planned date (seeds' wording).
        `requested_by` is who recorded it and `evidence` on what (the signed sheet, or operations' reason):
        the history names both."""
        if held_on != planned_on:
            raise GuardRefusedError(
                self.id, "hold_session", f"held on {held_on}, planned on {planned_on}: not the planned date")
        self.service_fait_on = held_on
        self._fire("hold_session", at=at, actor=requested_by or actor, cause=cause,
                   reason=_applied_by(f"service fait {held_on}" + (f" — {evidence}" if evidence else ""),
                                      requested_by, actor))

    def note(self, trigger: str, reason: str, *, at: datetime, actor: str, cause: UUID | None) -> None:
        """A fact about the registration that changes no state (its invoice's status on the e-invoicing
        platform, a deposit held): in its history, nothing published."""
        self._record(self.state, self.state, trigger, at=at, actor=actor, cause=cause, reason=reason, publish=False)

    # --- the one place a state changes --------------------------------------------------------------

    def _fire(self, trigger: str, *, at: datetime, actor: str, cause: UUID | None,
              reason: str | None = None, publish: bool = True) -> None:
        before = self.state
        after = next_state(self.id, before, trigger)
        self.state = after
        self._record(before, after, trigger, at=at, actor=actor, cause=cause, reason=reason, publish=publish)

    def _record(self, before: State | None, after: State, trigger: str, *, at: datetime, actor: str,
                cause: UUID | None, reason: str | None = None, publish: bool = True) -> None:
        self.new_history.append(HistoryEntry(before, after, trigger, at, actor, cause, reason))
        if publish:
            self.events.append(DomainEvent(f"registration.{after}", RegistrationTransitioned(
                from_state=before or "", to_state=after, trigger=trigger, session_id=self.session_id,
                reason=reason)))


def _applied_by(reason: str, requested_by: str | None, actor: str) -> str:
    """A person's request applied by a consumer: the history's actor is the person, the reason says which
    consumer applied it (as for a replacement)."""
    return f"{reason} (applied by {actor})" if requested_by else reason


def _who(participant: Participant) -> str:
    name = " ".join(p for p in (participant.civilite, participant.first_name, participant.last_name) if p)
    return f"{name} <{participant.email}>"
