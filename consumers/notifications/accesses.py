"""The participants' personal accesses: granted with an invitation, revoked when replaced or cancelled."""

from __future__ import annotations

from consumers.notifications.contexts import full_name, reminder_delays, session_context
from schemas.form import Participant
from workflow.adapters.mailroom import Mailroom
from workflow.domain.access_links import ACTIVE, REVOKED, new_access_id, token_for, token_hash
from workflow.domain.catalogue import Catalogue
from workflow.domain.registration import Registration
from workflow.persistence.orm import ParticipantAccessRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings


def grant_access(uow: UnitOfWork, settings: Settings, registration: Registration, participant: Participant
                 ) -> ParticipantAccessRow:
    """Only the hash of the link's token is kept: the token is derived again when a mail is sent."""
    access_id = new_access_id()
    access = ParticipantAccessRow(
        id=access_id, registration_id=registration.id, session_id=registration.session_id or "",
        email=(participant.email or "").lower(), civilite=participant.civilite, first_name=participant.first_name,
        last_name=participant.last_name,
        token_hash=token_hash(token_for(settings.require_secret("link_secret"), access_id)),
        status=ACTIVE, sequence=0, created_at=uow.clock.now(), revoked_at=None, revoked_reason=None)
    uow.accesses.add(access)
    return access


def revoke(uow: UnitOfWork, access: ParticipantAccessRow, reason: str) -> None:
    access.status = REVOKED
    access.revoked_at = uow.clock.now()
    access.revoked_reason = reason
    access.sequence += 1


def invite(uow: UnitOfWork, registration: Registration, access: ParticipantAccessRow, *, mail: Mailroom,
           catalogue: Catalogue, settings: Settings) -> None:
    mail.enqueue(uow, registration_id=registration.id, kind="invitation", recipient=access.email,
                 occurrence=access.id, context={
                     "participant_name": full_name(access), "client_name": registration.form.client.name,
                     "session": session_context(catalogue, access.session_id), "access_id": access.id,
                     "reminders": reminder_delays(settings)},
                 attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                               "method": "REQUEST", "sequence": access.sequence}])
