"""Operations' pages on the catalogue: the sessions with their state and seats, a session added, changed,
closed or reopened. The same code as `regflow sessions` (`workflow.ops.catalogue`); in the page's language."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from pydantic import ValidationError

from regflow.web.auth import requires
from regflow.web.context import back_office, pages
from regflow.web.i18n import in_language
from regflow.web.users import Role
from workflow.domain.catalogue import SessionDate, SessionState
from workflow.ops.catalogue import CatalogueChangeError, CatalogueDesk

FIELDS = ("session_id", "training_id", "date", "capacity", "registration_deadline", "join_url", "trainer")
LABELS = {"session_id": _l("identifier"), "training_id": _l("training"), "date": _l("date"), "capacity": _l("seats"),
          "registration_deadline": _l("registration deadline"), "join_url": _l("video conference address"),
          "trainer": _l("trainer")}


def session_state(state: str) -> str:
    """A session's state as the page names it (a session is feminine in French: « ouverte », « close »)."""
    names: dict[str, str] = {"open": pgettext("session", "open"), "closed": pgettext("session", "closed"),
                             "full": pgettext("session", "full"), "held": pgettext("session", "held"),
                             "cancelled": pgettext("session", "cancelled")}
    return names.get(state, state)


def _refused(refused: CatalogueChangeError) -> str:
    return in_language(refused.fr, refused.en)


def _desk() -> CatalogueDesk:
    office = back_office()
    return CatalogueDesk(office.sessions, office.clock, office.schedule)


def _page(form: dict[str, str], errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    desk = _desk()
    return render_template("sessions.html", sessions=desk.listing(), trainings=desk.catalogue().trainings,
                           form=form, errors=errors, session_state=session_state), status


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
        return _page(form, {"_": _refused(refused)}, 400)
    flash(_("Session %(id)s added: it takes registrations from now on.", id=session.id))
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
            flash(_("Session %(id)s closed.", id=session_id) if action == "close"
                  else _("Session %(id)s reopened.", id=session_id))
        elif action == "edit":
            desk.edit_session(session_id, {name: request.form.get(name, "").strip() or None
                                           for name in ("capacity", "registration_deadline", "join_url", "trainer")})
            flash(_("Session %(id)s changed.", id=session_id))
        else:
            return _page({}, {"_": _("unknown action: %(action)s", action=repr(action[:40]))}, 400)
    except ValidationError as exc:
        return _page({}, {"_": _("Session %(id)s: %(errors)s", id=session_id,
                                  errors=_("; ").join(_errors(exc).values()))}, 400)
    except CatalogueChangeError as refused:
        return _page({}, {"_": _refused(refused)}, 400)
    return redirect(url_for("backoffice.sessions"))


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        name = {"id": "session_id"}.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else "_"
        found.setdefault(name, _("%(field)s: %(error)s", field=LABELS.get(name, name), error=error["msg"]))
    return found
