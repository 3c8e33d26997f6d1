"""The participant's page of the session, `GET /j/<token>/seance`: what the brochure promises before the day, in one
place (the date and half-days in Paris time, the programme, the audience, the speaker), the personal link and when
it opens, and what was sent to this participant.

Documents: only the `.ics` is offered again, regenerated from the access as `/j/<token>/invitation.ics` serves it
(its current SEQUENCE, so it replaces an older copy in a calendar). The e-mails are listed, what and when, never
re-served: their attachments are specs in the database, the participant's are that same `.ics`, and a legacy
`document` spec carries a path nothing here reads. Invoices and credit notes are the gestionnaire's, not the
participant's. The dossier documentaire is not sent by regflow: the page says it comes by e-mail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.adapters.email_message import french_date, french_time
from workflow.adapters.mailroom import SENT
from workflow.domain.catalogue import Catalogue, SessionDate, SessionState, Training
from workflow.domain.clock import PARIS
from workflow.persistence.orm import EmailRow, ParticipantAccessRow

# The e-mails a participant receives while the access is active (the revoked ones' go to a 410, not to this page).
PARTICIPANT_MAILS = {"invitation": "invitation", "reminder": "rappel", "session_moved": "changement de date"}


def session_view(catalogue: Catalogue, training: Training, session: SessionDate) -> dict[str, object]:
    """What the pages show of the session: the date, the half-days (Europe/Paris), the programme."""
    parts = catalogue.schedule.parts
    return {"title": training.title, "date": french_date(session.date), "objective": training.objective,
            "parts": [f"{french_time(p.start)} à {french_time(p.end)}" for p in parts],
            "break_minutes": catalogue.schedule.break_minutes_per_part, "format": training.format,
            "audience": list(training.audience), "speaker": session.trainer or training.speaker,
            "cancelled": session.state == SessionState.CANCELLED}


def sent_to(session: Session, access: ParticipantAccessRow) -> list[dict[str, object]]:
    """The e-mails sent for this very access, oldest first. Matched on the access id in their context, not only on the
    address: a gestionnaire who also attends must not see the registration's invoice e-mails here."""
    rows = session.scalars(select(EmailRow).where(
        EmailRow.registration_id == access.registration_id, EmailRow.recipient == access.email,
        EmailRow.status == SENT, EmailRow.kind.in_(PARTICIPANT_MAILS)).order_by(EmailRow.sent_at, EmailRow.id))
    return [{"label": PARTICIPANT_MAILS[row.kind], "sent": _when(row), "ics": _carries_ics(row.attachments)}
            for row in rows if isinstance(row.context, dict) and row.context.get("access_id") == access.id]


def _when(row: EmailRow) -> str:
    if row.sent_at is None:
        return ""
    at = row.sent_at.astimezone(PARIS)
    return f"{french_date(at.date())} à {french_time(at)}"


def _carries_ics(attachments: list[Any]) -> bool:
    return any(isinstance(spec, dict) and spec.get("type") == "ics" for spec in attachments or [])
