"""The back office's pages: each parses its form, calls the same code as the command line
(`producers.commands.CommandClient` to publish, `workflow.persistence.views` to read) and renders a template."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from producers.commands import CommandClient
from regflow.web.auth import requires
from regflow.web.context import (
    BROKER_ERRORS,
    back_office,
    catalogue_sessions,
    current_user,
    field_errors,
    not_sent,
    pages,
    spreadsheet,
)
from regflow.web.i18n import amount_typed, day, euros
from regflow.web.users import Role
from schemas.form import Participant
from schemas.messages import HoldSession, RecordPayment
from workflow.domain.clock import PARIS
from workflow.domain.machine import State
from workflow.domain.payment_rules import paris_date
from workflow.persistence.decisions import wait_for_decision
from workflow.persistence.views import (
    SEARCH_MAX,
    decision_on,
    invoice_list,
    payment_list,
    registration_list,
    registration_of_invoice,
    registration_participants,
    registration_timeline,
)

# --- reading: everyone ------------------------------------------------------------------------------------


@pages.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("backoffice.registrations"))


def _registration_rows() -> tuple[list[dict[str, Any]], str | None, str | None, str, str | None]:
    """The list as the query string narrows it: `state`, `session`, `q` (a search); an unknown state is said."""
    state = request.args.get("state") or None
    session_id = request.args.get("session") or None
    search = (request.args.get("q") or "")[:SEARCH_MAX]
    error = None
    if state is not None and state not in {s.value for s in State}:
        error, state = _("Unknown state: %(state)s", state=repr(state[:40])), None
    rows = registration_list(back_office().sessions, state=state, session_id=session_id, search=search)
    return rows, state, session_id, search, error


@pages.get("/registrations")
def registrations() -> ResponseReturnValue:
    rows, state, session_id, search, error = _registration_rows()
    session_ids = [s["id"] for s in catalogue_sessions(back_office().catalogue())]
    return render_template("registrations.html", rows=rows, state=state, session_id=session_id, search=search,
                           error=error, states=[s.value for s in State], session_ids=session_ids)


REGISTRATION_CSV = (("id", "Inscription"), ("state", "État"), ("session_id", "Séance"), ("client", "Client"),
                    ("participants", "Participants"), ("updated_at", "Dernier changement"))


@pages.get("/registrations.csv")
def registrations_csv() -> ResponseReturnValue:
    """The list as shown (same filters), for a spreadsheet: `;` separated, UTF-8 with its BOM, formula-safe."""
    rows = _registration_rows()[0]
    return spreadsheet([label for _, label in REGISTRATION_CSV],
                       ([row[key] for key, _ in REGISTRATION_CSV] for row in rows), "inscriptions.csv")


@pages.get("/registrations/<registration_id>")
def timeline(registration_id: str) -> ResponseReturnValue:
    return _timeline_page(registration_id, form={}, errors={})


def _timeline_page(registration_id: str, *, form: dict[str, str], errors: dict[str, str], status: int = 200
                   ) -> ResponseReturnValue:
    office = back_office()
    view = registration_timeline(office.sessions, registration_id)
    if view is None:
        abort(404, _("No registration %(id)s.", id=registration_id))
    return render_template("timeline.html", view=view, form=form, errors=errors,
                           participants=registration_participants(office.sessions, registration_id)), status


# --- support: replace a participant -----------------------------------------------------------------------


@pages.post("/registrations/<registration_id>/replace")
@requires(Role.SUPPORT)
def replace_participant(registration_id: str) -> ResponseReturnValue:
    """Publish the request as `regflow replace-participant` does, then show validation's decision."""
    form = {k: request.form.get(k, "").strip() for k in ("replaced", "civilite", "first_name", "last_name", "email")}
    labels = {"replaced": _("Participant replaced"), "civilite": _("Civilité"), "first_name": _("First name"),
              "last_name": _("Last name"), "email": _("E-mail")}
    if registration_timeline(back_office().sessions, registration_id) is None:
        abort(404, _("No registration %(id)s.", id=registration_id))
    errors = {k: _("%(field)s: required", field=labels[k]) for k, v in form.items() if not v}
    registered = {p["email"].lower() for p in registration_participants(back_office().sessions, registration_id)}
    if form["replaced"] and form["replaced"].lower() not in registered:
        errors["replaced"] = _("Participant replaced: not a participant of this registration")
    if form["civilite"] and form["civilite"] not in ("Mme", "M."):
        errors["civilite"] = _("Civilité: Mme or M.")
    if errors:
        return _timeline_page(registration_id, form=form, errors=errors, status=400)
    replacement = Participant(civilite=form["civilite"], first_name=form["first_name"],
                              last_name=form["last_name"], email=form["email"])
    try:
        with CommandClient(back_office().settings, producer="support") as client:
            sent = client.replace_participant(registration_id, form["replaced"], replacement,
                                              requested_by=current_user().name)
    except BROKER_ERRORS as exc:
        return _timeline_page(registration_id, form=form, errors={"_": not_sent(exc)}, status=503)
    return redirect(url_for("backoffice.decision", registration_id=registration_id, event_id=str(sent.event_id)))


