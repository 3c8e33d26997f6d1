"""Every message on the bus, by type: the registry of commands and events, whose models live in
`schemas.commands` and `schemas.events`, and the envelope (`schemas.envelope`) they travel in.
The routing key of a message is its `type`.
"""

from __future__ import annotations

from schemas.commands import (
    CancelSession,
    CorrectInvoice,
    HoldSession,
    MoveSession,
    RecordPayment,
    RecordSignature,
    ReplaceParticipant,
    SubmitRegistration,
)
from schemas.envelope import EARLIEST, LATEST, MESSAGE_TYPE_PATTERN, PRODUCER_PATTERN, SCHEMA_VERSION, Envelope, Line
from schemas.events import (
    CommandDecided,
    CreditNoteIssued,
    EmailFailed,
    EmailSent,
    InvoiceDeposited,
    InvoiceIssued,
    InvoiceSettled,
    ParticipantAttendance,
    ParticipantReplaced,
    PartPresence,
    PaymentOverdue,
    PaymentReceived,
    RegistrationMoved,
    RegistrationRejected,
    RegistrationTransitioned,
    RuleViolation,
    SessionChanged,
    SessionHeld,
)
from schemas.form import Contract

__all__ = [
    "COMMANDS",
    "EARLIEST",
    "EVENTS",
    "LATEST",
    "MESSAGE_TYPES",
    "MESSAGE_TYPE_PATTERN",
    "PRODUCER_PATTERN",
    "SCHEMA_VERSION",
    "CancelSession",
    "CommandDecided",
    "Contract",
    "CorrectInvoice",
    "CreditNoteIssued",
    "EmailFailed",
    "EmailSent",
    "Envelope",
    "HoldSession",
    "InvoiceDeposited",
    "InvoiceIssued",
    "InvoiceSettled",
    "Line",
    "MoveSession",
    "PartPresence",
    "ParticipantAttendance",
    "ParticipantReplaced",
    "PaymentOverdue",
    "PaymentReceived",
    "RecordPayment",
    "RecordSignature",
    "RegistrationMoved",
    "RegistrationRejected",
    "RegistrationTransitioned",
    "ReplaceParticipant",
    "RuleViolation",
    "SessionChanged",
    "SessionHeld",
    "SubmitRegistration",
]

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
    "session.created": SessionChanged,
    "session.updated": SessionChanged,
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
