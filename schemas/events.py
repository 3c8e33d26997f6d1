"""Events: facts, named in the past tense, published by the consumers through the outbox."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas.form import Contract, Participant
from schemas.limits import (
    CATALOGUE_ID_MAX,
    MAX_ACTOR_LENGTH,
    MAX_ATTENDANCE_PART,
    MAX_HOLD_BATCH,
    MAX_PARTICIPANTS,
    MAX_REASON_LENGTH,
    TRAINING_NAME_MAX,
)


class RuleViolation(Contract):
    """One broken rule, with the field it concerns, told in French and English."""

    rule: str = Field(description="Name of the rule, e.g. 'siret_luhn'")
    field: str = Field(description="Path of the field in the form, e.g. 'participants[1].email'")
    message_fr: str
    message_en: str
    severity: Literal["error", "warning"] = "error"


class RegistrationTransitioned(Contract):
    """A registration changed state. Published as `registration.<to_state>`."""

    from_state: str
    to_state: str
    trigger: str
    session_id: str | None = None
    reason: str | None = None


class RegistrationRejected(RegistrationTransitioned):
    """The form broke one or more rules: every error, with its field path, for the client to correct and resend."""

    errors: list[RuleViolation]


class InvoiceIssued(Contract):
    """An invoice (valant convention de formation simplifiée) was numbered and its Factur-X PDF written. Its
    document is in the document store under its number: no message carries a path."""

    invoice_number: str
    issued_on: date
    total: Decimal
    currency: Literal["EUR"] = "EUR"
    due_on: date | None = None


class InvoiceDeposited(Contract):
    """The invoice of a public buyer was handed to Chorus Pro."""

    invoice_number: str
    platform: str
    reference: str
    buyer_siret: str
    service_code: str | None = None
    commitment_number: str | None = None


class InvoicePlatformStatusChanged(Contract):
    """The e-invoicing platform (Chorus Pro) reports a new status for a deposited invoice or credit note: its
    code (DEPOSEE, MISE_A_DISPOSITION, SUSPENDUE, A_RECYCLER, REJETEE, MANDATEE, MISE_EN_PAIEMENT...), when, why.
    On REJETEE the invoicing consumer credits the invoice and issues a new one with a new number."""

    document_number: str = Field(max_length=20)
    kind: Literal["invoice", "credit_note"]
    platform: str = Field(max_length=30)
    status: str = Field(max_length=30, pattern=r"^[A-Z_]{3,30}$")
    previous_status: str | None = Field(default=None, max_length=30)
    changed_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=500)
    received_on: date | None = Field(default=None, description="MISE_A_DISPOSITION: the buyer's receipt date, "
                                                               "from which the délai global runs (CCP R2192-12)")
    due_on: date | None = Field(default=None, description="The due date recomputed from it")
    expected_payment_on: date | None = None


class CreditNoteIssued(Contract):
    """A credit note cancels an invoice in full (session cancelled or moved, invoice corrected)."""

    credit_note_number: str
    invoice_number: str
    issued_on: date
    total: Decimal
    reason: str


class RegistrationMoved(Contract):
    """The registration follows its session to another date of the same training (invoice credited, reissued)."""

    from_session_id: str
    to_session_id: str
    reason: str
    state: str


class ParticipantReplaced(Contract):
    """Support replaced a participant: the newcomer is invited, the replaced person's link is revoked."""

    index: int = Field(description="Position of the participant in the registration")
    replaced: Participant
    replacement: Participant
    requested_by: str
    requested_at: AwareDatetime = Field(description="When the request was made (the command's time)")
    session_id: str | None
    state: str


class PartPresence(Contract):
    """One half-day of one participant: present, partial or absent, and the minutes of training followed."""

    part: int = Field(ge=0, le=9, description="0: the morning, 1: the afternoon")
    presence: Literal["present", "partial", "absent"]
    minutes: int = Field(ge=0, le=1440)


class ParticipantAttendance(Contract):
    """A participant's attendance at a held session, by their seat (the access id: no name, no e-mail)."""

    participant_id: str = Field(max_length=40, description="The participant's access id")
    registration_id: str
    presence: Literal["present", "partial", "absent"]
    minutes_followed: int | None = Field(ge=0, le=1440, description="None: recorded by operations, not measured")
    parts: list[PartPresence] = Field(default_factory=list, max_length=10)


