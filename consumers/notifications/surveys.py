"""The satisfaction survey "à chaud" (Qualiopi indicator 30): each participant present (who has a certificate)
invited after service fait with their personal link's survey page, and reminded once, if they have not answered,
`survey_reminder_hours` later. The answer itself is taken by the join service (`regflow.join.survey`)."""

from __future__ import annotations

from typing import Any

from consumers.notifications.contexts import full_name, session_context
from workflow.adapters.mailroom import Mailroom
from workflow.domain.catalogue import Catalogue
from workflow.domain.registration import Registration
from workflow.domain.survey import remind_at, reminder_due
from workflow.persistence.orm import CertificateRow, ParticipantAccessRow, SurveyRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings


def invite_to_survey(uow: UnitOfWork, registration: Registration, certificates: list[CertificateRow], *,
                     catalogue: Catalogue, session: dict[str, Any], settings: Settings, mail: Mailroom) -> int:
    """One survey per seat with a certificate whose participant still holds the access (a seat that changed
    hands since has nobody to ask); a seat already invited is left as it is (a redelivered event)."""
    found = catalogue.session(session["id"])
    training_id = found[0].id if found else ""
    accesses = {a.id: a for a in uow.accesses.active_of(registration.id)}
    now = uow.clock.now()
    invited = 0
    for certificate in certificates:
        access = accesses.get(certificate.access_id)
        if access is None or uow.surveys.of_seat(certificate.session_id, access.id) is not None:
            continue
        uow.surveys.add(SurveyRow(
            session_id=certificate.session_id, training_id=training_id, registration_id=registration.id,
            access_id=access.id, invited_at=now, remind_at=remind_at(now, settings.survey_reminder_hours),
            reminded_at=None, answered_at=None))
        invited += mail.enqueue(uow, registration_id=registration.id, kind="survey", recipient=access.email,
                                occurrence=f"{certificate.session_id}:{access.id}",
                                context=_context(access, session))
    return invited


def queue_survey_reminders(uow: UnitOfWork, catalogue: Catalogue, mail: Mailroom, *, limit: int) -> int:
    """The reminders due now, in a unit of work the caller commits; each survey is reminded at most once, also when
    there is nobody left to write to (the access revoked since, the session no longer known)."""
    now = uow.clock.now()
    queued = 0
    for survey in uow.surveys.reminders_due(now, limit):
        survey.reminded_at = now
        if not reminder_due(now=now, remind_at=survey.remind_at, reminded_at=None, answered_at=survey.answered_at):
            continue
        access = next((a for a in uow.accesses.active_of(survey.registration_id) if a.id == survey.access_id), None)
        if access is None or catalogue.session(survey.session_id) is None:
            continue
        queued += mail.enqueue(uow, registration_id=survey.registration_id, kind="survey_reminder",
                               recipient=access.email, occurrence=f"{survey.session_id}:{access.id}",
                               context=_context(access, session_context(catalogue, survey.session_id)))
    return queued


def _context(access: ParticipantAccessRow, session: dict[str, Any]) -> dict[str, Any]:
    return {"participant_name": full_name(access), "session": session, "access_id": access.id}
