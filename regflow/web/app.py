"""The back-office page: support, finance and operations in a browser.

Thin on purpose: a route parses its form, calls the same code as the command line
(`producers.commands.CommandClient` to publish, `workflow.persistence.views` to read) and renders a template.
Flask fits the code it calls: synchronous SQLAlchemy sessions and a pika BlockingConnection per
request, served by waitress's threads (`regflow web`).

The modules: `context` (the blueprint and what every route needs), `auth` (every request's checks, login,
logout, roles, error pages), `guards` (the login throttle, the live sessions, the characters refused),
`routes` (the pages), `catalogue_pages` (operations' sessions), `sheet_pages` (the attendance sheet, trainers),
`bpf_pages` (finance's BPF figures), `interest_claim_pages` (late-payment interest claims), `survey_pages` (the
satisfaction survey's results), `signature_pages` (support's signed forms to check), `personal_data_pages` (support's
RGPD requests), `users` (the users file).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import structlog
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from regflow.web import (
    auth,
    bank_pages,
    bpf_pages,
    catalogue_pages,
    dashboard_pages,
    document_pages,
    i18n,
    interest_claim_pages,
    personal_data_pages,
    routes,
    sheet_pages,
    signature_pages,
    survey_pages,
)
from regflow.web.context import BackOffice, pages
from regflow.web.guards import LiveSessions, LoginThrottle, Monotonic
from regflow.web.users import UserStore
from workflow.adapters.clocks import clock_from_spec
from workflow.adapters.data_files import load_catalogue
from workflow.persistence.db import make_engine, session_factory
from workflow.settings import Settings

log = structlog.get_logger("web")
SESSION_LIFETIME = timedelta(hours=10)
# imported for their routes and hooks on `pages`
__all__ = ["auth", "bank_pages", "bpf_pages", "catalogue_pages", "create_app", "dashboard_pages", "document_pages",
           "interest_claim_pages", "personal_data_pages", "routes", "sheet_pages", "signature_pages", "survey_pages"]


def create_app(settings: Settings, *, decision_wait_seconds: float = 3.0,
               monotonic: Monotonic = time.monotonic) -> Flask:
    """The WSGI application. `decision_wait_seconds`: how long a request waits for validation's answer to a
    replacement before showing it as still in flight (that page then reloads itself every 2 s): short, so
    that a few people waiting do not hold every server thread. `monotonic`: the time of the login throttle
    and of the sessions' idle expiry (the tests move it).

    Raises `workflow.settings.InsecureSecretError` when `REGFLOW_WEB_SECRET` is unset, empty or short outside
    development (`settings.development`)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_cookie_key(settings), SESSION_COOKIE_NAME="regflow_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.web_https,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME, MAX_CONTENT_LENGTH=64 * 1024)
    if settings.web_trusted_proxies > 0:  # else X-Forwarded-* are ignored: the address is the socket's
        hops = settings.web_trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["regflow"] = BackOffice(
        settings=settings, sessions=session_factory(make_engine(settings.database_url)),
        users=UserStore(settings.web_users_file), schedule=load_catalogue(settings.catalogue_path).schedule,
        clock=clock_from_spec(settings.clock), decision_wait_seconds=decision_wait_seconds,
        throttle=LoginThrottle(settings.web_login_attempts, settings.web_login_window_seconds, monotonic),
        live_sessions=LiveSessions(SESSION_LIFETIME.total_seconds(), monotonic))
    i18n.install(app)
    app.register_blueprint(pages)
    app.after_request(auth.security_headers)
    return app


def _cookie_key(settings: Settings) -> str:
    """`REGFLOW_WEB_SECRET`, checked; in development only, a random key when it is unset or empty."""
    configured = settings.web_secret.get_secret_value() if settings.web_secret is not None else ""
    if settings.development and not configured:
        log.warning("REGFLOW_WEB_SECRET is not set (development): a random key signs the cookies, "
                    "logins end at each restart")
        return secrets.token_urlsafe(32)
    return settings.require_secret("web_secret")
