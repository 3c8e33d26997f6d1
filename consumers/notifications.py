"""Notifications consumer: the e-mails the documents promise, recorded once each.

Real SMTP sending comes with its own issue; here every e-mail is built and stored with an idempotency
key (registration, kind, recipient, occurrence), so a redelivered event never records it twice.
"""

from __future__ import annotations

from sqlalchemy import select

from consumers.runner import ConsumerApp
from schemas.messages import (
    CreditNoteIssued,
    EmailRecorded,
    Envelope,
    InvoiceIssued,
    RegistrationRejected,
    RegistrationTransitioned,
)
from workflow.bootstrap import Deps
from workflow.errors import DependencyNotReadyError
from workflow.form_rules import euros
from workflow.model import Registration
from workflow.orm import EmailRow
from workflow.uow import UnitOfWork

ACTOR = "notifications"


def _registration(message: Envelope, uow: UnitOfWork) -> Registration:
    registration = uow.registrations.get(message.registration_id or "")
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    return registration


def _record(uow: UnitOfWork, registration: Registration, kind: str, recipient: str | None, *,
            subject: str, body: str, occurrence: str = "1") -> None:
    if not recipient:
        return
    key = f"{registration.id}:{kind}:{recipient.lower()}:{occurrence}"
    if uow.session.scalars(select(EmailRow.id).where(EmailRow.idempotency_key == key)).first() is not None:
        return
    uow.session.add(EmailRow(idempotency_key=key, registration_id=registration.id, kind=kind,
                             recipient=recipient, subject=subject, body=body, status="recorded",
                             created_at=uow.clock.now()))
    uow.publish("email.recorded", EmailRecorded(kind=kind, recipient=recipient, subject=subject),
                registration.id)


def handle_confirmed(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, deps: Deps) -> None:
    """Confirmation to the gestionnaire; an invitation with the access link to each participant."""
    registration = _registration(message, uow)
    found = deps.catalogue.session(registration.session_id or "")
    title = found[0].title if found else registration.session_id
    starts = deps.catalogue.starts_at(found[1]).strftime("%d/%m/%Y %H:%M") if found else "?"
    form = registration.form
    names = ", ".join(f"{p.civilite} {p.first_name} {p.last_name}" for p in form.participants)
    _record(uow, registration, "confirmation", form.gestionnaire.email,
            subject=f"Confirmation d'inscription : {title}",
            body=f"Votre inscription à « {title} » du {starts} (heure de Paris) est confirmée "
                 f"pour : {names}.")
    for participant in form.participants:
        _record(uow, registration, "invitation", participant.email, subject=f"Invitation : {title}",
                body=f"Bonjour {participant.first_name} {participant.last_name}, la session « {title} » "
                f"commence le {starts} (heure de Paris). Votre lien d'accès vous sera personnel.")


def handle_rejected(message: Envelope, event: RegistrationRejected, uow: UnitOfWork, deps: Deps) -> None:
    registration = _registration(message, uow)
    lines = "\n".join(f"- {e.field} : {e.message_fr}" for e in event.errors)
    _record(uow, registration, "rejection", registration.form.gestionnaire.email,
            subject="Votre formulaire d'inscription est à corriger",
            body=f"Nous ne pouvons pas enregistrer votre inscription :\n{lines}",
            occurrence=str(message.event_id))


def handle_invoice_issued(message: Envelope, event: InvoiceIssued, uow: UnitOfWork, deps: Deps) -> None:
    registration = _registration(message, uow)
    _record(uow, registration, "invoice", registration.form.gestionnaire.email,
            subject=f"Facture {event.invoice_number}",
            body=f"Veuillez trouver ci-joint la facture n° {event.invoice_number} d'un montant de "
                 f"{euros(event.total)} (pièce jointe : {event.document}).",
            occurrence=event.invoice_number)


def handle_credit_note_issued(message: Envelope, event: CreditNoteIssued, uow: UnitOfWork, deps: Deps) -> None:
    registration = _registration(message, uow)
    _record(uow, registration, "credit_note", registration.form.gestionnaire.email,
            subject=f"Avoir {event.credit_note_number} sur la facture {event.invoice_number}",
            body=f"Motif : {event.reason}. L'avoir n° {event.credit_note_number} de "
                 f"{euros(event.total)} annule la facture n° {event.invoice_number} (pièce jointe : "
                 f"{event.document}).", occurrence=event.credit_note_number)


APP = ConsumerApp(ACTOR, {
    "registration.confirmed": handle_confirmed,
    "registration.rejected": handle_rejected,
    "invoice.issued": handle_invoice_issued,
    "credit_note.issued": handle_credit_note_issued,
})
