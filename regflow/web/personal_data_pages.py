"""Support's "Personal data" (RGPD): search a person by e-mail and see what is held (tables, documents,
registrations, what the law keeps), download it as JSON (the right of access) or erase it with a reason (the right
to erasure), seeing what was pseudonymised and what was kept and why. The same code as `regflow personal-data`
(`workflow.ops.personal_data`), recorded with the user's name. The e-mail goes in the form's body, never in the
address (an address ends up in access logs)."""

from __future__ import annotations

import json

from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from regflow.web.auth import requires
from regflow.web.context import back_office, current_user, pages
from regflow.web.i18n import in_language
from regflow.web.users import Role
from workflow.domain.personal_data import PersonalDataError, request_reason, subject_email
from workflow.ops.personal_data import erase, export, held
from workflow.settings import InsecureSecretError

# What `workflow.ops.personal_data` keeps, as the page names it (a table's name stays as it is).
DOCUMENT_KINDS = {"invoice": _l("invoice"), "credit_note": _l("credit note"), "certificate": _l("certificate"),
                  "registration": _l("registration")}


def _secret() -> str:
    """The pseudonyms' key; unset or weak outside development, the page says so (503) rather than make pseudonyms
    anyone with the default key could recompute."""
    try:
        return back_office().settings.require_secret("personal_data_secret")
    except InsecureSecretError as missing:
        abort(503, _("REGFLOW_PERSONAL_DATA_SECRET missing or too short: %(why)s", why=str(missing)))


@pages.get("/donnees-personnelles")
@requires(Role.SUPPORT)
def personal_data() -> ResponseReturnValue:
    return _shown(email="", found=None, erased=None, errors={})


def _shown(**values: object) -> str:
    return render_template("personal_data.html", document_kinds=DOCUMENT_KINDS, **values)


def _refused(refused: PersonalDataError) -> str:
    return in_language(refused.fr, refused.en)


@pages.post("/donnees-personnelles")
@requires(Role.SUPPORT)
def personal_data_request() -> ResponseReturnValue:
    office, form = back_office(), request.form
    action = form.get("action", "search")
    if action not in {"search", "export", "erase"}:
        abort(400, _("Unknown action: search, export or erase."))
    try:
        email = subject_email(form.get("email", ""))
    except PersonalDataError as refused:
        return _shown(email=form.get("email", ""), found=None, erased=None, errors={"email": _refused(refused)}), 400
    try:
        reason = request_reason(form.get("reason", "")) if action == "erase" else None
    except PersonalDataError as refused:
        found = held(office.sessions, office.clock, _secret(), email)
        return _shown(email=email, found=found, erased=None, errors={"reason": _refused(refused)}), 400
    if action == "export":
        found = export(office.sessions, office.clock, _secret(), email, actor=current_user().name)
        return Response(json.dumps(found, ensure_ascii=False, indent=2, default=str), 200, {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Disposition": f'attachment; filename="donnees-{found["pseudonym"]}.json"'})
    erased = None
    if action == "erase":
        erased = erase(office.sessions, office.clock, _secret(), email, reason=reason or "", actor=current_user().name)
    found = held(office.sessions, office.clock, _secret(), email)
    return _shown(email=email, found=found, erased=erased, errors={})
