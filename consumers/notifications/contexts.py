"""What the e-mail templates are given: names and a session as people read them (pure, no I/O)."""

from __future__ import annotations

from typing import Any

from schemas.form import Participant
from workflow.adapters.email_message import french_date, french_delay, french_time
from workflow.domain.catalogue import Catalogue
from workflow.domain.errors import DependencyNotReadyError
from workflow.domain.registration import Registration
from workflow.persistence.orm import ParticipantAccessRow
from workflow.settings import Settings


def full_name(person: Participant | ParticipantAccessRow) -> str:
    return " ".join(p for p in (person.civilite, person.first_name, person.last_name) if p)


def gestionnaire_name(registration: Registration) -> str:
    g = registration.form.gestionnaire
    return " ".join(p for p in (g.first_name, g.last_name) if p)


def session_context(catalogue: Catalogue, session_id: str) -> dict[str, Any]:
    found = catalogue.session(session_id)
    if found is None:
        raise DependencyNotReadyError(f"session {session_id} is not in this process's catalogue")
    training, session = found
    parts = catalogue.schedule.parts
    return {"id": session_id, "title": training.title, "date": french_date(session.date),
            "starts": french_time(parts[0].start), "ends": french_time(parts[-1].end),
            "parts": [f"{french_time(p.start)} à {french_time(p.end)}" for p in parts]}


def reminder_delays(settings: Settings) -> list[str]:
    """The reminders the invitation announces ("3 heures", "15 minutes"), earliest first."""
    return [french_delay(m) for m in sorted(set(settings.reminder_offsets_minutes), reverse=True)]
