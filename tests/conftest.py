"""Fixtures: the real PostgreSQL and RabbitMQ.

URLs come from TEST_DATABASE_URL and TEST_BROKER_URL; only when one is absent do the fixtures start a
container with testcontainers (a laptop with Docker). When neither works the test errors, and under
CI it fails loudly: a suite that silently skips proves nothing.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from tests.fleet import START, Fleet, RunningConsumers, consumer_env, settings_for
from tests.idle import wait_until  # noqa: F401 (the tests import it from here)
from tests.zygote import start_processes
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps, bootstrap
from workflow.messaging.broker import connect
from workflow.messaging.topology import Topology
from workflow.persistence.db import migrate
from workflow.settings import Settings

FORMS = Path(__file__).parent / "forms"
# Tests run with the development secrets: the link secret's default and a random page key are accepted here
# (and in every process a test starts, which inherits this environment), refused in production.
os.environ.setdefault("REGFLOW_DEVELOPMENT", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `slow` first, each in its order: on several workers (`make test`), a long module
    started last would leave the others idle while it finishes."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} unavailable: {error}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must provide it: see .ci/run)")
    pytest.skip(f"{message}; set TEST_DATABASE_URL / TEST_BROKER_URL or start Docker")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The server of every test database. Its connections do not wait for the WAL to reach the disk
    (`synchronous_commit=off`, per connection: the URL carries it to the consumer processes too): a test never
    crashes PostgreSQL itself, so what it reads is the same, and thousands of commits stop waiting on fsync."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield _unsynced(url)
        return
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="psycopg")
        container.start()
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    yield _unsynced(container.get_connection_url())
    container.stop()


def _unsynced(url: str) -> str:
    return make_url(url).update_query_dict({"options": "-c synchronous_commit=off"}).render_as_string(
        hide_password=False)


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


def _fleet(request: pytest.FixtureRequest) -> Fleet | None:
    """The module's shared fleet, made pristine for this test, when the module sets `SHARE_FLEET = True` and
    the test uses `consumers` (tests/fleet.py); None otherwise: the test gets its own of everything."""
    if not getattr(request.module, "SHARE_FLEET", False) or "consumers" not in request.fixturenames:
        return None
    fleet: Fleet = request.getfixturevalue("fleet")
    fleet.begin(request.node.nodeid)
    return fleet


@pytest.fixture(scope="module")
def fleet(postgres_server_url: str, broker_url: str, template_database: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    shared = Fleet(postgres_server_url, template_database, broker_url, tmp_path_factory.mktemp("fleet"))
    yield shared
    shared.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, postgres_server_url: str, template_database: str) -> Iterator[str]:
    shared = _fleet(request)
    if shared is not None:
        yield shared.settings.database_url
        return
    name = f"regflow_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clock(request: pytest.FixtureRequest, tmp_path: Path) -> FileClock:
    """The shared clock of the test and of the consumer processes: 1 September 2023, Paris."""
    shared = _fleet(request)
    if shared is not None:
        return shared.clock
    file_clock = FileClock(tmp_path / "clock.txt")
    file_clock.set(START)
    return file_clock


@pytest.fixture
def smtp(request: pytest.FixtureRequest) -> Iterator[MailSink]:
    """A real SMTP server (aiosmtpd) on a free port: what it received is what the participants read."""
    shared = _fleet(request)
    if shared is not None:
        yield shared.smtp
        return
    with MailSink(port=0) as sink:
        yield sink


@pytest.fixture
def settings(  # noqa: PLR0917 (fixtures)
        request: pytest.FixtureRequest, database_url: str, broker_url: str, clock: FileClock, tmp_path: Path,
        smtp: MailSink) -> Iterator[Settings]:
    shared = _fleet(request)
    if shared is not None:
        yield shared.settings
        return
    namespace = f"regflow-test-{uuid.uuid4().hex[:8]}"
    test_settings = settings_for(database_url, broker_url, namespace, clock=clock, work_dir=tmp_path,
                                 smtp_port=smtp.port)
    connection = connect(broker_url)
    Topology(namespace).declare(connection.channel())
    connection.close()
    yield test_settings
    connection = connect(broker_url)
    Topology(namespace).delete(connection.channel())
    connection.close()


@pytest.fixture
def deps(settings: Settings) -> Iterator[Deps]:
    test_deps = bootstrap(settings)
    yield test_deps
    test_deps.sessions.kw["bind"].dispose()  # its connections, not left to a database the next test reuses


@pytest.fixture
def sessions(deps: Deps) -> sessionmaker[Session]:
    return deps.sessions


@pytest.fixture
def http_port_base() -> int:
    """REGFLOW_HTTP_PORT of the `consumers` processes (each gets base + index): 0, no metrics or health
    server. A test module that wants them overrides this fixture."""
    return 0


@pytest.fixture
def consumers(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path, http_port_base: int
              ) -> Iterator[RunningConsumers]:
    """Every consumer and the relay, each as its own OS process, over the real broker and database (the
    module's shared fleet's when it sets `SHARE_FLEET = True`: tests/fleet.py)."""
    shared = _fleet(request)
    if shared is not None:
        yield shared.consumers()
        return
    env = consumer_env(settings, tmp_path / "crashed-once", http_port_base)
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
