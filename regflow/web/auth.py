"""Who may do what, and what a request may carry: every request's checks (characters, CSRF token, live
session), the login with its throttle, the logout, the roles, the security headers and the error pages.

Messages are gettext's (English msgids, French catalogue: regflow.web.i18n); module-level ones lazily, so that each
is read in the language of the request that shows it."""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Callable
from functools import wraps
from itertools import chain
from typing import Any, ParamSpec
from urllib.parse import unquote_to_bytes, urlsplit

import structlog
from flask import abort, g, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from regflow.web.context import back_office, current_user, pages
from regflow.web.guards import FORM_WHITESPACE, bad_character, is_utf8, masked_name, minutes
from regflow.web.i18n import LANGUAGES, role_name
from regflow.web.users import Role


def log() -> structlog.stdlib.BoundLogger:
    """The page's logger, taken at each call: structlog caches a logger on its first use, and a long-lived
    one would keep the configuration of the moment it was first used."""
    return structlog.get_logger("web")  # type: ignore[no-any-return]
P = ParamSpec("P")
PUBLIC_ENDPOINTS = {"backoffice.login", "backoffice.choose_language", "static"}
FORM_TYPE = "application/x-www-form-urlencoded"
HSTS = "max-age=31536000; includeSubDomains"
WRONG_LOGIN = _l("Wrong name or password.")
BAD_REQUEST = _l("Bad request: the address or a form field holds a control character or is not valid UTF-8.")
BAD_TOKEN = _l("The form's security token is missing or out of date: reload the page and send it again.")
NO_DATABASE = _l("The database does not answer right now: nothing was changed; try again in a moment.")
TITLES = {400: _l("Bad request"), 403: _l("Forbidden"), 404: _l("Not found"), 405: _l("Method not allowed"),
          413: _l("Request too large"), 500: _l("Internal error"), 503: _l("Service unavailable")}
# Instead of werkzeug's English descriptions, when a page raised the error without its own message.
DEFAULT_MESSAGES = {
    400: _l("The request could not be understood."),
    404: _l("This page does not exist."),
    405: _l("This page does not take that method."),
    413: _l("The form sent is too large."),
    500: _l("An internal error occurred: try again, then tell operations.")}


# --- every request ---------------------------------------------------------------------------------------


@pages.before_app_request
def _check_every_request() -> ResponseReturnValue | None:
    """In this order: what the request carries, its CSRF token (a POST), then its user (every page but the login)."""
    _refuse_bad_characters()
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
            abort(400, BAD_TOKEN)
    g.user = None
    name = session.get("user")
    if isinstance(name, str) and back_office().live_sessions.check(session.get("sid"), name):
        g.user = back_office().users.get(name)
    if g.user is None:
        session.pop("user", None)  # logged out, expired, from before a restart, or a user removed since
        session.pop("sid", None)
        if request.endpoint not in PUBLIC_ENDPOINTS:
            return redirect(url_for("backoffice.login", next=request.full_path.rstrip("?")))
    return None


def _refuse_bad_characters() -> None:
    """400 for a control character or invalid UTF-8 in the path, the query or a form field: never let one
    reach the database (PostgreSQL refuses a NUL, which used to show as "the database does not answer")."""
    if not _valid_utf8() or bad_character(chain(
            [request.path], request.args.keys(), *request.args.listvalues())) or bad_character(
            chain(request.form.keys(), *request.form.listvalues()), allowed=FORM_WHITESPACE):
        log().warning("back office: request refused, control character or invalid UTF-8",
                    path=request.path.encode("unicode_escape").decode("ascii")[:200], client=request.remote_addr)
        abort(400, BAD_REQUEST)


def _valid_utf8() -> bool:
    """Werkzeug decodes leniently (invalid UTF-8 left percent-encoded in a query or a form, replaced by U+FFFD
    in the path), so the raw query and form are decoded here; the path is the server's (WSGI: bytes as latin-1)
    or already decoded with U+FFFD, which no page's address holds."""
    path = request.environ.get("PATH_INFO", "")
    raw = [path.encode("latin-1", "replace") if isinstance(path, str) else b"",
           unquote_to_bytes(request.query_string.replace(b"+", b" "))]
    if request.mimetype == FORM_TYPE:
        raw.append(unquote_to_bytes(request.get_data(cache=True).replace(b"+", b" ")))  # kept for request.form
    return "\ufffd" not in request.path and all(is_utf8(part) for part in raw)


