"""Operations' pages on the catalogue: the sessions with their state and seats, a session added, changed,
closed or reopened. The same code as `regflow sessions` (`workflow.ops.catalogue`); in French first."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from regflow.web.auth import requires
from regflow.web.context import back_office, pages
from regflow.web.users import Role
from workflow.domain.catalogue import SessionDate, SessionState
from workflow.ops.catalogue import CatalogueChangeError, CatalogueDesk

FIELDS = ("session_id", "training_id", "date", "capacity", "registration_deadline", "join_url", "trainer")
LABELS = {"session_id": "identifiant", "training_id": "formation", "date": "date", "capacity": "places",
          "registration_deadline": "date limite d'inscription", "join_url": "adresse de la visioconférence",
          "trainer": "formateur"}


def _desk() -> CatalogueDesk:
    office = back_office()
    return CatalogueDesk(office.sessions, office.clock, office.schedule)


def _page(form: dict[str, str], errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    desk = _desk()
    return render_template("sessions.html", sessions=desk.listing(), trainings=desk.catalogue().trainings,
                           form=form, errors=errors), status


@pages.get("/sessions")
@requires(Role.OPERATIONS)
def sessions() -> ResponseReturnValue:
    return _page({}, {})


@pages.post("/sessions")
@requires(Role.OPERATIONS)
def add_session() -> ResponseReturnValue:
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    values: dict[str, Any] = {k: v or None for k, v in form.items() if k not in ("session_id", "training_id")}
    try:
        session = SessionDate.model_validate({"id": form["session_id"], **values})
        _desk().add_session(form["training_id"], session)
    except ValidationError as exc:
        return _page(form, _errors(exc), 400)
    except CatalogueChangeError as refused:
        return _page(form, {"_": refused.fr}, 400)
    flash(f"Séance {session.id} ajoutée : elle accepte les inscriptions dès maintenant.")
    return redirect(url_for("backoffice.sessions"))


@pages.post("/sessions/<session_id>")
@requires(Role.OPERATIONS)
def change_session(session_id: str) -> ResponseReturnValue:
    """One of: close, reopen, or new values for capacity, deadline, join address and trainer (blank: unset)."""
    action = request.form.get("action", "")
    desk = _desk()
    try:
        if action in ("close", "reopen"):
            desk.set_state(session_id, SessionState.CLOSED if action == "close" else SessionState.OPEN)
            flash(f"Séance {session_id} {'close' if action == 'close' else 'rouverte'}.")
        elif action == "edit":
            desk.edit_session(session_id, {name: request.form.get(name, "").strip() or None
                                           for name in ("capacity", "registration_deadline", "join_url", "trainer")})
            flash(f"Séance {session_id} modifiée.")
        else:
            return _page({}, {"_": f"action inconnue : {action[:40]!r}"}, 400)
    except ValidationError as exc:
        return _page({}, {"_": f"Séance {session_id} : " + "; ".join(_errors(exc).values())}, 400)
    except CatalogueChangeError as refused:
        return _page({}, {"_": refused.fr}, 400)
    return redirect(url_for("backoffice.sessions"))


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        name = {"id": "session_id"}.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else "_"
        found.setdefault(name, f"{LABELS.get(name, name)} : {error['msg']}")
    return found
