"""The back-office page: support, finance and operations in a browser.

Thin on purpose: a route parses its form, calls the same code as the command line
(`producers.commands.CommandClient` to publish, `workflow.views` to read) and renders a template.
Flask fits the code it calls: synchronous SQLAlchemy sessions and a pika BlockingConnection per
request, served by waitress's threads (`regflow web`).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec
from urllib.parse import urlsplit

import pika.exceptions
from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from producers.commands import CommandClient, MessageTooLargeError
from regflow.web.users import Role, UserStore, WebUser
from schemas.form import Participant
from schemas.messages import HoldSession, RecordPayment
from workflow.catalogue import Catalogue, load_catalogue
from workflow.clock import PARIS, Clock, clock_from_spec
from workflow.db import make_engine, session_factory
from workflow.machine import State
from workflow.payment_rules import paris_date
from workflow.settings import Settings
from workflow.views import (
    decision_on,
    invoice_list,
    payment_list,
    registration_list,
    registration_of_invoice,
    registration_participants,
    registration_timeline,
)

log = logging.getLogger(__name__)
P = ParamSpec("P")
pages = Blueprint("backoffice", __name__)
PUBLIC_ENDPOINTS = {"backoffice.login", "static"}
BROKER_ERRORS = (pika.exceptions.AMQPError, OSError, MessageTooLargeError)


@dataclass(frozen=True)
class BackOffice:
    """What every route needs, built once per process."""

    settings: Settings
    sessions: sessionmaker[Session]
    users: UserStore
    catalogue: Catalogue
    clock: Clock
    decision_wait_seconds: float


def create_app(settings: Settings, *, decision_wait_seconds: float = 3.0) -> Flask:
    """The WSGI application. `decision_wait_seconds`: how long a request waits for validation's answer to a
    replacement before showing it as still in flight (that page then reloads itself every 2 s): short, so
    that a few people waiting do not hold every server thread."""
    app = Flask(__name__)
    if settings.web_secret is not None and not settings.web_secret.get_secret_value():
        settings = settings.model_copy(update={"web_secret": None})  # compose's REGFLOW_WEB_SECRET= (empty)
    if settings.web_secret is None:
        log.warning("REGFLOW_WEB_SECRET is not set: a random key signs the cookies, logins end at each restart")
    app.config.update(
        SECRET_KEY=settings.web_secret.get_secret_value() if settings.web_secret else secrets.token_urlsafe(32),
        SESSION_COOKIE_NAME="regflow_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10), MAX_CONTENT_LENGTH=64 * 1024)
    app.extensions["regflow"] = BackOffice(
        settings=settings, sessions=session_factory(make_engine(settings.database_url)),
        users=UserStore(settings.web_users_file), catalogue=load_catalogue(settings.catalogue_path),
        clock=clock_from_spec(settings.clock), decision_wait_seconds=decision_wait_seconds)
    app.register_blueprint(pages)
    app.after_request(_security_headers)
    return app


def _office() -> BackOffice:
    office: BackOffice = current_app.extensions["regflow"]
    return office


def _user() -> WebUser:
    user: WebUser = g.user
    return user


def _security_headers(response: Any) -> Any:
    response.headers["Content-Security-Policy"] = ("default-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                                   "base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- login, CSRF, roles ---------------------------------------------------------------------------------


@pages.before_app_request
def _authenticate_and_check_csrf() -> ResponseReturnValue | None:
    """Every page but the login needs a user; every POST carries the session's CSRF token."""
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
            abort(400, "The form's security token is missing or out of date: reload the page and send it again.")
    g.user = _office().users.get(session["user"]) if "user" in session else None
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        session.pop("user", None)
        return redirect(url_for("backoffice.login", next=request.full_path.rstrip("?")))
    return None


@pages.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": _csrf_token, "user": g.get("user"), "Role": Role}


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