class SessionHeld(Contract):
    """The session was held on its date: service fait for its invoiced registrations. `evidence` says on what:
    the trainer's signed attendance sheet, or operations' word with a reason.

    `attendance` holds the first participants (up to MAX_ATTENDANCE_PART, so that the message stays under the
    broker's size limit whatever the session's size); a larger session's others follow in `session.attendance`
    events, parts 2 to `attendance_parts`, published in the same transaction. `seats` counts them all."""

    session_id: str = Field(max_length=CATALOGUE_ID_MAX)
    held_on: date
    evidence: Literal["signed_sheet", "operations"] = "operations"
    signed_by: str | None = Field(default=None, max_length=TRAINING_NAME_MAX,
                                  description="The signer's name on the sheet")
    signed_at: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH,
                               description="Operations' reason, without a signed sheet")
    attendance: list[ParticipantAttendance] = Field(default_factory=list, max_length=MAX_ATTENDANCE_PART,
                                                    description="The first participants' attendance (part 1)")
    seats: int = Field(default=0, ge=0, description="Participants recorded, in every part")
    attendance_parts: int = Field(default=1, ge=1, description="Parts the attendance takes: 1, this event alone")


class SessionAttendance(Contract):
    """More of a large session's attendance (`session.attendance`): part `part` of `parts`, the first being
    `session.held`'s own list. Published with it, in the transaction that recorded the session held."""

    session_id: str = Field(max_length=CATALOGUE_ID_MAX)
    held_on: date
    part: int = Field(ge=2, description="This part's place; part 1 is in session.held")
    parts: int = Field(ge=2)
    attendance: list[ParticipantAttendance] = Field(min_length=1, max_length=MAX_ATTENDANCE_PART)


class SessionHeldBatch(Contract):
    """Service fait still to apply to some invoiced registrations of a session held (`session.held_batch`).

    The payments consumer publishes it to itself, through the outbox, in the transaction that recorded the session
    held: a large session is applied in batches, each its own transaction and inbox row, so that memory does not
    grow with the session. Nobody else needs it: `session.held` and each `registration.session_held` say what
    happened."""

    session_id: str = Field(max_length=100)
    held_on: date
    batch: int = Field(ge=1, description="This batch's place, from 1 (the command applied batch 0 itself)")
    batches: int = Field(ge=1, description="How many follow-up batches the session was split into")
    registration_ids: list[str] = Field(min_length=1, max_length=MAX_HOLD_BATCH)
    absent: dict[str, int] = Field(default_factory=dict,
                                   description="Participants absent the whole day, by registration (if any)")
    evidence: str = Field(max_length=2000, description="What service fait rests on, as each history names it")
    requested_by: str | None = Field(default=None, max_length=MAX_ACTOR_LENGTH)


class IssuedCertificate(Contract):
    """One participant's certificat de réalisation: its number (the document store's) and the hours it states."""

    number: str = Field(pattern=r"^[0-9]{4}-[0-9A-F]{12}$")
    participant_id: str = Field(max_length=40, description="The participant's access id")
    minutes_followed: int = Field(ge=1, le=1440)


class NoCertificate(Contract):
    """A participant of the registration who gets no certificate, and why (finance sees it)."""

    participant_id: str = Field(max_length=40)
    reason: str


class CertificateIssued(Contract):
    """The invoicing consumer issued a registration's certificates after service fait (`certificate.issued`,
    one per registration: the gestionnaire receives them in one e-mail, each participant their own)."""

    session_id: str
    certificates: list[IssuedCertificate] = Field(max_length=MAX_PARTICIPANTS)
    without_certificate: list[NoCertificate] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)


class EvaluationReceived(Contract):
    """A participant answered the satisfaction survey of a session held (`evaluation.received`, once per seat):
    the ratings 1 to 5 and whether there is a comment (its text stays in the database, with the back office)."""

    session_id: str = Field(max_length=100)
    training_id: str = Field(max_length=100)
    participant_id: str = Field(max_length=40, description="The participant's access id")
    overall: int = Field(ge=1, le=5)
    objectives: int = Field(ge=1, le=5)
    content: int = Field(ge=1, le=5)
    speaker: int = Field(ge=1, le=5)
    organisation: int = Field(ge=1, le=5)
    commented: bool


class SessionChanged(Contract):
    """Operations created or changed a session (`session.created`, `session.updated`): its state as now stored.
    `version` grows with each change, so a reader keeps the latest whatever the order of delivery."""

    session_id: str
    training_id: str
    session_date: date
    state: Literal["open", "closed", "held", "cancelled"]
    capacity: int | None = Field(description="Seats; none: no limit")
    registration_deadline: date | None
    trainer: str | None
    has_join_url: bool = Field(description="Whether the video-conference address is set (the address is not sent)")
    version: int
    changed_by: str


