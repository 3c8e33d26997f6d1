"""The HTTP intake API's answers (`regflow.api`), as contracts: the OpenAPI document (docs/openapi.json) is generated
from these models and from the form's (`RegistrationForm`, `Signature`), so that an upstream system integrates from
the document, not from the code. Pure data, like the rest of `schemas/`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from schemas.form import Contract
from schemas.limits import REGISTRATION_ID_MAX, REGISTRATION_ID_PATTERN

# What a client system sends as `Idempotency-Key` (a UUID fits): safe in a log line and a database column.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,99}$"
IDEMPOTENCY_KEY_MAX = 100
# The state of a registration the API accepted that the validation consumer has not recorded yet.
PENDING = "pending"


class FieldError(Contract):
    """One refused field: the path in the form (`participants[1].email`), the rule and why, in French and
    English. Schema errors name their rule `schema.<kind>` (`schema.extra_forbidden`), the form's rules theirs
    (`siret_luhn`, `session_full`...)."""

    field: str
    rule: str
    message_fr: str
    message_en: str


class Problem(Contract):
    """An error, as RFC 9457 problem details (`application/problem+json`), told in English (`title`, `detail`)
    and in French (`title_fr`, `detail_fr`); `errors` lists every refused field of a 422."""

    type: str = Field(description="A URI naming the kind of problem ('about:blank' when the status says it all)")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    title_fr: str
    detail_fr: str
    errors: list[FieldError] = Field(default_factory=list)


class Accepted(Contract):
    """The command is recorded and published: the validation consumer decides next. `GET location` tells what
    became of it."""

    id: str = Field(max_length=REGISTRATION_ID_MAX, pattern=REGISTRATION_ID_PATTERN,
                    description="The registration's id (the API makes it)")
    command: Literal["cmd.registration.submit", "cmd.registration.sign"]
    command_id: str = Field(description="The published command's id: a retry with the same key sends the same")
    location: str = Field(description="Where its state is read, also in the Location header")


class Transition(Contract):
    """One line of the registration's history."""

    at: str = Field(description="When, Europe/Paris, ISO 8601")
    from_state: str | None
    to_state: str | None
    trigger: str
    outcome: str
    reason: str | None


class InvoiceSummary(Contract):
    number: str
    issued_on: date
    total: Decimal
    due_on: date | None
    credited: bool


class CreditNoteSummary(Contract):
    number: str
    invoice_number: str
    issued_on: date
    total: Decimal


class RegistrationStatus(Contract):
    """What the client system may know of a registration it submitted: its state in words, its history,
    the errors of a rejected form, the invoices and credit notes by number."""

    id: str
    state: str = Field(description=f"The state machine's state, or '{PENDING}' until the validation consumer "
                                   "has recorded the form")
    state_fr: str
    state_en: str
    session_id: str | None
    history: list[Transition]
    errors: list[FieldError] = Field(description="The rules a rejected form broke")
    invoices: list[InvoiceSummary]
    credit_notes: list[CreditNoteSummary]
