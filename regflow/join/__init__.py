"""The join service (`regflow join-server`): the public address the personal links point to, apart from the back
office. `GET /j/<token>` looks the access up, asks `workflow.domain.joining.join_outcome` which page to show, and
during the session records the join then redirects (302) to the session's video-conference room.
`GET /j/<token>/seance` is the participant's page of the session (`regflow.join.seance`), and
`GET /j/<token>/invitation.ics` the calendar file, both for an active access only; `GET|POST /j/<token>/avis` the
satisfaction survey after service fait (`regflow.join.survey`). `/inscription` is the online registration form
(`regflow.join.form_pages`, which publishes `cmd.registration.submit` as the intake's broker user) and
`/suivi/<registration>/<token>` the gestionnaire's tracking page with the pre-filled form (`regflow.join.tracking`);
`POST /webhooks/signature` the e-signature platform's callback (`regflow.join.webhooks`);
`/api/v1` the HTTP intake API for upstream systems (`regflow.api`).

What it guards: a token is 43 URL-safe characters or a 404 without a query; the access found by the token's
SHA-256 is confirmed by comparing the HMAC in constant time; each client address has
`join_requests_per_minute` answers a minute (then 429); the logs hold the outcome and the session, never a token,
a name or an address. `/healthz` and `/metrics` as every process."""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from flask import Flask, Response, redirect, render_template, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix

from regflow.api import http_problem, is_api_request, register_api
from regflow.join.form_pages import FORM_BYTES, FormPages
from regflow.join.replacement import ReplacementRequest
from regflow.join.seance import sent_to, session_view
from regflow.join.survey import SurveyPages
from regflow.join.tracking import TrackingPages
from regflow.join.webhooks import SignatureWebhook
from workflow.adapters.clocks import clock_from_spec
from workflow.adapters.data_files import load_catalogue
from workflow.adapters.email_message import french_time
from workflow.adapters.mailroom import Mailroom
from workflow.bootstrap import seller_of
from workflow.domain.access_links import ACTIVE, LinkStatus, join_link, token_for, token_hash
from workflow.domain.catalogue import Schedule, SessionDate
from workflow.domain.clock import PARIS, Clock
from workflow.domain.joining import JoinOutcome, join_outcome
from workflow.domain.scans import SCAN_MAX_BYTES
from workflow.persistence.db import make_engine, session_factory
from workflow.persistence.orm import JoinRecordRow, ParticipantAccessRow
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.settings import Settings

