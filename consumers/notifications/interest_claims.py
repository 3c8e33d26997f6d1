"""The interest claim's letter to the buyer's gestionnaire, once the claim committed (`interest_claim.issued`).

Queued once per claim (the mailroom's idempotency key: registration, kind, recipient, claim number); what the
e-mail says and attaches is read from the claim in the database, not from the event."""

from __future__ import annotations

from consumers.notifications.contexts import gestionnaire_name
from schemas.messages import Envelope, InterestClaimIssued
from workflow.adapters.email_message import french_date
from workflow.adapters.mailroom import Mailroom
from workflow.domain.errors import DependencyNotReadyError, InconsistentMessageError
from workflow.domain.form_rules import euros
from workflow.persistence.unit_of_work import UnitOfWork


def handle_interest_claim_issued(message: Envelope, event: InterestClaimIssued, uow: UnitOfWork, *,
                                 mail: Mailroom) -> None:
    registration = uow.registrations.get(message.registration_id or "")
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    claim = uow.interest_claims.get(event.number)
    if claim is None or claim.registration_id != registration.id:
        raise InconsistentMessageError(f"no interest claim {event.number} issued for {registration.id}")
    mail.enqueue(uow, registration_id=registration.id, kind="interest_claim",
                 recipient=registration.form.gestionnaire.email, occurrence=claim.number, context={
                     "gestionnaire_name": gestionnaire_name(registration), "client_name": registration.form.client.name,
                     "claim_number": claim.number, "invoice_number": claim.invoice_number,
                     "paid_on": french_date(claim.principal_paid_on), "due_on": french_date(claim.due_on),
                     "days_late": claim.days_late, "interest": euros(claim.interest),
                     "indemnity": euros(claim.indemnity), "total": euros(claim.total),
                     "payable_by": french_date(claim.payable_by)},
                 attachments=[{"type": "interest_claim", "number": claim.number}])
