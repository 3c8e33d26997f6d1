"""The attendance sheet on the back office ("Feuilles d'émargement"): trainers correct and sign it, operations
read it. Signing is service fait: once the signature is committed, the page sends `cmd.session.hold` (the
payments consumer reads the signed sheet itself); if the broker does not confirm, the page says so and offers
to send it again (the command is idempotent: a session is held once)."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from producers.commands import CommandClient
from regflow.web.auth import requires
from regflow.web.catalogue_pages import session_state
from regflow.web.context import BROKER_ERRORS, back_office, current_user, not_sent, pages
from regflow.web.i18n import in_language
from regflow.web.users import Role
from workflow.adapters.attendance_report import ReportError
from workflow.adapters.evidence_pdf import render_evidence
from workflow.domain.attendance_sheet import SheetError
from workflow.ops.attendance_sheet import SheetDesk, signed_sessions
from workflow.ops.catalogue import CatalogueDesk
from workflow.ops.evidence import EvidencePack

PRESENCE_NAMES = {"present": _l("present"), "partial": _l("partial"), "absent": _l("absent")}
PRESENCES = tuple(PRESENCE_NAMES.items())
MAX_FIELDS = 2 * 10_000 * 2 + 20  # two fields per participant and half-day, at most: a bigger form is refused


def _desk() -> SheetDesk:
    office = back_office()
    return SheetDesk(office.sessions, office.clock, office.schedule, office.settings.attendance_present_minutes)


@pages.get("/feuilles")
@requires(Role.TRAINER, Role.OPERATIONS)
def sheets() -> ResponseReturnValue:
    """Operations see every session; a trainer the sessions that name them (or nobody yet)."""
    office, user = back_office(), current_user()
    signed = signed_sessions(office.sessions)
    listing = [s for s in CatalogueDesk(office.sessions, office.clock, office.schedule).listing()
               if user.can(Role.OPERATIONS) or user.trains(s["trainer"])]
    return render_template("sheets.html", sessions=sorted(listing, key=lambda s: s["date"], reverse=True),
                           signed=signed, session_state=session_state)


@pages.get("/feuilles/<session_id>")
@requires(Role.TRAINER, Role.OPERATIONS)
def sheet(session_id: str) -> ResponseReturnValue:
    return _page(session_id, {}, 200)


def _page(session_id: str, errors: dict[str, str], status: int) -> ResponseReturnValue:
    try:
        shown = _desk().sheet(session_id)
    except ReportError:
        return _no_session(session_id)
    user = current_user()
    if not (user.can(Role.OPERATIONS) or user.trains(shown["trainer"])):
        return _another_trainer()
    return render_template("sheet.html", sheet=shown, errors=errors, presences=PRESENCES,
                           presence_names=PRESENCE_NAMES, can_sign=user.trains(shown["trainer"]),
                           signer=user.full_name or ""), status


def _no_session(session_id: str) -> ResponseReturnValue:
    return render_template("error.html", code=404, message=_("No session %(id)s.", id=session_id[:100])), 404


def _another_trainer() -> ResponseReturnValue:
    return render_template("error.html", code=403, message=_("This session has another trainer.")), 403


def _refused(refused: SheetError) -> str:
    return in_language(refused.reason_fr or str(refused), str(refused))


@pages.post("/feuilles/<session_id>")
@requires(Role.TRAINER)
def change_sheet(session_id: str) -> ResponseReturnValue:
    """action=save: the corrections; sign: the corrections then the signature, then service fait; send: service
    fait again, for a signed sheet whose command the broker did not confirm."""
    action, desk = request.form.get("action", ""), _desk()
    try:
        if not current_user().trains(desk.sheet(session_id)["trainer"]):
            return render_template("error.html", code=403,
                                   message=_("Only the session's trainer signs its sheet.")), 403
        if action not in ("save", "sign", "send") or len(request.form) > MAX_FIELDS:
            return _page(session_id, {"_": _("unknown action: %(action)s", action=repr(action[:40]))}, 400)
        answered = _correct_then_sign(desk, session_id, action)
    except ReportError:
        return _page(session_id, {}, 404)
    except SheetError as refused:
        return _page(session_id, {"_": _refused(refused)}, 400)
    return answered or _send_service_fait(session_id)


def _correct_then_sign(desk: SheetDesk, session_id: str, action: str) -> ResponseReturnValue | None:
    """The page to show after a save or a refused mark; None once signed (or to send again): service fait next."""
    user = current_user()
    if action in ("save", "sign"):
        errors = desk.correct(session_id, _marks(), by=user.name)
        if errors:
            return _page(session_id, {"_": _("Nothing was saved: correct the fields pointed out."), **errors}, 400)
    if action == "save":
        flash(_("Corrections saved. The sheet is not signed yet."))
        return redirect(url_for("backoffice.sheet", session_id=session_id))
    if action == "sign":
        desk.sign(session_id, signer=request.form.get("signer_name", ""), attested=request.form.get("attest") == "yes",
                  by=user.name)
    return None


def _send_service_fait(session_id: str) -> ResponseReturnValue:
    office, desk = back_office(), _desk()
    shown = desk.sheet(session_id)
    if shown["signed"] is None:
        return _page(session_id, {"_": _("The sheet is not signed: service fait waits for its signature.")}, 400)
    try:
        with CommandClient(office.settings, producer="trainer") as client:
            sent = client.hold_session(session_id, desk.parts(shown)[0].start.date(), requested_by=current_user().name)
    except BROKER_ERRORS as exc:
        flash(_("Sheet signed. Service fait could not be sent: use “Send service fait”. %(why)s", why=not_sent(exc)))
        return redirect(url_for("backoffice.sheet", session_id=session_id)), 303
    flash(_("Sheet signed: service fait is sent (the invoiced registrations move to “session held”)."))
    return redirect(url_for("backoffice.command_decision", kind="hold", command_id=str(sent.event_id)))


def _marks() -> dict[tuple[str, int], tuple[str, int | None]]:
    """The form's `presence:<access>:<part>` and `minutes:<access>:<part>` fields (anything else is ignored)."""
    found: dict[tuple[str, int], tuple[str, int | None]] = {}
    for name, value in request.form.items():
        kind, _, rest = name.partition(":")
        access, _, part = rest.rpartition(":")
        if kind != "presence" or not access or not part.isdigit() or len(part) > 2:
            continue
        found[(access, int(part))] = (value, _minutes(request.form.get(f"minutes:{access}:{part}", "")))
    return found


