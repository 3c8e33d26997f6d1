"""Support's "Données personnelles" (RGPD): search a person by e-mail and see what is held (tables, documents,
registrations, what the law keeps), download it as JSON (the right of access) or erase it with a reason (the right
to erasure), seeing what was pseudonymised and what was kept and why. The same code as `regflow personal-data`
(`workflow.ops.personal_data`), recorded with the user's name. The e-mail goes in the form's body, never in the
address (an address ends up in access logs)."""

from __future__ import annotations

import json

from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from regflow.web.auth import requires
from regflow.web.context import back_office, current_user, pages
from regflow.web.users import Role
from workflow.domain.personal_data import PersonalDataError, request_reason, subject_email
from workflow.ops.personal_data import erase, export, held
from workflow.settings import InsecureSecretError


def _secret() -> str:
    """The pseudonyms' key; unset or weak outside development, the page says so (503) rather than make pseudonyms
    anyone with the default key could recompute."""
    try:
        return back_office().settings.require_secret("personal_data_secret")
    except InsecureSecretError as missing:
        abort(503, f"REGFLOW_PERSONAL_DATA_SECRET manquante ou trop courte. / {missing}")


@pages.get("/donnees-personnelles")
@requires(Role.SUPPORT)
def personal_data() -> ResponseReturnValue:
    return render_template("personal_data.html", email="", found=None, erased=None, errors={})


@pages.post("/donnees-personnelles")
@requires(Role.SUPPORT)
def personal_data_request() -> ResponseReturnValue:
    office, form = back_office(), request.form
    action = form.get("action", "search")
    if action not in {"search", "export", "erase"}:
        abort(400, "Action inconnue : search, export ou erase. / Unknown action.")
    try:
        email = subject_email(form.get("email", ""))
    except PersonalDataError as refused:
        return render_template("personal_data.html", email=form.get("email", ""), found=None, erased=None,
                               errors={"email": str(refused)}), 400
    try:
        reason = request_reason(form.get("reason", "")) if action == "erase" else None
    except PersonalDataError as refused:
        found = held(office.sessions, office.clock, _secret(), email)
        return render_template("personal_data.html", email=email, found=found, erased=None,
                               errors={"reason": str(refused)}), 400
    if action == "export":
        found = export(office.sessions, office.clock, _secret(), email, actor=current_user().name)
        return Response(json.dumps(found, ensure_ascii=False, indent=2, default=str), 200, {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Disposition": f'attachment; filename="donnees-{found["pseudonym"]}.json"'})
    erased = None
    if action == "erase":
        erased = erase(office.sessions, office.clock, _secret(), email, reason=reason or "", actor=current_user().name)
    found = held(office.sessions, office.clock, _secret(), email)
    return render_template("personal_data.html", email=email, found=found, erased=erased, errors={})
