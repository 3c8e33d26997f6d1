"""Fixtures: the real PostgreSQL and RabbitMQ.

URLs come from TEST_DATABASE_URL and TEST_BROKER_URL; only when one is absent do the fixtures start a
container with testcontainers (a laptop with Docker). When neither works the test errors, and under
CI it fails loudly: a suite that silently skips proves nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from regflow.processes import start_processes, stop_processes
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps, bootstrap
from workflow.domain.clock import PARIS
from workflow.messaging.broker import connect
from workflow.messaging.topology import Topology
from workflow.persistence.db import migrate
from workflow.settings import Settings

FORMS = Path(__file__).parent / "forms"
# Tests run with the development secrets: the link secret's default and a random page key are accepted here
# (and in every process a test starts, which inherits this environment), refused in production.
os.environ.setdefault("REGFLOW_DEVELOPMENT", "1")


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} unavailable: {error}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must provide it: see .ci/run)")
    pytest.skip(f"{message}; set TEST_DATABASE_URL / TEST_BROKER_URL or start Docker")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="psycopg")
        container.start()
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    yield container.get_connection_url()
    container.stop()


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    url = os.environ.get("TEST_BROKER_URL")
    if url:
        yield url
        return
    try:
        from testcontainers.rabbitmq import RabbitMqContainer

        container = RabbitMqContainer("rabbitmq:3.13-alpine")
        container.start()
    except Exception as exc:
        _unavailable("RabbitMQ", exc)
    host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
    yield f"amqp://guest:guest@{host}:{port}/%2F"
    container.stop()


@pytest.fixture(scope="session")
def template_database(postgres_server_url: str) -> Iterator[str]:
    """A database migrated once by Alembic; each test gets a copy of it (CREATE DATABASE ... TEMPLATE)."""
    name = f"regflow_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    migrate(make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    name = f"regflow_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clock(tmp_path: Path) -> FileClock:
    """The shared clock of the test and of the consumer processes: 1 September 2023, Paris."""
    file_clock = FileClock(tmp_path / "clock.txt")
    file_clock.set(datetime(2023, 9, 1, 10, tzinfo=PARIS))
    return file_clock


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    """A real SMTP server (aiosmtpd) on a free port: what it received is what the participants read."""
    with MailSink(port=0) as sink:
        yield sink


@pytest.fixture
def settings(database_url: str, broker_url: str, clock: FileClock, tmp_path: Path, smtp: MailSink
             ) -> Iterator[Settings]:
    namespace = f"regflow-test-{uuid.uuid4().hex[:8]}"
    test_settings = Settings(database_url=database_url, broker_url=broker_url, namespace=namespace,
                             clock=f"file:{clock.path}", retry_base_ms=100, max_attempts=4,
                             documents_dir=tmp_path / "documents", chorus_drop_dir=tmp_path / "chorus-pro",
                             smtp_port=smtp.port, mail_poll_seconds=0.2, mail_lease_seconds=2)
    connection = connect(broker_url)
    Topology(namespace).declare(connection.channel())
    connection.close()
    yield test_settings
    connection = connect(broker_url)
    Topology(namespace).delete(connection.channel())
    connection.close()


@pytest.fixture
def deps(settings: Settings) -> Deps:
    return bootstrap(settings)


@pytest.fixture
def sessions(deps: Deps) -> sessionmaker[Session]:
    return deps.sessions


@dataclass
class RunningConsumers:
    processes: dict[str, Any]
    log_dir: Path
    env: dict[str, str]

    def stop(self) -> dict[str, int | None]:
        stop_processes(self.processes)
        return {name: p.returncode for name, p in self.processes.items()}

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up, no ack, whatever it was doing."""
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait()

    def restart(self, name: str) -> None:
        """Start `name` again; `invoicing-2` is a second replica of the invoicing consumer."""
        log = (self.log_dir / f"{name}.log").open("ab")
        role = name.split("-", 1)[0]
        args = ["relay"] if role == "relay" else ["consume", role]
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "regflow.cli", *args], env=self.env,
                                                stderr=log)

    def logs(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def http_port_base() -> int:
    """REGFLOW_HTTP_PORT of the `consumers` processes (each gets base + index): 0, no metrics or health
    server. A test module that wants them overrides this fixture."""
    return 0


@pytest.fixture
def consumers(settings: Settings, tmp_path: Path, http_port_base: int) -> Iterator[RunningConsumers]:
    """Every consumer and the relay, each as its own OS process, over the real broker and database."""
    env = {**os.environ, "REGFLOW_HTTP_PORT": str(http_port_base), "REGFLOW_DATABASE_URL": settings.database_url,
           "REGFLOW_BROKER_URL": settings.broker_url, "REGFLOW_NAMESPACE": settings.namespace,
           "REGFLOW_CLOCK": settings.clock, "REGFLOW_RETRY_BASE_MS": str(settings.retry_base_ms),
           "REGFLOW_MAX_ATTEMPTS": str(settings.max_attempts), "REGFLOW_LOG_FORMAT": "json",
           "REGFLOW_DOCUMENTS_DIR": str(settings.documents_dir),
           "REGFLOW_CHORUS_DROP_DIR": str(settings.chorus_drop_dir), "REGFLOW_PERIODIC_CHECK_SECONDS": "0.5",
           "REGFLOW_SMTP_HOST": settings.smtp_host, "REGFLOW_SMTP_PORT": str(settings.smtp_port),
           "REGFLOW_MAIL_POLL_SECONDS": str(settings.mail_poll_seconds),
           "REGFLOW_MAIL_RETRY_BASE_SECONDS": str(settings.mail_retry_base_seconds),
           "REGFLOW_MAIL_MAX_ATTEMPTS": str(settings.mail_max_attempts),
           "REGFLOW_MAIL_LEASE_SECONDS": str(settings.mail_lease_seconds),
           "REGFLOW_CRASH_ONCE_FILE": str(tmp_path / "crashed-once")}
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    running = RunningConsumers(start_processes(env, log_dir=log_dir), log_dir, env)
    yield running
    running.stop()


class EventTap:
    """A queue bound to every routing key of the test's exchange: what was published, in order."""

    def __init__(self, settings: Settings) -> None:
        self.connection = connect(settings.broker_url)
        self.channel = self.connection.channel()
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, Topology(settings.namespace).exchange, routing_key="#")
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            method, _, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.seen
            self.seen.append(json.loads(body))

    def types_for(self, registration_id: str) -> list[str]:
        return [e["type"] for e in self.drain() if e.get("registration_id") == registration_id]


@pytest.fixture
def tap(settings: Settings) -> Iterator[EventTap]:
    event_tap = EventTap(settings)
    yield event_tap
    event_tap.connection.close()


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


def dead_letters(settings: Settings, consumer: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Read (and keep) the messages parked in a consumer's dead-letter queue."""
    connection = connect(settings.broker_url)
    channel = connection.channel()
    parked = []
    while True:
        method, properties, body = channel.basic_get(Topology(settings.namespace).dead_letter_queue(consumer))
        if method is None:
            break
        parked.append((properties, body))
    connection.close()  # unacknowledged: they go back to the queue
    return parked


def load_form(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FORMS / "valid" / name).read_text(encoding="utf-8"))
    return data