class PaymentReceived(Contract):
    """Finance: a payment was recorded, matched to its invoice or not, with anything to look at."""

    payment_id: str
    invoice_number: str | None
    amount: Decimal
    received_on: date
    matched: bool
    paid_to_date: Decimal | None = None
    outstanding: Decimal | None = None
    anomalies: list[str] = Field(
        default_factory=list,
        description="unknown_invoice, invoice_credited, before_service_fait (public buyer), overpayment")
    days_late: int = Field(default=0, ge=0, description="Days this payment came after the due date")
    interest: Decimal = Field(
        default=Decimal("0.00"), ge=0,
        description="Late-payment interest owed as of this payment on the parts paid so far (CCP R2192-31; "
                    "private clients: code de commerce L441-10)")
    indemnity: Decimal = Field(default=Decimal("0.00"), ge=0,
                               description="The 40 € recovery indemnity once a part is paid late (R2192-35, D441-5)")


class PaymentOverdue(Contract):
    """Finance: an invoice is past its due date; what is owed to date. Once per invoice per period."""

    invoice_number: str
    period: str
    as_of: date
    due_on: date
    days_late: int
    outstanding: Decimal
    interest_percent: Decimal
    interest: Decimal
    indemnity: Decimal
    public_buyer: bool


class InvoiceSettled(Contract):
    """An invoice is fully paid; `overpaid` is what was received beyond its total, for finance to refund."""

    invoice_number: str
    total: Decimal
    paid: Decimal
    settled_on: date
    overpaid: Decimal = Field(default=Decimal("0.00"), description="Owed back to the client")
    days_late: int = Field(default=0, ge=0, description="Days the last part of the principal came after the due date")
    interest_percent: Decimal | None = Field(default=None, description="Annual rate applied; None when on time")
    interest: Decimal = Field(default=Decimal("0.00"), ge=0,
                              description="Interest owed on the parts paid late, as of the settlement")
    indemnity: Decimal = Field(default=Decimal("0.00"), ge=0, description="40 € when paid late (R2192-35, D441-5)")
    interest_claim_number: str | None = Field(
        default=None, description="The claim issued to a public buyer (`interest_claim.issued`), if any")


class InterestClaimIssued(Contract):
    """A public buyer paid an invoice's principal late: interest and the 40 € indemnity claimed (CCP R2192-36)."""

    number: str = Field(description="INT-<invoice number>")
    invoice_number: str
    principal: Decimal
    due_on: date
    principal_paid_on: date
    days_late: int = Field(ge=1)
    interest_percent: Decimal
    rate_source: str
    interest: Decimal = Field(ge=0)
    indemnity: Decimal = Field(ge=0)
    total: Decimal = Field(ge=0)
    payable_by: date


class InterestClaimClosed(Contract):
    """Finance recorded the claim paid, or waived it with a reason (who and when in the envelope and the row)."""

    number: str
    invoice_number: str
    outcome: Literal["paid", "waived"]
    paid: Decimal = Field(ge=0)
    by: str | None = Field(default=None, max_length=MAX_ACTOR_LENGTH)
    reason: str | None = Field(default=None, max_length=500, description="Why finance waived it (3 to 500)")


class CommandDecided(Contract):
    """What became of a command: `command.accepted`, or `command.refused` with its reason (a business "no",
    recorded and acknowledged, not parked). Its `causation_id` is the command's id; the command line and
    the page wait for it."""

    command_id: UUID
    command_type: str
    outcome: Literal["accepted", "refused"]
    reason_fr: str | None = Field(default=None, description="Why, in French, for the person who asked")
    reason_en: str | None = Field(default=None, description="Why, in English, for operations")
    detail: str | None = Field(default=None, description="What was done, e.g. the registration's new state")


class EmailSent(Contract):
    """The SMTP server accepted an e-mail (its Message-ID is the one the recipient sees)."""

    kind: str
    recipient: str
    subject: str
    message_id: str
    attempts: int


class EmailFailed(Contract):
    """An e-mail that could not be delivered: operations look at it (`regflow emails --failed`) and retry."""

    kind: str
    recipient: str
    subject: str
    attempts: int
    error: str
    permanent: bool = Field(description="The server refused it (5xx): retrying as is would not help")
