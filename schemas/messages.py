"""Every message on the bus: one envelope, and a payload model per message type.

Commands (`cmd.*`) come from outside (form intake, support, operations, finance) and ask for
something; events are facts, named in the past tense, published by the consumers through the outbox.
The routing key of a message is its `type`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, field_validator

from schemas.form import ClientOrganisation, Contract, Participant, RegistrationForm, Signature
from schemas.limits import (
    MAX_ACTOR_LENGTH,
    MAX_AMOUNT,
    MAX_INVOICE_NUMBER_LENGTH,
    MAX_PAYMENT_ID_LENGTH,
    MAX_REASON_LENGTH,
    REGISTRATION_ID_MAX,
    REGISTRATION_ID_PATTERN,
    one_line,
)

SCHEMA_VERSION = 1
Line = Annotated[str, AfterValidator(one_line)]  # a command's free text: one line, no refused character
# A message's time: within these bounds, or it is malformed (a year 1 with a +14:00 offset overflows).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MESSAGE_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,3}$"
PRODUCER_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


class Envelope(BaseModel):
    """What travels on the wire. `payload` is checked against the model of `type` on receipt."""

    model_config = {"extra": "forbid", "frozen": True}

    event_id: UUID = Field(default_factory=uuid4, description="Unique id of this message")
    type: str = Field(max_length=60, pattern=MESSAGE_TYPE_PATTERN,
                      description="Message type, also its routing key, e.g. 'registration.confirmed'")
    schema_version: int = Field(default=SCHEMA_VERSION, ge=0, le=1000)
    occurred_at: AwareDatetime = Field(description="When it happened, timezone-aware (UTC), from 2000 to 2100")
    registration_id: str | None = Field(
        default=None, max_length=REGISTRATION_ID_MAX, pattern=REGISTRATION_ID_PATTERN,
        description="Letters, digits, '.', '_' and '-', 64 at most, starting with a letter or a digit")
    correlation_id: UUID = Field(description="Id of the first message of the conversation")
    causation_id: UUID | None = Field(default=None, description="Id of the message that caused this one")
    producer: str = Field(max_length=40, pattern=PRODUCER_PATTERN,
                          description="Who published it: 'intake', 'validation', 'invoicing'...")
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        try:
            utc = value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:  # year 1 at +14:00 is before year 1 in UTC
            raise ValueError(f"occurred_at cannot be expressed in UTC: {exc}") from None
        if not EARLIEST <= utc < LATEST:
            raise ValueError(f"occurred_at must be from {EARLIEST.year} to {LATEST.year}")
        return utc


class RuleViolation(Contract):
    """One broken rule, with the field it concerns, told in French and English."""

    rule: str = Field(description="Name of the rule, e.g. 'siret_luhn'")
    field: str = Field(description="Path of the field in the form, e.g. 'participants[1].email'")
    message_fr: str
    message_en: str
    severity: Literal["error", "warning"] = "error"


# --- commands -----------------------------------------------------------------------------------


class SubmitRegistration(Contract):
    """A filled registration form, from the upstream intake (a corrected form reuses the id)."""

    form: RegistrationForm


class RecordSignature(Contract):
    """The stamped scan arrived, or the e-signature platform called back."""

    signature: Signature


class HoldSession(Contract):
    """Operations: the session took place ("service fait")."""

    session_id: Line = Field(max_length=100)
    held_on: date
    absent_emails: list[Annotated[Line, Field(max_length=254)]] = Field(
        default_factory=list, max_length=1000, description="Participants who did not attend")
    requested_by: Line | None = Field(default=None, max_length=MAX_ACTOR_LENGTH,
                                     description="Who recorded it (the history's actor); None: the payments consumer")


class RecordPayment(Contract):
    """Finance: money received for an invoice."""

    payment_id: Line = Field(min_length=1, max_length=MAX_PAYMENT_ID_LENGTH,
                            description="Finance's own reference of the payment (bank line id)")
    invoice_number: Line | None = Field(default=None, max_length=MAX_INVOICE_NUMBER_LENGTH)
    amount: Decimal = Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)
    received_on: date = Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))
    payer: Line | None = Field(default=None, max_length=300)
    means: Literal["transfer", "cheque", "card", "mandat_administratif", "other"] = "transfer"
    requested_by: Line | None = Field(default=None, max_length=MAX_ACTOR_LENGTH,
                                     description="Who recorded it (the history's actor when it settles the "
                                                 "invoice); None: the payments consumer")


# --- events ------------------------------------------------------------------------------------


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


class CreditNoteIssued(Contract):
    """A credit note cancels an invoice in full (session cancelled or moved, invoice corrected)."""

    credit_note_number: str
    invoice_number: str
    issued_on: date
    total: Decimal
    reason: str


class MoveSession(Contract):
    """Operations: a session moves to another date offered for the same training."""

    session_id: Line = Field(max_length=100)
    to_session_id: Line = Field(max_length=100)
    reason: Line = Field(min_length=3, max_length=MAX_REASON_LENGTH)


class ReplaceParticipant(Contract):
    """Support: a participant of a confirmed registration is replaced by another before the session
    is held (seeds: "le remplacement d'un participant peut être demandé"). The amount does not change."""

    replaced_email: Line = Field(max_length=254, description="Login e-mail of the participant who will not attend")
    replacement: Participant = Field(description="Who attends instead, checked like a form's participant")
    requested_by: Line = Field(min_length=2, max_length=MAX_ACTOR_LENGTH,
                              description="Who asked: support agent, client's contact")


class CorrectInvoice(Contract):
    """Finance or support: an issued invoice is wrong; it is credited and a corrected one issued.
    Fields given here replace the client's on the new invoice (e.g. a Chorus Pro commitment number)."""

    invoice_number: Line = Field(max_length=MAX_INVOICE_NUMBER_LENGTH)
    reason: Line = Field(min_length=3, max_length=MAX_REASON_LENGTH)
    client: ClientOrganisation | None = None


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