def requires(role: Role) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Only users holding `role` get past: the others get 403, whatever URL they type."""
    def decorate(route: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @wraps(route)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            if not _user().can(role):
                abort(403, f"This needs the {role} role.")
            return route(*args, **kwargs)
        return guarded
    return decorate


@pages.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", error=None, name="")
    name = request.form.get("name", "").strip()
    user = _office().users.authenticate(name, request.form.get("password", ""))
    if user is None:
        log.warning("back office: failed login for %r", name)
        return render_template("login.html", error="Wrong name or password.", name=name), 401
    session.clear()  # nothing from before the login survives it, a new CSRF token included
    session.permanent = True
    session["user"] = user.name
    return redirect(_local_path(request.args.get("next", "")) or url_for("backoffice.registrations"))


def _local_path(target: str) -> str | None:
    """`target` if it is a path of this site, else None: no scheme, no host, no backslash and no control
    character (browsers and werkzeug drop tabs and newlines: "/", a tab, "/evil.example" becomes "//evil.example")."""
    if not target.startswith("/") or any(ord(c) < 0x20 or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    return target if not (parts.scheme or parts.netloc) and not target.startswith("//") else None


@pages.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("backoffice.login"))


# --- reading: everyone ------------------------------------------------------------------------------------


@pages.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("backoffice.registrations"))


@pages.get("/registrations")
def registrations() -> ResponseReturnValue:
    office = _office()
    state = request.args.get("state") or None
    session_id = request.args.get("session") or None
    error = None
    if state is not None and state not in {s.value for s in State}:
        error, state = f"state: unknown state {state!r}", None
    rows = registration_list(office.sessions, state=state, session_id=session_id)
    return render_template("registrations.html", rows=rows, state=state, session_id=session_id, error=error,
                           states=[s.value for s in State], session_ids=_session_ids(office.catalogue))


@pages.get("/registrations/<registration_id>")
def timeline(registration_id: str) -> ResponseReturnValue:
    return _timeline_page(registration_id, form={}, errors={})


def _timeline_page(registration_id: str, *, form: dict[str, str], errors: dict[str, str], status: int = 200
                   ) -> ResponseReturnValue:
    office = _office()
    view = registration_timeline(office.sessions, registration_id)
    if view is None:
        abort(404, f"No registration {registration_id}.")
    return render_template("timeline.html", view=view, form=form, errors=errors,
                           participants=registration_participants(office.sessions, registration_id)), status


# --- support: replace a participant -----------------------------------------------------------------------


@pages.post("/registrations/<registration_id>/replace")
@requires(Role.SUPPORT)
def replace_participant(registration_id: str) -> ResponseReturnValue:
    """Publish the request as `regflow replace-participant` does, then show validation's decision."""
    form = {k: request.form.get(k, "").strip() for k in ("replaced", "civilite", "first_name", "last_name", "email")}
    labels = {"replaced": "participant replaced", "civilite": "civilité", "first_name": "first name",
              "last_name": "last name", "email": "e-mail"}
    if registration_timeline(_office().sessions, registration_id) is None:
        abort(404, f"No registration {registration_id}.")
    errors = {k: f"{labels[k]}: required" for k, v in form.items() if not v}
    registered = {p["email"].lower() for p in registration_participants(_office().sessions, registration_id)}
    if form["replaced"] and form["replaced"].lower() not in registered:
        errors["replaced"] = "participant replaced: not a participant of this registration"
    if form["civilite"] and form["civilite"] not in ("Mme", "M."):
        errors["civilite"] = "civilité: Mme or M."
    if errors:
        return _timeline_page(registration_id, form=form, errors=errors, status=400)
    replacement = Participant(civilite=form["civilite"], first_name=form["first_name"],
                              last_name=form["last_name"], email=form["email"])
    try:
        with CommandClient(_office().settings, producer="support") as client:
            sent = client.replace_participant(registration_id, form["replaced"], replacement,
                                              requested_by=_user().name)
    except BROKER_ERRORS as exc:
        return _timeline_page(registration_id, form=form, errors={"_": _not_sent(exc)}, status=503)
    return redirect(url_for("backoffice.decision", registration_id=registration_id, event_id=str(sent.event_id)))


@pages.get("/registrations/<registration_id>/requests/<event_id>")
def decision(registration_id: str, event_id: str) -> ResponseReturnValue:
    """What became of a request: applied, refused with the reason, or still in flight (as the CLI's --wait)."""
    office = _office()
    deadline = time.monotonic() + office.decision_wait_seconds
    found = decision_on(office.sessions, registration_id, event_id)
    while found is None and time.monotonic() < deadline:
        time.sleep(0.2)
        found = decision_on(office.sessions, registration_id, event_id)
    outcome, reason = found or ("pending", "")
    return render_template("decision.html", registration_id=registration_id, event_id=event_id, outcome=outcome,
                           reason=reason), 202 if found is None else 200


# --- operations: session held, queues ----------------------------------------------------------------------


@pages.route("/sessions/held", methods=["GET", "POST"])
@requires(Role.OPERATIONS)
def hold_session() -> ResponseReturnValue:
    """Service fait for a session: the same command as `regflow hold-session --by <user>`."""
    office = _office()
    sessions = _sessions(office.catalogue)
    if request.method == "GET":
        return render_template("hold_session.html", sessions=sessions, form={}, errors={})
    form = {k: request.form.get(k, "").strip() for k in ("session_id", "held_on", "absent_emails")}
    errors = {}
    if form["session_id"] not in {s["id"] for s in sessions}:
        errors["session_id"] = "session: choose one of the catalogue's sessions"
    absent = [e.strip() for e in form["absent_emails"].replace(",", "\n").splitlines() if e.strip()]
    try:
        command = HoldSession.model_validate({"session_id": form["session_id"], "held_on": form["held_on"],
                                              "absent_emails": absent, "requested_by": _user().name})
    except ValidationError as exc:
        errors.update(_field_errors(exc, {"held_on": "held on", "absent_emails": "absent participants"}))
    if errors:
        return render_template("hold_session.html", sessions=sessions, form=form, errors=errors), 400
    try:
        with CommandClient(office.settings, producer="operations") as client:
            client.hold_session(command.session_id, command.held_on, command.absent_emails,
                                requested_by=command.requested_by)
    except BROKER_ERRORS as exc:
        return render_template("hold_session.html", sessions=sessions, form=form,
                               errors={"_": _not_sent(exc)}), 503
    flash(f"Session {command.session_id} recorded as held on {command.held_on}: the payments consumer moves its "
          f"invoiced registrations to 'session held' (or 'paid').")
    return redirect(url_for("backoffice.registrations", session=command.session_id))