@pages.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": _csrf_token, "user": g.get("user"), "Role": Role}


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


def requires(*roles: Role) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Only users holding one of `roles` get past: the others get 403, whatever URL they type."""
    def decorate(route: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @wraps(route)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            if not any(current_user().can(role) for role in roles):
                abort(403, _("This page needs the %(roles)s role.", roles=_(" or ").join(role_name(r) for r in roles)))
            return route(*args, **kwargs)
        return guarded
    return decorate


def security_headers(response: Any) -> Any:
    response.headers.setdefault(  # a route serving a document sets a stricter one (a scan: sandbox)
        "Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    if back_office().settings.web_https:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


# --- login, logout -----------------------------------------------------------------------------------------


@pages.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", error=None, name="")
    office = back_office()
    name = request.form.get("name", "").strip()
    address = request.remote_addr or "unknown"  # the socket's, or the proxies' X-Forwarded-For when trusted
    wait = office.throttle.retry_after(name, address)
    if wait > 0:  # refused before the password is even looked at
        log().warning("back office: login refused, too many failures", login=masked_name(name), client=address,
                    retry_after_seconds=math.ceil(wait))
        message = _("Too many failed logins: try again in %(n)s minute(s).", n=minutes(wait))
        refused = make_response(render_template("login.html", error=message, name=name), 429)
        refused.headers["Retry-After"] = str(math.ceil(wait))
        return refused
    user = office.users.authenticate(name, request.form.get("password", ""))
    if user is None:
        office.throttle.failed(name, address)
        log().warning("back office: failed login", login=masked_name(name), client=address)
        return render_template("login.html", error=WRONG_LOGIN, name=name), 401
    office.throttle.succeeded(name)
    office.live_sessions.end(session.get("sid"))
    session.clear()  # nothing from before the login survives it, a new CSRF token included
    session.permanent = True
    session["user"] = user.name
    session["sid"] = office.live_sessions.start(user.name)
    return redirect(_local_path(request.args.get("next", "")) or url_for("backoffice.registrations"))


def _local_path(target: str) -> str | None:
    """`target` if it is a path of this site, else None: no scheme, no host, no backslash and no control
    character (browsers and werkzeug drop tabs and newlines: "/", a tab, "/evil.example" becomes "//evil.example")."""
    if not target.startswith("/") or any(ord(c) < 0x20 or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    return target if not (parts.scheme or parts.netloc) and not target.startswith("//") else None


@pages.post("/langue")
def choose_language() -> ResponseReturnValue:
    """The language chosen on the page, kept for the session (before and after the login); back where it was."""
    chosen = request.form.get("language", "")
    if chosen not in LANGUAGES:
        abort(400, _("Language: one of %(languages)s.", languages=", ".join(LANGUAGES)))
    session["language"] = chosen
    return redirect(_local_path(request.form.get("next", "")) or url_for("backoffice.registrations"))


@pages.post("/logout")
def logout() -> ResponseReturnValue:
    """The session ends here, on the server: a copy of its cookie no longer logs anyone in."""
    back_office().live_sessions.end(session.get("sid"))
    session.clear()
    return redirect(url_for("backoffice.login"))


# --- error pages -------------------------------------------------------------------------------------------


@pages.app_errorhandler(SQLAlchemyError)
def _database_unavailable(error: SQLAlchemyError) -> ResponseReturnValue:
    """The database does not answer: say so (503), nothing was changed by a page that only reads."""
    log().warning("back office: database error",
                  error=str(error).splitlines()[0] if str(error) else type(error).__name__)
    return render_template("error.html", code=503, title=TITLES[503], message=NO_DATABASE), 503


@pages.app_errorhandler(400)
@pages.app_errorhandler(403)
@pages.app_errorhandler(404)
@pages.app_errorhandler(405)
@pages.app_errorhandler(413)
@pages.app_errorhandler(500)
def _error_page(error: Any) -> ResponseReturnValue:
    code: int = error.code
    message = error.description
    if message == type(error).description:  # werkzeug's own text: no page said why
        message = DEFAULT_MESSAGES.get(code, message)
    return render_template("error.html", code=code, title=TITLES.get(code, ""), message=message), code
