"""Certificates of completion, issued by the invoicing consumer on `session.held` (it makes the documents).

The attendance is read from the database, as the payments consumer recorded it on each participant's access in
the transaction that published `session.held`, not from the message. Per registration of the session: one PDF
per participant who followed something (`workflow.domain.certificate`), kept in the document store, then one
`certificate.issued` listing them and the participants without one (absent all day), which the notifications
consumer turns into e-mails. Issued once: a seat's certificate number is derived from the session and the seat.
"""

from __future__ import annotations

from schemas.messages import CertificateIssued, Envelope, IssuedCertificate, NoCertificate, SessionHeld
from workflow.adapters.certificate_pdf import render_certificate
from workflow.adapters.document_store import DocumentStore, document_name
from workflow.domain.catalogue import Catalogue
from workflow.domain.certificate import (
    NO_CERTIFICATE_ABSENT,
    CertificateDocument,
    certificate_number,
    minutes_to_certify,
)
from workflow.domain.clock import Clock
from workflow.domain.errors import DependencyNotReadyError, InconsistentMessageError
from workflow.domain.invoice import Seller
from workflow.domain.machine import State
from workflow.domain.payment_rules import paris_date
from workflow.persistence.orm import CertificateRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

HELD = {State.SESSION_HELD, State.PAID}


def handle_session_held(message: Envelope, event: SessionHeld, uow: UnitOfWork, *, clock: Clock,
                        catalogue: Catalogue, settings: Settings, seller: Seller, documents: DocumentStore) -> None:
    held_on = uow.session_records.held_on(event.session_id)
    if held_on is None:
        raise DependencyNotReadyError(f"session {event.session_id} not recorded as held yet")
    if held_on != event.held_on:
        raise InconsistentMessageError(f"session {event.session_id} was held on {held_on}, not {event.held_on}")
    found = catalogue.session(event.session_id)
    if found is None:
        raise InconsistentMessageError(f"unknown session {event.session_id}")
    training, _ = found
    now = clock.now()
    day_minutes = int(catalogue.schedule.training_duration.total_seconds()) // 60
    for registration in uow.registrations.in_session(event.session_id, HELD):
        issued, without = [], []
        for access in uow.accesses.active_of(registration.id):
            if access.session_id != event.session_id or access.presence is None:
                continue
            minutes = minutes_to_certify(access.presence, access.minutes_followed, day_minutes)
            if minutes is None:
                without.append(NoCertificate(participant_id=access.id, reason=NO_CERTIFICATE_ABSENT))
                continue
            number = certificate_number(held_on.year, event.session_id, access.id)
            if uow.certificates.get(number) is None:
                trainee = " ".join(p for p in (access.civilite, access.first_name, access.last_name) if p)
                doc = CertificateDocument(
                    number=number, seller=seller, signatory=settings.seller_signatory, trainee=trainee or access.email,
                    client=registration.form.client.name or "", title=training.title, session_day=held_on,
                    minutes_followed=minutes, place=seller.city, issued_on=paris_date(now))
                documents.write(document_name("certificate", number), render_certificate(doc))
                uow.certificates.add(CertificateRow(
                    number=number, session_id=event.session_id, registration_id=registration.id, access_id=access.id,
                    trainee=doc.trainee, minutes_followed=minutes, issued_on=doc.issued_on, created_at=now))
                issued.append(IssuedCertificate(number=number, participant_id=access.id, minutes_followed=minutes))
        if issued:  # a redelivered event issues nothing new, and tells nobody again
            uow.publish("certificate.issued", CertificateIssued(
                session_id=event.session_id, certificates=issued, without_certificate=without), registration.id)