log = structlog.get_logger("join")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Scripts from this origin only (the online form's enhancement, regflow/join/static); no inline script
CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'"
PUBLIC = ("/j/", "/inscription", "/suivi/")  # the pages a stranger may try: rate-limited per address
ANSWERS = Counter("regflow_join_requests", "Personal links opened, by outcome", ["outcome"])
STATUS = {JoinOutcome.NOT_FOUND: 404, JoinOutcome.TRANSFERRED: 410, JoinOutcome.TOO_EARLY: 200,
          JoinOutcome.ENDED: 410}


class RequestRate:
    """At most `limit` requests per key within `window` seconds (a sliding window, in memory, per process)."""

    def __init__(self, limit: int, window: float, now: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.now = limit, window, now
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.now()
        with self._lock:
            if len(self._seen) > 100_000:  # a flood of addresses: forget the quiet ones rather than grow
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window}
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(now)
            return True


@dataclass(frozen=True)
class Opened:
    """A known access, its session, and what opening its link gives now."""

    access: ParticipantAccessRow
    session: SessionDate
    shown: dict[str, object]
    outcome: JoinOutcome
    opens_at: str  # when the room opens, Paris time ('9h00')
    now: datetime  # when the outcome was decided: the join records this very moment


@dataclass(frozen=True)
class Links:
    """What the pages need, built once per process."""

    sessions: sessionmaker[Session]
    clock: Clock
    schedule: Schedule
    mailroom: Mailroom
    secret: str
    opens_before: timedelta
    contact: dict[str, str]

    def page(self, outcome: JoinOutcome, status: int, **context: object) -> ResponseReturnValue:
        ANSWERS.labels(outcome.value).inc()
        return render_template("join.html", outcome=outcome.value, contact=self.contact, **context), status

    def lookup(self, session: Session, token: str) -> ParticipantAccessRow | None:
        """The access of a well-formed token whose HMAC matches, compared in constant time; else None."""
        if not TOKEN.fullmatch(token):
            return None
        access = session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.token_hash == token_hash(token))).one_or_none()
        if access is None or not hmac.compare_digest(token_for(self.secret, access.id), token):
            return None
        return access

    def opened(self, session: Session, token: str) -> Opened | None:
        """The access of `token` with its session and the page `join_outcome` gives it now; None if unknown."""
        access = self.lookup(session, token)
        if access is None:  # a guess costs one indexed query, not the catalogue's
            return None
        catalogue = SqlCatalogue(session).current(self.schedule)
        found = catalogue.session(access.session_id)
        if found is None:
            return None
        starts, ends = catalogue.starts_at(found[1]), catalogue.ends_at(found[1])
        status = LinkStatus.VALID if access.status == ACTIVE else LinkStatus.REVOKED
        now = self.clock.now()
        outcome = join_outcome(status, now=now, starts=starts, ends=ends, opens_before=self.opens_before)
        return Opened(access, found[1], session_view(catalogue, *found), outcome,
                      french_time((starts - self.opens_before).astimezone(PARIS)), now)

    def join(self, token: str) -> ResponseReturnValue:
        with self.sessions() as session:
            opened = self.opened(session, token)
            if opened is None:
                return self.page(JoinOutcome.NOT_FOUND, 404)
            outcome, access = opened.outcome, opened.access
            log.info("link opened", outcome=outcome.value, session_id=access.session_id)
            if outcome is not JoinOutcome.OPEN:
                return self.page(outcome, STATUS[outcome], session=opened.shown, token=token, opens_at=opened.opens_at)
            if opened.session.join_url is None:  # operations have not given the room yet: say so, record nothing
                return self.page(JoinOutcome.OPEN, 503, session=opened.shown, token=token)
            session.add(JoinRecordRow(access_id=access.id, session_id=access.session_id, joined_at=opened.now))
            session.commit()  # the join is kept before the participant leaves for the room
            ANSWERS.labels(JoinOutcome.OPEN.value).inc()
            return redirect(opened.session.join_url, 302)

    def seance(self, token: str) -> ResponseReturnValue:
        """The participant's page of the session (`regflow.join.seance`), before, during and after it; it records
        no join (only the link itself does)."""
        with self.sessions() as session:
            opened = self.opened(session, token)
            if opened is None:
                return self.page(JoinOutcome.NOT_FOUND, 404)
            log.info("session page opened", outcome=opened.outcome.value, session_id=opened.access.session_id)
            if opened.outcome is JoinOutcome.TRANSFERRED:
                return self.page(JoinOutcome.TRANSFERRED, 410, session=opened.shown)
            mails = sent_to(session, opened.access)
        ANSWERS.labels("seance").inc()
        return render_template(
            "seance.html", outcome=opened.outcome.value, contact=self.contact, session=opened.shown, token=token,
            link=join_link(self.mailroom.settings.join_base_url, token), opens_at=opened.opens_at,
            opens_before=int(self.opens_before.total_seconds() // 60), room_ready=opened.session.join_url is not None,
            mails=mails)

    def invitation(self, token: str) -> ResponseReturnValue:
        with self.sessions() as session:
            access = self.lookup(session, token)
            if access is None or access.status != ACTIVE:
                return self.page(JoinOutcome.NOT_FOUND, 404)
            catalogue = SqlCatalogue(session).current(self.schedule)
            found = catalogue.session(access.session_id)
            if found is None:
                return self.page(JoinOutcome.NOT_FOUND, 404)
            ics = self.mailroom.invitation(access, catalogue, found, sequence=access.sequence, cancel=False,
                                           now=self.clock.now())
        return Response(ics, 200, {"Content-Type": "text/calendar; charset=utf-8; method=REQUEST",
                                   "Content-Disposition": 'attachment; filename="invitation.ics"'})


def create_join_app(settings: Settings, *, clock: Clock | None = None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # the survey's form: 2,000 characters of comment, URL-encoded
    if settings.join_trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.join_trusted_proxies)  # type: ignore[method-assign]
    schedule = load_catalogue(settings.catalogue_path).schedule
    seller = seller_of(settings)
    links = Links(session_factory(make_engine(settings.database_url)), clock or clock_from_spec(settings.clock),
                  schedule, Mailroom(settings, seller, schedule), settings.require_secret("link_secret"),
                  timedelta(minutes=settings.join_opens_before_minutes),
                  {"name": seller.name, "email": seller.email, "phone": seller.phone})
    rate = RequestRate(settings.join_requests_per_minute, 60)

    @app.before_request
    def limited() -> ResponseReturnValue | None:
        if request.path.startswith(("/inscription", "/suivi/")):  # the links' pages stay at 64 KB
            scan = request.path.startswith("/suivi/") and request.path.endswith("/scan")
            request.max_content_length = SCAN_MAX_BYTES + 64 * 1024 if scan else FORM_BYTES
        if request.path.startswith(PUBLIC) and not rate.allow(request.remote_addr or "?"):
            ANSWERS.labels("rate_limited").inc()
            return (render_template("join.html", outcome="rate_limited", contact=links.contact), 429,
                    {"Retry-After": "60"})
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                 "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": CONTENT_SECURITY_POLICY})
        return response

    app.add_url_rule("/j/<token>", "join", links.join)
    app.add_url_rule("/j/<token>/invitation.ics", "invitation", links.invitation)
    app.add_url_rule("/j/<token>/seance", "seance", links.seance)
    app.add_url_rule("/j/<token>/avis", "survey", SurveyPages(links).page, methods=["GET", "POST"])
    form, tracking = FormPages(links), TrackingPages(links)
    app.add_url_rule("/inscription", "offers", form.index)
    app.add_url_rule("/inscription/<session_id>", "form", form.form, methods=["GET", "POST"])
    app.add_url_rule("/suivi/<registration_id>/<token>", "tracking", tracking.page)
    app.add_url_rule("/suivi/<registration_id>/<token>/formulaire.pdf", "filled_form", tracking.filled_form)
    app.add_url_rule("/suivi/<registration_id>/<token>/scan", "scan", tracking.upload, methods=["POST"])
    app.add_url_rule("/suivi/<registration_id>/<token>/documents/<kind>/<number>.pdf", "document", tracking.document)
    app.add_url_rule("/suivi/<registration_id>/<token>/remplacement", "replacement",
                     ReplacementRequest(tracking).send, methods=["POST"])
    app.add_url_rule("/webhooks/signature", "signature_callback", SignatureWebhook(links).receive, methods=["POST"])

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        problem = _database_problem(links.sessions)
        return ({"status": "ok"}, 200) if problem is None else ({"status": "unavailable", "database": problem}, 503)

    @app.get("/metrics")
    def metrics() -> ResponseReturnValue:
        return Response(generate_latest(), 200, {"Content-Type": CONTENT_TYPE_LATEST})

    register_api(app, links)  # the HTTP intake API, /api/v1 (regflow.api)

    @app.errorhandler(404)
    def not_found(error: NotFound) -> ResponseReturnValue:
        return http_problem(error) if is_api_request() else links.page(JoinOutcome.NOT_FOUND, 404)

    return app


def _database_problem(sessions: sessionmaker[Session]) -> str | None:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # reported, never raised: a health check
        return type(exc).__name__
    return None