@pages.get("/queues")
@requires(Role.OPERATIONS)
def queues() -> ResponseReturnValue:
    """Queue depths, consumers connected, dead letters, outbox backlog: `workflow.status`, as the CLI shows it."""
    from workflow.status import format_age, status_of

    office = _office()
    status = status_of(office.settings, office.sessions, office.clock, office.catalogue)
    checked_at = datetime.fromisoformat(status["checked_at"]).astimezone(PARIS)
    return render_template("queues.html", status=status, format_age=format_age,
                           checked_at=f"{checked_at:%Y-%m-%d %H:%M:%S}")


# --- finance: payments, invoices --------------------------------------------------------------------------


PAYMENT_FIELDS = ("payment_id", "invoice_number", "amount", "received_on", "payer", "means")
PAYMENT_LABELS = {"payment_id": "payment id", "invoice_number": "invoice", "amount": "amount",
                  "received_on": "received on", "payer": "payer", "means": "means"}
PAYMENT_MEANS = ["transfer", "mandat_administratif", "cheque", "card", "other"]


@pages.route("/payments/new", methods=["GET", "POST"])
@requires(Role.FINANCE)
def record_payment() -> ResponseReturnValue:
    """A payment received: the same command as `regflow pay --by <user>`."""
    office = _office()
    if request.method == "GET":
        return render_template("payment.html", form={"invoice_number": request.args.get("invoice", "")},
                               errors={}, means=PAYMENT_MEANS)
    form = {k: request.form.get(k, "").strip() for k in PAYMENT_FIELDS}
    errors = {k: f"{PAYMENT_LABELS[k]}: required" for k in ("payment_id", "amount", "received_on") if not form[k]}
    try:
        payment = RecordPayment.model_validate({**{k: v or None for k, v in form.items()},
                                                "requested_by": _user().name})
    except ValidationError as exc:
        errors = {**_field_errors(exc, PAYMENT_LABELS), **errors}
    if errors:
        return render_template("payment.html", form=form, errors=errors, means=PAYMENT_MEANS), 400
    try:
        with CommandClient(office.settings, producer="finance") as client:
            client.record_payment(payment_id=payment.payment_id, invoice_number=payment.invoice_number,
                                  amount=payment.amount, received_on=payment.received_on, payer=payment.payer,
                                  means=payment.means, requested_by=payment.requested_by)
    except BROKER_ERRORS as exc:
        return render_template("payment.html", form=form, errors={"_": _not_sent(exc)}, means=PAYMENT_MEANS), 503
    flash(f"Payment {payment.payment_id} of {payment.amount} EUR sent: the payments consumer records it.")
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
    office = _office()
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
    rows = payment_list(_office().sessions, anomalies_only=anomalies_only)
    return render_template("payments.html", rows=rows, anomalies_only=anomalies_only)


# --- helpers ---------------------------------------------------------------------------------------------


def _sessions(catalogue: Catalogue) -> list[dict[str, str]]:
    return [{"id": s.id, "date": s.date.isoformat(), "title": t.title} for t in catalogue.trainings
            for s in sorted(t.sessions, key=lambda s: s.date)]


def _session_ids(catalogue: Catalogue) -> list[str]:
    return [s["id"] for s in _sessions(catalogue)]


def _field_errors(exc: ValidationError, labels: dict[str, str]) -> dict[str, str]:
    """pydantic's errors keyed by form field, each message naming the field as the form labels it."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "_"
        errors.setdefault(field, f"{labels.get(field, field)}: {error['msg']}")
    return errors


def _not_sent(exc: Exception) -> str:
    return f"The broker did not confirm the command ({type(exc).__name__}: {exc}); it may not have been sent: " \
           f"check the timeline before sending it again."


@pages.app_errorhandler(SQLAlchemyError)
def _database_unavailable(error: SQLAlchemyError) -> ResponseReturnValue:
    """The database does not answer: say so (503), nothing was changed by a page that only reads."""
    log.warning("back office: database error: %s", str(error).splitlines()[0] if str(error) else type(error).__name__)
    return render_template("error.html", code=503, message="The database does not answer right now: nothing was "
                           "changed; try again in a moment."), 503


@pages.app_errorhandler(400)
@pages.app_errorhandler(403)
@pages.app_errorhandler(404)
@pages.app_errorhandler(500)
def _error_page(error: Any) -> ResponseReturnValue:
    return render_template("error.html", code=error.code, message=error.description), error.code
