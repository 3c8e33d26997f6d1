"""Finance's "Relevés bancaires" (issue #20, point 4): the lines of the imported statements that wait for a person.
A proposed line is confirmed (its payments are then sent as `regflow pay` sends them, after the commit that confirms
it; the broker away, they stay "à envoyer" and the button below sends them) or rejected (kept, with who); the
unmatched lines are listed with why, for finance to record by hand (`Record a payment`)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from producers.bank_payments import send_pending
from regflow.web.auth import requires
from regflow.web.context import back_office, current_user, pages
from regflow.web.users import Role
from workflow.domain.bank_matching import MATCHED
from workflow.ops.bank_statements import CONFIRMED, REJECTED, BankLineDecisionError, bank_lines, decide


def _sent_or_kept() -> None:
    office = back_office()
    sent, stopped = send_pending(office.settings, office.sessions, office.clock)
    if stopped:
        flash(f"Courtier injoignable : {sent} ligne(s) envoyée(s), les autres restent à envoyer. / The broker is away "
              f"({stopped}): the payments are kept to send.")
    elif sent:
        flash(f"{sent} ligne(s) envoyée(s) au consommateur des paiements. / {sent} line(s) sent to the payments "
              "consumer.")


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
        abort(400, "Décision inconnue : confirm ou reject. / Unknown decision.")
    office = back_office()
    try:
        decide(office.sessions, office.clock, line_id, confirm=decision == "confirm", by=current_user().name)
    except BankLineDecisionError as exc:
        abort(409, f"{exc.fr} / {exc}")
    if decision == "confirm":
        flash(f"Ligne {line_id} confirmée. / Line {line_id} confirmed.")
        _sent_or_kept()
    else:
        flash(f"Ligne {line_id} rejetée : enregistrez le paiement à la main si besoin. / Line {line_id} rejected.")
    return redirect(url_for("backoffice.bank_statement_lines"), 303)


@pages.post("/payments/bank/send")
@requires(Role.FINANCE)
def send_bank_payments() -> ResponseReturnValue:
    _sent_or_kept()
    return redirect(url_for("backoffice.bank_statement_lines"), 303)
