"""Certificates of completion, issued by the invoicing consumer (it makes the documents) when service fait moves
a registration to *session held* (or straight to *paid*).

The attendance is read from the database, as the payments consumer recorded it on each participant's access in
the transaction that recorded service fait, not from the message. Per registration: one PDF
per participant who followed something (`workflow.domain.certificate`), kept in the database with it (the store's
copy is written after the commit, `consumers.deposits`), then one
`certificate.issued` listing them and the participants without one (absent all day), which the notifications
consumer turns into e-mails. Issued once: a seat's certificate number is derived from the session and the seat.
"""

from __future__ import annotations

from consumers.deposits import keep_pdf, owe_evidence
from schemas.messages import CertificateIssued, Envelope, IssuedCertificate, NoCertificate, RegistrationTransitioned
from workflow.adapters.certificate_pdf import render_certificate
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
from workflow.domain.payment_rules import paris_date
from workflow.persistence.orm import CertificateRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings


def handle_session_held(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, *, clock: Clock,
                        catalogue: Catalogue, settings: Settings, seller: Seller) -> None:
    """On `registration.session_held`, or `registration.paid` when service fait found it already settled: one
    registration's certificates, a small unit of work (a session of a thousand registrations is a thousand of
    them, shared among the replicas, each retried alone)."""
    if event.trigger != "hold_session":
        return  # paid by a payment after service fait: its certificates were issued when it was held
    registration = uow.registrations.get(message.registration_id or "")
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    session_id = event.session_id or registration.session_id or ""
    held_on = uow.session_records.held_on(session_id)
    found = catalogue.session(session_id)
    if held_on is None or found is None:
        raise InconsistentMessageError(f"{registration.id}: session {session_id} is not recorded as held")
    now = clock.now()
    day_minutes = int(catalogue.schedule.training_duration.total_seconds()) // 60
    issued, without = [], []
    for access in uow.accesses.active_of(registration.id):
        if access.session_id != session_id or access.presence is None:
            continue
        minutes = minutes_to_certify(access.presence, access.minutes_followed, day_minutes)
        if minutes is None:
            without.append(NoCertificate(participant_id=access.id, reason=NO_CERTIFICATE_ABSENT))
            continue
        number = certificate_number(held_on.year, session_id, access.id)
        if uow.certificates.get(number) is not None:
            continue  # a redelivered event issues nothing new
        trainee = " ".join(p for p in (access.civilite, access.first_name, access.last_name) if p)
        doc = CertificateDocument(
            number=number, seller=seller, signatory=settings.seller_signatory, trainee=trainee or access.email,
            client=registration.form.client.name or "", title=found[0].title, session_day=held_on,
            minutes_followed=minutes, place=seller.city, issued_on=paris_date(now))
        keep_pdf(uow, "certificate", number, render_certificate(doc), now)
        uow.certificates.add(CertificateRow(
            number=number, session_id=session_id, registration_id=registration.id, access_id=access.id,
            trainee=doc.trainee, minutes_followed=minutes, issued_on=doc.issued_on, created_at=now))
        issued.append(IssuedCertificate(number=number, participant_id=access.id, minutes_followed=minutes))
    if issued:  # and tells nobody again
        owe_evidence(uow, registration.id, wanted=registration.form.client.chorus_attach_evidence, now=now)
        uow.publish("certificate.issued", CertificateIssued(
            session_id=session_id, certificates=issued, without_certificate=without), registration.id)
