"""Commands (`cmd.*`): they come from outside (form intake, support, operations, finance) and ask for
something; each gets one decision, accepted or refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from schemas.envelope import Line
from schemas.form import ClientOrganisation, Contract, Participant, RegistrationForm, Signature
from schemas.limits import (
    MAX_ACTOR_LENGTH,
    MAX_AMOUNT,
    MAX_INVOICE_NUMBER_LENGTH,
    MAX_PAYMENT_ID_LENGTH,
    MAX_REASON_LENGTH,
)


class SubmitRegistration(Contract):
    """A filled registration form, from the upstream intake (a corrected form reuses the id)."""

    form: RegistrationForm


class RecordSignature(Contract):
    """The stamped scan arrived, or the e-signature platform called back."""

    signature: Signature


class HoldSession(Contract):
    """Service fait: the session took place. Sent by the back office once the trainer signed the attendance
    sheet (the payments consumer reads the signed sheet from the database, not from this message), or by
    operations without a signed sheet: then `reason` is required and named in each registration's history."""

    session_id: Line = Field(max_length=100)
    held_on: date
    absent_emails: list[Annotated[Line, Field(max_length=254)]] = Field(
        default_factory=list, max_length=1000, description="Participants who did not attend")
    requested_by: Line | None = Field(default=None, max_length=MAX_ACTOR_LENGTH,
                                     description="Who recorded it (the history's actor); None: the payments consumer")
    reason: Line | None = Field(default=None, min_length=3, max_length=MAX_REASON_LENGTH,
                                description="Why service fait is recorded without a signed attendance sheet")


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


class CancelSession(Contract):
    """Operations: a session will not be held; its registrations are cancelled and credited."""

    session_id: Line = Field(max_length=100)
    reason: Line = Field(min_length=3, max_length=MAX_REASON_LENGTH)
