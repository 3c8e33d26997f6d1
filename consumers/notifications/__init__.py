"""Notifications consumer: every e-mail the documents promise, queued once, sent by SMTP, reminders.

On events it queues e-mails in the outbox (`workflow.adapters.mailroom`) and keeps the participants' personal
accesses and the reminders table; every `REGFLOW_MAIL_POLL_SECONDS` it turns due reminders into
e-mails and sends the pending ones.
- registration.confirmed: confirmation to the gestionnaire; to each participant an invitation with a
  personal link and an `.ics`; reminders scheduled (default 3 hours and 15 minutes before the start);
- invoice.issued / credit_note.issued: the PDF to the gestionnaire;
- registration.rejected: the list of errors to the gestionnaire;
- registration.participant_replaced: the old link revoked, the newcomer invited, both told, and the
  gestionnaire too;
- registration.moved: new date to everyone (same link, updated `.ics`), reminders moved;
- registration.cancelled: links revoked, reminders cancelled, everyone told (`.ics` CANCEL);
- interest_claim.issued: the late-payment interest claim's letter to the gestionnaire of a public buyer;
- certificate.issued: the certificates of completion to the gestionnaire, and each to its participant with
  the invitation to the satisfaction survey, reminded once `REGFLOW_SURVEY_REMINDER_HOURS` later if unanswered.

Why a table for reminders rather than delayed messages: a reminder must be cancelled when the session is
cancelled or moved and must follow a substitution; a row can be updated, a message in flight cannot.
RabbitMQ also has no built-in delayed delivery (the plugin is not installed everywhere, and per-message
TTLs expire in queue order, not due order). The table survives restarts of the consumer and the broker.

The helpers: mail contexts in `contexts`, accesses in `accesses`, reminders in `reminders`, certificates in
`certificates`, surveys in `surveys`, the interest claim's letter in `interest_claims`.
"""

from __future__ import annotations

import time

from consumers.notifications.accesses import grant_access, invite, revoke
from consumers.notifications.certificates import handle_certificate_issued
from consumers.notifications.contexts import full_name, gestionnaire_name, reminder_delays, session_context
from consumers.notifications.interest_claims import handle_interest_claim_issued
from consumers.notifications.reminders import cancel_reminders, queue_due_reminders, schedule_reminders
from consumers.notifications.surveys import queue_survey_reminders
from consumers.runner import ConsumerApp
from schemas.limits import quoted
from schemas.messages import (
    CreditNoteIssued,
    Envelope,
    InvoiceIssued,
    InvoicePlatformStatusChanged,
    ParticipantReplaced,
    RegistrationMoved,
    RegistrationRejected,
    RegistrationTransitioned,
)
from workflow.adapters.email_message import french_date
from workflow.adapters.mailroom import Mailroom, deliver_due
from workflow.bootstrap import Deps
from workflow.domain.catalogue import Catalogue
from workflow.domain.clock import PARIS
from workflow.domain.errors import DependencyNotReadyError, InconsistentMessageError
from workflow.domain.form_rules import euros
from workflow.domain.invoice import VAT_EXEMPTION, payment_terms
from workflow.domain.registration import Registration
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

ACTOR = "notifications"


def _registration(message: Envelope, uow: UnitOfWork) -> Registration:
    registration = uow.registrations.get(message.registration_id or "")
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    return registration


def handle_confirmed(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, *, catalogue: Catalogue,
                     settings: Settings, mail: Mailroom) -> None:
    """Confirmation to the gestionnaire; an invitation with a personal link to each participant."""
    registration = _registration(message, uow)
    form = registration.form
    session_id = registration.session_id or ""
    found = catalogue.session(session_id)
    price = found[0].price_per_participant if found else None
    names = [full_name(p) for p in form.participants]
    mail.enqueue(uow, registration_id=registration.id, kind="confirmation", recipient=form.gestionnaire.email,
                 occurrence="1", context={
                     "gestionnaire_name": gestionnaire_name(registration), "client_name": form.client.name,
                     "registration_id": registration.id, "session": session_context(catalogue, session_id),
                     "participants": names, "unit_price": euros(price) if price is not None else "?",
                     "total": euros(price * len(names)) if price is not None else "?",
                     "vat_note": VAT_EXEMPTION if found and found[0].vat == "exempt" else "TTC",
                     "reminders": reminder_delays(settings)})
    if not uow.accesses.active_of(registration.id):
        for participant in form.participants:
            access = grant_access(uow, settings, registration, participant)
            invite(uow, registration, access, mail=mail, catalogue=catalogue, settings=settings)
    schedule_reminders(uow, catalogue, settings, registration)


def handle_rejected(message: Envelope, event: RegistrationRejected, uow: UnitOfWork, *, mail: Mailroom) -> None:
    registration = _registration(message, uow)
    mail.enqueue(uow, registration_id=registration.id, kind="rejection",
                 recipient=registration.form.gestionnaire.email, occurrence=str(message.event_id), context={
                     "gestionnaire_name": gestionnaire_name(registration), "registration_id": registration.id,
                     "errors": [{"field": e.field, "message": e.message_fr} for e in event.errors]})