@pages.get("/registrations/<registration_id>/requests/<event_id>")
def decision(registration_id: str, event_id: str) -> ResponseReturnValue:
    """What became of a request: applied, refused with the reason, or still in flight (as the CLI's --wait)."""
    office = back_office()
    deadline = time.monotonic() + office.decision_wait_seconds
    found = decision_on(office.sessions, registration_id, event_id)
    while found is None and time.monotonic() < deadline:
        time.sleep(0.2)
        found = decision_on(office.sessions, registration_id, event_id)
    outcome, reason = found or ("pending", "")
    return render_template("decision.html", registration_id=registration_id, event_id=event_id, outcome=outcome,
                           reason=reason), 202 if found is None else 200


COMMAND_PAGES = {  # what a command page says, and where it leads back to
    "hold": (_l("Session held (service fait)"), "backoffice.registrations"),
    "payment": (_l("Payment received"), "backoffice.invoices"),
}


@pages.get("/requests/<kind>/<command_id>")
def command_decision(kind: str, command_id: str) -> ResponseReturnValue:
    """What became of a command sent from the page: accepted, refused with its reason in French and English, or
    still in flight (the page then asks again every 2 s), as the command line waits for it."""
    if kind not in COMMAND_PAGES:
        abort(404)
    office = back_office()
    found = wait_for_decision(office.sessions, command_id, office.decision_wait_seconds)
    outcome = found.outcome if found else "pending"
    what, back = COMMAND_PAGES[kind]
    return render_template("command_decision.html", kind=kind, command_id=command_id, decision=found,
                           outcome=outcome, what=what, back=url_for(back)), 202 if found is None else 200


# --- operations: session held, queues ----------------------------------------------------------------------


@pages.route("/sessions/held", methods=["GET", "POST"])
@requires(Role.OPERATIONS)
def hold_session() -> ResponseReturnValue:
    """Service fait for a session: the same command as `regflow hold-session --by <user>`."""
    office = back_office()
    sessions = catalogue_sessions(office.catalogue())
    if request.method == "GET":
        return render_template("hold_session.html", sessions=sessions, form={}, errors={})
    form = {k: request.form.get(k, "").strip() for k in ("session_id", "held_on", "absent_emails", "reason")}
    errors = {}
    if form["session_id"] not in {s["id"] for s in sessions}:
        errors["session_id"] = _("Session: choose one of the catalogue's sessions")
    absent = [e.strip() for e in form["absent_emails"].replace(",", "\n").splitlines() if e.strip()]
    try:
        command = HoldSession.model_validate({"session_id": form["session_id"], "held_on": form["held_on"],
                                              "absent_emails": absent, "requested_by": current_user().name,
                                              "reason": form["reason"] or None})
    except ValidationError as exc:
        errors.update(field_errors(exc, {"held_on": _("Held on"), "absent_emails": _("Absent participants"),
                                         "reason": _("Reason")}))
    if errors:
        return render_template("hold_session.html", sessions=sessions, form=form, errors=errors), 400
    try:
        with CommandClient(office.settings, producer="operations") as client:
            sent = client.hold_session(command.session_id, command.held_on, command.absent_emails,
                                       requested_by=command.requested_by, reason=command.reason)
    except BROKER_ERRORS as exc:
        return render_template("hold_session.html", sessions=sessions, form=form,
                               errors={"_": not_sent(exc)}), 503
    flash(_("Session %(id)s recorded as held on %(day)s: the payments consumer moves its invoiced registrations to "
            "“session held” (or “paid”).", id=command.session_id, day=day(command.held_on)))
    try:
        found = wait_for_decision(office.sessions, str(sent.event_id), office.decision_wait_seconds)
    except SQLAlchemyError:
        found = None
    if found is None or not found.accepted:  # refused, or not decided yet: the answer is shown, not assumed
        return redirect(url_for("backoffice.command_decision", kind="hold", command_id=str(sent.event_id)))
    return redirect(url_for("backoffice.registrations", session=command.session_id))


