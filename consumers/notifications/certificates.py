"""`certificate.issued`: the certificates of completion e-mailed, read from the database (the message only says
which registration and session): all of them to the gestionnaire in one e-mail, each participant their own, with
the invitation to the satisfaction survey (`consumers.notifications.surveys`)."""

from __future__ import annotations

from consumers.notifications.contexts import gestionnaire_name, session_context
from consumers.notifications.surveys import invite_to_survey
from schemas.messages import CertificateIssued, Envelope
from workflow.adapters.mailroom import Mailroom
from workflow.domain.catalogue import Catalogue
from workflow.domain.certificate import hours_text
from workflow.domain.errors import DependencyNotReadyError, InconsistentMessageError
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings


def handle_certificate_issued(message: Envelope, event: CertificateIssued, uow: UnitOfWork, *, catalogue: Catalogue,
                              settings: Settings, mail: Mailroom) -> None:
    registration = uow.registrations.get(message.registration_id or "")
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    stored = uow.certificates.of_registration(registration.id, event.session_id)
    if {c.number for c in stored} < {c.number for c in event.certificates}:
        raise InconsistentMessageError(f"certificates of {registration.id} announced but not issued")
    emails = {a.id: a.email for a in uow.accesses.active_of(registration.id)}
    session = session_context(catalogue, event.session_id)
    mail.enqueue(uow, registration_id=registration.id, kind="certificates",
                 recipient=registration.form.gestionnaire.email, occurrence=event.session_id, context={
                     "gestionnaire_name": gestionnaire_name(registration), "session": session,
                     "certificates": [{"trainee": c.trainee, "hours": hours_text(c.minutes_followed),
                                       "number": c.number} for c in stored],
                     "absent": len(event.without_certificate)},
                 attachments=[{"type": "certificate", "number": c.number} for c in stored])
    for certificate in stored:
        recipient = emails.get(certificate.access_id)
        if recipient is None:  # the seat changed hands since: the gestionnaire has the certificate
            continue
        mail.enqueue(uow, registration_id=registration.id, kind="certificate", recipient=recipient,
                     occurrence=certificate.number, context={
                         "trainee": certificate.trainee, "session": session,
                         "hours": hours_text(certificate.minutes_followed), "number": certificate.number},
                     attachments=[{"type": "certificate", "number": certificate.number}])
    invite_to_survey(uow, registration, stored, catalogue=catalogue, session=session, settings=settings, mail=mail)