def handle_invoice_issued(message: Envelope, event: InvoiceIssued, uow: UnitOfWork, *, catalogue: Catalogue,
                          mail: Mailroom) -> None:
    """The invoice PDF (Factur-X) to the person who registered; it stands as the training agreement. What the
    e-mail says and attaches comes from the invoice issued in the database, not from the event."""
    registration = _registration(message, uow)
    invoice = uow.invoices.get(event.invoice_number)
    if invoice is None or invoice.registration_id != registration.id:
        raise InconsistentMessageError(f"no invoice {event.invoice_number} issued for {registration.id}")
    found = catalogue.session(registration.session_id or "")
    terms = (payment_terms(registration.form, invoice.due_on, found[1].date) if found and invoice.due_on
             else "Payable selon les conditions indiquées sur la facture.")
    mail.enqueue(uow, registration_id=registration.id, kind="invoice",
                 recipient=registration.form.gestionnaire.email, occurrence=invoice.number, context={
                     "gestionnaire_name": gestionnaire_name(registration),
                     "client_name": registration.form.client.name, "invoice_number": invoice.number,
                     "issued_on": french_date(invoice.issued_on), "total": euros(invoice.total),
                     "is_agreement": bool(found and found[0].invoice_is_training_agreement),
                     "payment_terms": terms, "replaces": uow.credit_notes.last_credited_invoice(registration.id),
                     "session": session_context(catalogue, registration.session_id or "")},
                 attachments=[{"type": "invoice", "number": invoice.number}])


def handle_credit_note_issued(message: Envelope, event: CreditNoteIssued, uow: UnitOfWork, *, mail: Mailroom) -> None:
    """The credit note to the gestionnaire, from the credit note issued in the database."""
    registration = _registration(message, uow)
    credit = uow.credit_notes.get(event.credit_note_number)
    if credit is None or credit.registration_id != registration.id:
        raise InconsistentMessageError(f"no credit note {event.credit_note_number} issued for {registration.id}")
    mail.enqueue(uow, registration_id=registration.id, kind="credit_note",
                 recipient=registration.form.gestionnaire.email, occurrence=credit.number, context={
                     "gestionnaire_name": gestionnaire_name(registration),
                     "credit_note_number": credit.number, "invoice_number": credit.invoice_number,
                     "total": euros(credit.total), "reason": credit.reason},
                 attachments=[{"type": "credit_note", "number": credit.number}])


def handle_participant_replaced(message: Envelope, event: ParticipantReplaced, uow: UnitOfWork, *,
                                catalogue: Catalogue, settings: Settings, mail: Mailroom) -> None:
    """The replaced participant's link stops working; the newcomer gets an invitation (and the reminders
    still to come, which go to whoever holds an active access when they are due)."""
    registration = _registration(message, uow)
    old_email = (event.replaced.email or "").lower()
    revoked = [a for a in uow.accesses.active_of(registration.id) if a.email == old_email]
    replacement_name = full_name(event.replacement)
    session = session_context(catalogue, registration.session_id or "")
    for access in revoked:  # the newcomer's data only quoted, bounded: the revocation never depends on it
        revoke(uow, access, f"replaced by {quoted(replacement_name, 200)} <{quoted(event.replacement.email, 254)}>, "
                            f"asked by {quoted(event.requested_by, 100)}")
        mail.enqueue(uow, registration_id=registration.id, kind="access_revoked", recipient=access.email,
                     occurrence=access.id, context={
                         "participant_name": full_name(access), "client_name": registration.form.client.name,
                         "replacement_name": replacement_name, "session": session},
                     attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                                   "method": "CANCEL", "sequence": access.sequence}])
    newcomer = grant_access(uow, settings, registration, event.replacement)
    invite(uow, registration, newcomer, mail=mail, catalogue=catalogue, settings=settings)
    mail.enqueue(uow, registration_id=registration.id, kind="participant_replaced",
                 recipient=registration.form.gestionnaire.email, occurrence=str(message.event_id), context={
                     "gestionnaire_name": gestionnaire_name(registration),
                     "replaced_name": full_name(event.replaced), "replacement_name": replacement_name,
                     "replacement_email": event.replacement.email, "requested_by": event.requested_by,
                     "requested_on": french_date(event.requested_at.astimezone(catalogue.schedule.zone).date()),
                     "session": session})