@pages.get("/queues")
@requires(Role.OPERATIONS)
def queues() -> ResponseReturnValue:
    """Queue depths, consumers connected, dead letters, outbox backlog: `workflow.ops.status`, as the CLI shows it."""
    from workflow.ops.status import format_age, status_of

    office = back_office()
    status = status_of(office.settings, office.sessions, office.clock, office.schedule)
    checked_at = datetime.fromisoformat(status["checked_at"]).astimezone(PARIS)
    return render_template("queues.html", status=status, format_age=format_age,
                           checked_at=checked_at)


# --- finance: payments, invoices --------------------------------------------------------------------------


PAYMENT_FIELDS = ("payment_id", "invoice_number", "amount", "received_on", "payer", "means")
PAYMENT_LABELS = {"payment_id": _l("Payment id"), "invoice_number": _l("Invoice"), "amount": _l("Amount"),
                  "received_on": _l("Received on"), "payer": _l("Payer"), "means": _l("Means")}
PAYMENT_MEANS = ["transfer", "mandat_administratif", "cheque", "card", "other"]


@pages.route("/payments/new", methods=["GET", "POST"])
@requires(Role.FINANCE)
def record_payment() -> ResponseReturnValue:
    """A payment received: the same command as `regflow pay --by <user>`."""
    office = back_office()
    if request.method == "GET":
        return render_template("payment.html", form={"invoice_number": request.args.get("invoice", "")},
                               errors={}, means=PAYMENT_MEANS)
    form = {k: request.form.get(k, "").strip() for k in PAYMENT_FIELDS}
    typed = {**form, "amount": amount_typed(form["amount"]) if form["amount"] else ""}  # 1 190,00 → 1190.00
    errors = {k: _("%(field)s: required", field=PAYMENT_LABELS[k])
              for k in ("payment_id", "amount", "received_on") if not form[k]}
    try:
        payment = RecordPayment.model_validate({**{k: v or None for k, v in typed.items()},
                                                "requested_by": current_user().name})
    except ValidationError as exc:
        errors = {**field_errors(exc, PAYMENT_LABELS), **errors}
    if errors:
        return render_template("payment.html", form=form, errors=errors, means=PAYMENT_MEANS), 400
    try:
        with CommandClient(office.settings, producer="finance") as client:
            sent = client.record_payment(payment_id=payment.payment_id, invoice_number=payment.invoice_number,
                                         amount=payment.amount, received_on=payment.received_on, payer=payment.payer,
                                         means=payment.means, requested_by=payment.requested_by)
    except BROKER_ERRORS as exc:
        return render_template("payment.html", form=form, errors={"_": not_sent(exc)}, means=PAYMENT_MEANS), 503
    flash(_("Payment %(id)s of %(amount)s sent: the payments consumer records it.", id=payment.payment_id,
            amount=euros(payment.amount)))
    try:
        found = wait_for_decision(office.sessions, str(sent.event_id), office.decision_wait_seconds)
    except SQLAlchemyError:
        found = None
    if found is None or not found.accepted:
        return redirect(url_for("backoffice.command_decision", kind="payment", command_id=str(sent.event_id)))
    try:
        registration_id = registration_of_invoice(office.sessions, payment.invoice_number)
    except SQLAlchemyError:  # sent all the same: the list says so, and the payment must not be entered again
        registration_id = None
    if registration_id is not None:
        return redirect(url_for("backoffice.timeline", registration_id=registration_id))
    return redirect(url_for("backoffice.invoices", show="all"))


@pages.get("/invoices")
@requires(Role.FINANCE)
def invoices() -> ResponseReturnValue:
    """Overdue invoices by default (`show=all`: every invoice), from `invoice_list` as `regflow invoices`."""
    office = back_office()
    show = request.args.get("show", "overdue")
    rows = invoice_list(office.sessions, paris_date(office.clock.now()))
    if show != "all":
        rows = [r for r in rows if r["days_overdue"] > 0]
    return render_template("invoices.html", rows=rows, show=show)


@pages.get("/payments")
@requires(Role.FINANCE)
def payments() -> ResponseReturnValue:
    """Payments received (`anomalies=1`: only those finance must look at), from `payment_list` as
    `regflow payments`; each links to its registration when its invoice is known."""
    anomalies_only = bool(request.args.get("anomalies"))
    rows = payment_list(back_office().sessions, anomalies_only=anomalies_only)
    return render_template("payments.html", rows=rows, anomalies_only=anomalies_only)