def _minutes(value: str) -> int | None:
    """Blank: none given; not a whole number (or absurdly long): -1, which every presence refuses by its range."""
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) <= 5 else -1


@pages.get("/feuilles/<session_id>/dossier.<kind>")
@requires(Role.TRAINER, Role.OPERATIONS, Role.FINANCE)
def evidence(session_id: str, kind: str) -> ResponseReturnValue:
    """The session's evidence pack, as a PDF or as its data (JSON): for operations, finance (a funder or a public
    accountant asks for it) and the session's trainer."""
    if kind not in ("pdf", "json"):
        return render_template("error.html", code=404, message=_("Unknown format: pdf or json.")), 404
    user = current_user()
    try:
        pack = EvidencePack(_desk()).data(session_id)
    except ReportError:
        return _no_session(session_id)
    if not (user.can(Role.OPERATIONS) or user.can(Role.FINANCE) or user.trains(pack["trainer"])):
        return _another_trainer()
    if kind == "json":
        return Response(json.dumps(pack, ensure_ascii=False, indent=2), 200,
                        {"Content-Type": "application/json; charset=utf-8"})
    return Response(render_evidence(pack), 200, {
        "Content-Type": "application/pdf",
        "Content-Disposition": f'attachment; filename="dossier-de-preuves-{session_id}.pdf"'})
