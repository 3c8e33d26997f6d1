"""The small HTTP server every consumer and the relay run beside their loop: `/metrics`, `/healthz`, `/readyz`.

- `/healthz` (liveness): the process's loop ticked within `REGFLOW_LIVENESS_SECONDS`. A loop stuck in a
  call that never returns fails it, and an orchestrator restarts the process. A consumer waiting for
  the database or handling a long message still ticks (see
  `workflow.messaging.consuming.Subscription.run_handler`): it is alive.
- `/readyz` (readiness): the broker connection is open and the database answers `SELECT 1`; otherwise
  503 with a JSON body naming what is down. Nothing to restart then, something to look at.
- `/metrics`: Prometheus text format (`workflow.ops.metrics`).

A thread serving stdlib `http.server`, so no framework: one request thread each (ThreadingHTTPServer), so a
database check that hangs delays only its own answer. The server only *reads* the loop's state: pika is not
thread-safe, and `is_open` is the one thing read from the connection (an attribute, no I/O).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from pika import BlockingConnection
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from workflow.settings import Settings

log = structlog.get_logger("health")


class ProcessHealth:
    """What the loop tells the HTTP thread: when it last ticked, and its current broker connection."""

    def __init__(self) -> None:
        self._last_tick = time.monotonic()
        self._ticks = 0
        self._broker: BlockingConnection | None = None

    def tick(self) -> None:
        self._last_tick = time.monotonic()
        self._ticks += 1

    def ticks(self) -> int:
        """How many turns the loop has taken: one that moved while connected had a working connection."""
        return self._ticks

    def seconds_since_tick(self) -> float:
        return time.monotonic() - self._last_tick

    def watch_broker(self, connection: BlockingConnection | None) -> None:
        """The connection the loop uses now (a new one after each reconnection)."""
        self._broker = connection

    def broker_problem(self) -> str | None:
        connection = self._broker
        if connection is None:
            return "not connected"
        return None if connection.is_open else "connection closed (reconnecting)"


PROCESS_HEALTH = ProcessHealth()  # one loop per process: the runner and the relay tick this one


def database_problem(sessions: sessionmaker[Session]) -> str | None:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["unreachable"])[0]
    return None


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True  # a scrape in progress never holds the process at exit

    def __init__(self, address: tuple[str, int], sessions: sessionmaker[Session], liveness_seconds: float,
                 health: ProcessHealth = PROCESS_HEALTH) -> None:
        super().__init__(address, _Handler)
        self.sessions = sessions
        self.liveness_seconds = liveness_seconds
        self.health = health

    def liveness(self) -> tuple[int, dict[str, Any]]:
        age = round(self.health.seconds_since_tick(), 1)
        alive = age <= self.liveness_seconds
        return (200 if alive else 503), {"alive": alive, "last_tick_seconds_ago": age,
                                         "limit_seconds": self.liveness_seconds}

    def readiness(self) -> tuple[int, dict[str, Any]]:
        problems = {"broker": self.health.broker_problem(), "database": database_problem(self.sessions)}
        down = {name: problem for name, problem in problems.items() if problem is not None}
        checks = {name: problem or "up" for name, problem in problems.items()}
        return (503 if down else 200), {"ready": not down, "down": sorted(down), "checks": checks}


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path in ("/healthz", "/readyz"):
            status, body = self.server.liveness() if path == "/healthz" else self.server.readiness()
            self._send(status, json.dumps(body).encode(), "application/json")
        else:
            self._send(404, b'{"error": "not found: /metrics, /healthz, /readyz"}', "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood stderr: kept at debug level."""
        log.debug("http request", request=format % args)


def serve_health(settings: Settings, sessions: sessionmaker[Session]) -> HealthServer | None:
    """Start the server in a daemon thread on `REGFLOW_HTTP_PORT`; 0 disables it. A port already taken is
    logged, not fatal: the process still does its work (the missing scrape target is what alerts)."""
    port = settings.http_port
    if port == 0:
        return None
    try:
        server = HealthServer((settings.http_host, port), sessions, settings.liveness_seconds)
    except OSError as exc:
        log.error("metrics and health server not started", port=port, error=str(exc))
        return None
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    log.info("metrics and health server listening", port=port, paths=["/metrics", "/healthz", "/readyz"])
    return server
