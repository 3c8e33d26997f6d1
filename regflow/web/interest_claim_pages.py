"""Finance's page of late-payment interest claims (CCP R2192-36): the open ones (`?show=all`: every one), each
letter as issued, and the waiver with its reason; the same desk as `regflow interest-claims`. In the page's
language (regflow.web.i18n); the statuses stay raw in `data-status`."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from regflow.web.auth import requires
from regflow.web.context import back_office, current_user, pages
from regflow.web.i18n import in_language, percent
from regflow.web.users import Role
from workflow.domain.errors import InterestClaimError
from workflow.domain.interest_claim import WAIVE_REASON_MAX, WAIVE_REASON_MIN
from workflow.ops.interest_claims import InterestClaimDesk


def _desk() -> InterestClaimDesk:
    office = back_office()
    return InterestClaimDesk(office.sessions, office.clock)


@pages.get("/interest-claims")
@requires(Role.FINANCE)
def interest_claims() -> ResponseReturnValue:
    show = "all" if request.args.get("show") == "all" else "open"
    return render_template("interest_claims.html", rows=_desk().listing(open_only=show == "open"), show=show,
                           reason_min=WAIVE_REASON_MIN, reason_max=WAIVE_REASON_MAX, percent=percent)


@pages.get("/interest-claims/<number>.pdf")
@requires(Role.FINANCE)
def interest_claim_letter(number: str) -> ResponseReturnValue:
    try:
        pdf = _desk().letter(number)
    except InterestClaimError:
        abort(404)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="interets-{number}.pdf"'})


@pages.post("/interest-claims/<number>/waive")
@requires(Role.FINANCE)
def waive_interest_claim(number: str) -> ResponseReturnValue:
    try:
        _desk().waive(number, reason=request.form.get("reason", ""), by=current_user().name)
    except InterestClaimError as refused:
        reason = in_language(refused.reason_fr, refused.reason_en)
        flash(_("Waiver refused: %(reason)s", reason=reason))
        return redirect(url_for("backoffice.interest_claims")), 303
    flash(_("Claim %(number)s waived, its reason recorded.", number=number))
    return redirect(url_for("backoffice.interest_claims", show="all")), 303