def handle_moved(message: Envelope, event: RegistrationMoved, uow: UnitOfWork, *, catalogue: Catalogue,
                 settings: Settings, mail: Mailroom) -> None:
    """Same links, new date: every participant told with an updated `.ics`; reminders follow the date."""
    registration = _registration(message, uow)
    found = catalogue.session(event.from_session_id)
    previous = french_date(found[1].date) if found else event.from_session_id
    cancel_reminders(uow, registration.id, f"the session moved to {event.to_session_id}")
    accesses = uow.accesses.active_of(registration.id)
    session = session_context(catalogue, event.to_session_id)
    for access in accesses:
        access.session_id = event.to_session_id
        access.sequence += 1
        mail.enqueue(uow, registration_id=registration.id, kind="session_moved", recipient=access.email,
                     occurrence=f"{access.id}:{event.to_session_id}", context={
                         "participant_name": full_name(access), "session": session, "previous_date": previous,
                         "reason": event.reason, "access_id": access.id},
                     attachments=[{"type": "ics", "access_id": access.id, "session_id": event.to_session_id,
                                   "method": "REQUEST", "sequence": access.sequence}])
    if accesses:  # confirmed before the move: the gestionnaire is told, reminders are set for the new date
        mail.enqueue(uow, registration_id=registration.id, kind="session_moved",
                     recipient=registration.form.gestionnaire.email, occurrence=event.to_session_id, context={
                         "participant_name": gestionnaire_name(registration), "session": session,
                         "previous_date": previous, "reason": event.reason, "access_id": None})
        schedule_reminders(uow, catalogue, settings, registration)


def handle_cancelled(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, *, catalogue: Catalogue,
                     mail: Mailroom) -> None:
    """The session will not be held: links revoked, reminders cancelled, everyone told."""
    registration = _registration(message, uow)
    reason = event.reason or "annulation de la session"
    session = session_context(catalogue, registration.session_id or "")
    cancel_reminders(uow, registration.id, f"the session was cancelled: {reason}")
    for access in uow.accesses.active_of(registration.id):
        revoke(uow, access, f"session cancelled: {reason}")
        mail.enqueue(uow, registration_id=registration.id, kind="session_cancelled", recipient=access.email,
                     occurrence=access.id, context={
                         "name": full_name(access), "session": session, "reason": reason, "for_participant": True},
                     attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                                   "method": "CANCEL", "sequence": access.sequence}])
    mail.enqueue(uow, registration_id=registration.id, kind="session_cancelled",
                 recipient=registration.form.gestionnaire.email, occurrence=registration.session_id or "",
                 context={"name": gestionnaire_name(registration), "session": session, "reason": reason,
                          "for_participant": False})


# --- every tick ---------------------------------------------------------------------------------------


def send_due_reminders(deps: Deps, *, limit: int = 200) -> int:
    """Turn the reminders that are due (before a session, after it for the survey) into e-mails to the
    participants holding an access now."""
    with UnitOfWork(deps.sessions, deps.clock, actor=ACTOR) as uow:
        catalogue = uow.catalogue.current(deps.schedule)
        queued = queue_due_reminders(uow, catalogue, deps.mail, limit=limit)
        queued += queue_survey_reminders(uow, catalogue, deps.mail, limit=limit)
        uow.commit()
    return queued


def tick(deps: Deps, budget_seconds: float = 2.0) -> None:
    """Reminders due, then e-mails in batches until none is due or the budget is spent (the consumer
    then goes back to its queue: messages waiting are not held up by a long backlog of e-mails)."""
    send_due_reminders(deps)
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        report = deliver_due(deps.sessions, deps.clock, deps.mail)
        if not report.sent or report.retried or report.failed:
            return


def handle_platform_status_changed(message: Envelope, event: InvoicePlatformStatusChanged, uow: UnitOfWork, *,
                                   settings: Settings, mail: Mailroom) -> None:
    """An invoice *suspendue* on Chorus Pro: support is told, by e-mail when it has an address
    (REGFLOW_SUPPORT_EMAIL); the Invoices page and the history show it either way."""
    if event.status != "SUSPENDUE" or not settings.support_email:
        return
    registration = _registration(message, uow)
    mail.enqueue(uow, registration_id=registration.id, kind="invoice_suspended", recipient=settings.support_email,
                 occurrence=f"{event.document_number}:{event.changed_at.isoformat()}", context={
                     "invoice_number": event.document_number, "client_name": registration.form.client.name,
                     "registration_id": registration.id, "reason": event.reason,
                     "changed_on": french_date(event.changed_at.astimezone(PARIS).date())})


APP = ConsumerApp(ACTOR, {
    "registration.confirmed": handle_confirmed,
    "registration.rejected": handle_rejected,
    "invoice.issued": handle_invoice_issued,
    "credit_note.issued": handle_credit_note_issued,
    "registration.participant_replaced": handle_participant_replaced,
    "registration.moved": handle_moved,
    "registration.cancelled": handle_cancelled,
    "certificate.issued": handle_certificate_issued,
    "interest_claim.issued": handle_interest_claim_issued,
    "invoice.platform_status_changed": handle_platform_status_changed,
}, periodic=tick, period_setting="mail_poll_seconds", secrets=("link_secret",))
