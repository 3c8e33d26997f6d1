"""`GET /api/v1/registrations/{id}`: what a client system may know of a registration it submitted (a view over
`workflow.persistence.views.registration_timeline`): the state in words, the history (without the back office's
user names), the errors of a rejected form, the invoices and credit notes by number."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from schemas.api import PENDING, FieldError, RegistrationStatus
from workflow.domain.machine import STATE_WORDS, State
from workflow.persistence.views import registration_timeline

PENDING_WORDS = ("transmise, en attente de son enregistrement", "sent, waiting to be recorded")


def registration_status(sessions: sessionmaker[Session], registration_id: str) -> RegistrationStatus:
    """The registration as recorded; `pending` while the validation consumer has not recorded it yet."""
    view = registration_timeline(sessions, registration_id)
    if view is None:
        return RegistrationStatus(id=registration_id, state=PENDING, state_fr=PENDING_WORDS[0],
                                  state_en=PENDING_WORDS[1], session_id=None, history=[], errors=[], invoices=[],
                                  credit_notes=[])
    french, english = STATE_WORDS[State(view["state"])]
    return RegistrationStatus.model_validate({
        "id": view["id"], "state": view["state"], "state_fr": french, "state_en": english,
        "session_id": view["session_id"],
        "history": [{"at": h["at"], "from_state": h["from"], "to_state": h["to"], "trigger": h["trigger"],
                     "outcome": h["outcome"], "reason": h["reason"]} for h in view["history"]],
        "errors": [_error(e) for e in view["errors"] or [] if e.get("severity", "error") == "error"],
        "invoices": [{k: i[k] for k in ("number", "issued_on", "total", "due_on", "credited")}
                     for i in view["invoices"]],
        "credit_notes": [{k: c[k] for k in ("number", "invoice_number", "issued_on", "total")}
                         for c in view["credit_notes"]]})


def _error(stored: dict[str, Any]) -> FieldError:
    return FieldError(field=str(stored.get("field", "")), rule=str(stored.get("rule", "")),
                      message_fr=str(stored.get("message_fr", "")), message_en=str(stored.get("message_en", "")))
