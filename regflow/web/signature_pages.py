"""Support's "signatures to check" (issue #19): the scans of signed forms sent back on the tracking page. Support
opens the scan, checks the stamp and the signature, and either accepts it — writing what the form says (Fait à,
le, par): the acceptance is committed, then `cmd.registration.sign` goes out (method: stamp); the broker away, the
acceptance is undone and the page says so — or refuses it with a reason the gestionnaire reads on the tracking
page, where another scan can be sent."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlalchemy import select

from producers.commands import CommandClient
from regflow.web.auth import requires
from regflow.web.context import BROKER_ERRORS, back_office, current_user, not_sent, pages
from regflow.web.users import Role
from schemas.form import Signature, SignatureMethod
from schemas.limits import FIELD_MAX_LENGTH, MAX_REASON_LENGTH
from workflow.domain.scans import ACCEPTED, EXTENSIONS, REFUSED, TO_CHECK
from workflow.persistence.orm import RegistrationRow, SignatureScanRow


def _to_check() -> list[dict[str, object]]:
    with back_office().sessions() as session:
        rows = session.execute(
            select(SignatureScanRow.id, SignatureScanRow.registration_id, SignatureScanRow.media_type,
                   SignatureScanRow.size, SignatureScanRow.uploaded_at, RegistrationRow.client_name,
                   RegistrationRow.session_id, RegistrationRow.state)
            .outerjoin(RegistrationRow, RegistrationRow.id == SignatureScanRow.registration_id)
            .where(SignatureScanRow.status == TO_CHECK).order_by(SignatureScanRow.uploaded_at)).all()
    return [row._asdict() for row in rows]


@pages.get("/signatures")
@requires(Role.SUPPORT)
def signatures(errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("signatures.html", scans=_to_check(), errors=errors or {}, form=request.form,
                           today=date.today().isoformat()), status


@pages.get("/signatures/<int:scan_id>/scan")
@requires(Role.SUPPORT)
def scan_file(scan_id: int) -> ResponseReturnValue:
    """The scan as uploaded, under its sniffed type, sandboxed: a PDF's scripts and links do nothing here."""
    with back_office().sessions() as session:
        scan = session.get(SignatureScanRow, scan_id)
        if scan is None:
            abort(404, _("Unknown scan."))
        return Response(scan.content, 200, {
            "Content-Type": scan.media_type, "Content-Security-Policy": "sandbox; default-src 'none'",
            "Content-Disposition": f'inline; filename="scan-{scan.registration_id}.{EXTENSIONS[scan.media_type]}"'})


@pages.post("/signatures/<int:scan_id>")
@requires(Role.SUPPORT)
def check_scan(scan_id: int) -> ResponseReturnValue:
    office, form = back_office(), request.form
    decision = form.get("decision", "")
    if decision == "refuse":
        reason = form.get("reason", "").strip()
        if not reason or len(reason) > MAX_REASON_LENGTH:
            return signatures({f"reason-{scan_id}": _("A reason is required, %(n)s characters at most.",
                                                      n=MAX_REASON_LENGTH)}, 400)
        if not _decide(scan_id, REFUSED, reason):
            abort(409, _("This scan was already checked."))
        flash(_("Scan refused: the gestionnaire reads the reason on their tracking page and can upload another."))
        return redirect(url_for("backoffice.signatures"), 303)
    if decision != "accept":
        abort(400, _("Unknown decision: accept or refuse."))
    try:
        signature = Signature(place=_field(form, "place", "signature.place"),
                              signed_on=date.fromisoformat(form.get("signed_on", "")),
                              signatory=_field(form, "signatory", "signature.signatory"), method=SignatureMethod.STAMP)
    except (ValueError, ValidationError):
        return signatures({f"accept-{scan_id}": _("Place, date (YYYY-MM-DD) and signatory, as written on the form.")},
                          400)
    registration_id = _decide(scan_id, ACCEPTED, None)
    if not registration_id:
        abort(409, _("This scan was already checked."))
    try:
        with CommandClient(office.settings, producer="support") as client:
            client.record_signature(registration_id, signature)
    except BROKER_ERRORS as exc:
        _decide(scan_id, TO_CHECK, None, undo=True)
        return signatures({f"accept-{scan_id}": not_sent(exc)}, 503)
    flash(_("Signature accepted: the signature of %(id)s is sent, the registration will be confirmed.",
            id=registration_id))
    return redirect(url_for("backoffice.timeline", registration_id=registration_id), 303)


def _field(form: object, name: str, path: str) -> str:
    value = str(form.get(name, "")).strip()  # type: ignore[attr-defined]
    if not value or len(value) > FIELD_MAX_LENGTH[path]:
        raise ValueError(path)
    return value


def _decide(scan_id: int, status: str, reason: str | None, *, undo: bool = False) -> str | None:
    """The scan's check, committed: its registration's id, or None when it was not to check (already decided)."""
    office = back_office()
    with office.sessions() as session:
        scan = session.scalars(select(SignatureScanRow).where(SignatureScanRow.id == scan_id).with_for_update()
                               ).one_or_none()
        if scan is None or (scan.status != TO_CHECK and not undo):
            return None
        scan.status, scan.reason = status, reason
        scan.checked_by = None if undo else current_user().name
        scan.checked_at = None if undo else office.clock.now()
        session.commit()
        return scan.registration_id