class CancelSession(Contract):
    """Operations: a session will not be held; its registrations are cancelled and credited."""

    session_id: Line = Field(max_length=100)
    reason: Line = Field(min_length=3, max_length=MAX_REASON_LENGTH)


class SessionHeld(Contract):
    """Operations recorded the session as held on its date: service fait for its invoiced registrations."""

    session_id: str
    held_on: date


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


COMMANDS: dict[str, type[Contract]] = {
    "cmd.registration.submit": SubmitRegistration,
    "cmd.registration.sign": RecordSignature,
    "cmd.session.hold": HoldSession,
    "cmd.payment.record": RecordPayment,
    "cmd.session.cancel": CancelSession,
    "cmd.session.move": MoveSession,
    "cmd.invoice.correct": CorrectInvoice,
    "cmd.registration.replace_participant": ReplaceParticipant,
}

EVENTS: dict[str, type[Contract]] = {
    "registration.received": RegistrationTransitioned,
    "registration.rejected": RegistrationRejected,
    "registration.signed": RegistrationTransitioned,
    "registration.confirmed": RegistrationTransitioned,
    "registration.invoiced": RegistrationTransitioned,
    "registration.settled": RegistrationTransitioned,
    "registration.session_held": RegistrationTransitioned,
    "registration.paid": RegistrationTransitioned,
    "session.held": SessionHeld,
    "registration.cancelled": RegistrationTransitioned,
    "registration.credited": RegistrationTransitioned,
    "registration.moved": RegistrationMoved,
    "invoice.issued": InvoiceIssued,
    "invoice.deposited": InvoiceDeposited,
    "credit_note.issued": CreditNoteIssued,
    "payment.received": PaymentReceived,
    "invoice.settled": InvoiceSettled,
    "payment.overdue": PaymentOverdue,
    "registration.participant_replaced": ParticipantReplaced,
    "command.accepted": CommandDecided,
    "command.refused": CommandDecided,
    "email.sent": EmailSent,
    "email.failed": EmailFailed,
}

MESSAGE_TYPES: dict[str, type[Contract]] = {**COMMANDS, **EVENTS}
