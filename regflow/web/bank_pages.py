"""Finance's "Relevés bancaires" (issue #20, point 4): the lines of the imported statements that wait for a person.
A proposed line is confirmed (its payments are then sent as `regflow pay` sends them, after the commit that confirms
it; the broker away, they stay "to send" and the button below sends them) or rejected (kept, with who); the
unmatched lines are listed with why, for finance to record by hand (`Record a payment`). In the page's language
(regflow.web.i18n)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from producers.bank_payments import send_pending
from regflow.web.auth import requires
from regflow.web.context import back_office, current_user, pages
from regflow.web.i18n import in_language
from regflow.web.users import Role
from workflow.domain.bank_matching import MATCHED
from workflow.ops.bank_statements import CONFIRMED, REJECTED, BankLineDecisionError, bank_lines, decide


def _sent_or_kept() -> None:
    office = back_office()
    sent, stopped = send_pending(office.settings, office.sessions, office.clock)
    if stopped:
        flash(ngettext("The broker is away (%(why)s): %(num)s line sent, the others are kept to send.",
                       "The broker is away (%(why)s): %(num)s lines sent, the others are kept to send.", sent,
                       why=stopped))
    elif sent:
        flash(ngettext("%(num)s line sent to the payments consumer.", "%(num)s lines sent to the payments consumer.",
                       sent))


@pages.get("/payments/bank")
@requires(Role.FINANCE)
def bank_statement_lines() -> ResponseReturnValue:
    rows = bank_lines(back_office().sessions)
    return render_template(
        "bank_lines.html", proposed=[r for r in rows if r["outcome"] == "proposed"],
        unmatched=[r for r in rows if r["outcome"] == "unmatched"], to_send=[r for r in rows if r["to_send"]],
        settled=[r for r in rows if r["outcome"] in {MATCHED, CONFIRMED}],
        rejected=[r for r in rows if r["outcome"] == REJECTED])


@pages.post("/payments/bank/<int:line_id>")
@requires(Role.FINANCE)
def decide_bank_line(line_id: int) -> ResponseReturnValue:
    decision = request.form.get("decision", "")
    if decision not in {"confirm", "reject"}:
        abort(400, _("Unknown decision: confirm or reject."))
    office = back_office()
    try:
        decide(office.sessions, office.clock, line_id, confirm=decision == "confirm", by=current_user().name)
    except BankLineDecisionError as exc:
        abort(409, in_language(exc.fr, str(exc)))
    if decision == "confirm":
        flash(_("Line %(id)s confirmed.", id=line_id))
        _sent_or_kept()
    else:
        flash(_("Line %(id)s rejected: record the payment by hand if need be.", id=line_id))
    return redirect(url_for("backoffice.bank_statement_lines"), 303)


@pages.post("/payments/bank/send")
@requires(Role.FINANCE)
def send_bank_payments() -> ResponseReturnValue:
    _sent_or_kept()
    return redirect(url_for("backoffice.bank_statement_lines"), 303)
