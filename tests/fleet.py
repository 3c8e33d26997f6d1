"""The consumer processes of the end-to-end tests, and the fleet a test module shares.

Starting the five processes (four consumers and the relay) costs seconds of CPU on a 2-core machine, at every
test. A module that sets `SHARE_FLEET = True` starts them once: its tests that use `consumers` share one
database, one namespace, one clock file, one SMTP sink and these processes (tests/conftest.py). Each such
test still starts from a pristine state, as with a fleet of its own: before it, the fleet gives back any
process the previous test killed, stopped, restarted with another environment or added, waits until nothing
is left in flight (tests/idle.py), then resets the clock, empties the database to its migrated state, the
queues, the document folders and the sink, and checks that it all stayed empty. If any of that fails, the
fleet is rebuilt from scratch (new database, new namespace, new processes): a test never starts on a dirty one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from regflow.processes import stop_processes
from tests.idle import in_flight, wait_until_idle
from tests.zygote import start_process, start_processes
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.domain.clock import PARIS
from workflow.messaging.broker import connect
from workflow.messaging.topology import CONSUMERS, Topology
from workflow.persistence.db import make_engine, session_factory
from workflow.settings import Settings

START = datetime(2023, 9, 1, 10, tzinfo=PARIS)  # where every test's clock starts: 1 September 2023, Paris
KEPT = ("alembic_version",)  # tables the reset leaves as migrated
NAMES = (*CONSUMERS, "relay")  # the processes of a fleet, in the order of `start_processes`


def settings_for(database_url: str, broker_url: str, namespace: str, *, clock: FileClock, work_dir: Path,
                 smtp_port: int) -> Settings:
    return Settings(database_url=database_url, broker_url=broker_url, namespace=namespace,
                    clock=f"file:{clock.path}", retry_base_ms=100, max_attempts=4,
                    documents_dir=work_dir / "documents", chorus_drop_dir=work_dir / "chorus-pro",
                    smtp_port=smtp_port, mail_poll_seconds=0.2, mail_lease_seconds=2)


def consumer_env(settings: Settings, crash_once_file: Path, http_port_base: int = 0) -> dict[str, str]:
    """The environment of the consumer processes: the test's settings, JSON logs, checks every 0.5 s."""
    return {**os.environ, "REGFLOW_HTTP_PORT": str(http_port_base), "REGFLOW_DATABASE_URL": settings.database_url,
            "REGFLOW_BROKER_URL": settings.broker_url, "REGFLOW_NAMESPACE": settings.namespace,
            "REGFLOW_QUEUE_TYPE": settings.queue_type, "REGFLOW_CLOCK": settings.clock,
            "REGFLOW_RETRY_BASE_MS": str(settings.retry_base_ms),
            "REGFLOW_MAX_ATTEMPTS": str(settings.max_attempts), "REGFLOW_LOG_FORMAT": "json",
            "REGFLOW_DOCUMENTS_DIR": str(settings.documents_dir),
            "REGFLOW_CHORUS_DROP_DIR": str(settings.chorus_drop_dir), "REGFLOW_PERIODIC_CHECK_SECONDS": "0.5",
            "REGFLOW_SMTP_HOST": settings.smtp_host, "REGFLOW_SMTP_PORT": str(settings.smtp_port),
            "REGFLOW_MAIL_POLL_SECONDS": str(settings.mail_poll_seconds),
            "REGFLOW_MAIL_RETRY_BASE_SECONDS": str(settings.mail_retry_base_seconds),
            "REGFLOW_MAIL_MAX_ATTEMPTS": str(settings.mail_max_attempts),
            "REGFLOW_MAIL_LEASE_SECONDS": str(settings.mail_lease_seconds),
            "REGFLOW_CRASH_ONCE_FILE": str(crash_once_file)}


@dataclass
class RunningConsumers:
    processes: dict[str, Any]
    log_dir: Path
    env: dict[str, str]
    log_offsets: dict[str, int] = field(default_factory=dict)  # where each log starts (a shared fleet's: its process)

    def stop(self) -> dict[str, int | None]:
        stop_processes(self.processes)
        return {name: p.returncode for name, p in self.processes.items()}

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up, no ack, whatever it was doing."""
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait()

    def restart(self, name: str) -> None:
        """Start `name` again; `invoicing-2` is a second replica of the invoicing consumer."""
        self.processes[name] = start_process(name, self.env, self.log_dir)

    def logs(self, name: str) -> str:
        with (self.log_dir / f"{name}.log").open("rb") as log:
            log.seek(self.log_offsets.get(name, 0))
            return log.read().decode("utf-8", errors="replace")


class Fleet:
    """One database, namespace, clock, SMTP sink and set of processes, shared by a module's tests."""

    def __init__(self, server_url: str, template: str, broker_url: str, work_dir: Path) -> None:
        self.server_url, self.template, self.broker_url, self.work_dir = server_url, template, broker_url, work_dir
        self.clock = FileClock(work_dir / "clock.txt")
        self.log_dir = work_dir / "logs"
        self.log_dir.mkdir()
        self.crash_once_file = work_dir / "crashed-once"
        self.smtp = MailSink(port=0).__enter__()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.log_offsets: dict[str, int] = {}  # where the log of the running process starts
        self.view: RunningConsumers | None = None  # what the current test was given
        self.test: str | None = None
        self._build()

    def begin(self, test: str) -> None:
        """Called by each fixture of a test (the first call does the work): a pristine fleet for `test`."""
        if self.test == test:
            return
        if self.test is not None:
            try:
                self._give_back_processes()
                wait_until_idle(self.settings, self.sessions)
                self._wipe()
                wait_until_idle(self.settings, self.sessions)  # a check that ran meanwhile left nothing either
                dirt = self._dirt()
                if dirt:
                    raise RuntimeError(f"not empty after the reset: {dirt}")
            except (Exception, pytest.fail.Exception) as exc:
                warnings.warn(f"fleet rebuilt from scratch for {test}: {exc}", stacklevel=1)
                self._destroy()
                self._build()
        self.test = test

    def consumers(self) -> RunningConsumers:
        """The test's handle on the processes: what it kills, restarts or changes is repaired before the next."""
        self.view = RunningConsumers(dict(self.processes), self.log_dir, dict(self.env), dict(self.log_offsets))
        return self.view

    def close(self) -> None:
        self._destroy()
        self.smtp.__exit__(None, None, None)

    # --- building and destroying ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.database = f"regflow_f_{uuid.uuid4().hex[:10]}"
        with self._admin() as admin, admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.database}" TEMPLATE "{self.template}"'))
        url = make_url(self.server_url).set(database=self.database).render_as_string(hide_password=False)
        namespace = f"regflow-fleet-{uuid.uuid4().hex[:8]}"
        self.settings = settings_for(url, self.broker_url, namespace, clock=self.clock, work_dir=self.work_dir,
                                     smtp_port=self.smtp.port)
        self.engine: Engine = make_engine(url)
        self.sessions = session_factory(self.engine)
        self._snapshot()
        connection = connect(self.broker_url)
        Topology(namespace).declare(connection.channel())
        connection.close()
        self._reset_files()
        self.env = consumer_env(self.settings, self.crash_once_file)
        self.log_offsets = {name: self._log_size(name) for name in NAMES}
        self.processes = start_processes(self.env, log_dir=self.log_dir)

    def _destroy(self) -> None:
        if self.view is not None:  # what the last test started, or restarted, too
            stop_processes(self.view.processes)
            self.view = None
        stop_processes(self.processes)
        self.engine.dispose()
        with self._admin() as admin, admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        with contextlib.suppress(Exception):  # a broker that went away takes its queues with it
            connection = connect(self.broker_url)
            Topology(self.settings.namespace).delete(connection.channel())
            connection.close()

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Engine]:
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            yield admin
        finally:
            admin.dispose()

    def _snapshot(self) -> None:
        """The migrated state: which tables the reset empties, where the sequences stand."""
        with self.engine.begin() as connection:
            tables = connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
            filled = [t for t in tables if t not in KEPT and connection.scalar(text(f'SELECT count(*) FROM "{t}"'))]
            if filled:  # a migration that seeds data: a copy to put back at each reset
                connection.execute(text("CREATE SCHEMA fleet_seed"))
                for table in filled:
                    connection.execute(text(f'CREATE TABLE fleet_seed."{table}" AS TABLE public."{table}"'))
            self.emptied = [t for t in tables if t not in KEPT]
            self.seeded = filled
            self.sequences = connection.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")).all()

    # --- between two tests ---------------------------------------------------------------------------------

    def _give_back_processes(self) -> None:
        """Every process as the fleet started it: one per consumer and the relay, with the fleet's environment.
        A process the test restarted as it was (same environment) is kept; any other change is undone."""
        view = self.view or RunningConsumers(dict(self.processes), self.log_dir, dict(self.env))
        self.view = None
        kept: dict[str, subprocess.Popen[bytes]] = {}
        for name, process in view.processes.items():
            as_started = process is self.processes.get(name) or view.env == self.env
            if name in self.processes and process.poll() is None and as_started:
                kept[name] = process
            elif process.poll() is None:
                stop_processes({name: process})
        stop_processes({n: p for n, p in self.processes.items() if kept.get(n) is not p and p.poll() is None})
        self.crash_once_file.unlink(missing_ok=True)
        for name in NAMES:
            if name not in kept:
                self.log_offsets[name] = self._log_size(name)
                kept[name] = start_process(name, self.env, self.log_dir)
        self.processes = kept

    def _log_size(self, name: str) -> int:
        log = self.log_dir / f"{name}.log"
        return log.stat().st_size if log.exists() else 0

    def _wipe(self) -> None:
        self.clock.set(START)
        with self.engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            names = ", ".join(f'"{t}"' for t in self.emptied)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table in self.seeded:
                connection.execute(text(f'INSERT INTO public."{table}" SELECT * FROM fleet_seed."{table}"'))
            for sequence, last_value in self.sequences:
                if last_value is None:
                    connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
                else:
                    connection.execute(text("SELECT setval(:name, :value)"), {"name": sequence, "value": last_value})
        connection = connect(self.broker_url)
        channel = connection.channel()
        for queue in Topology(self.settings.namespace).all_queues():
            channel.queue_purge(queue)
        connection.close()
        self._reset_files()

    def _reset_files(self) -> None:
        self.clock.set(START)
        for folder in (self.settings.documents_dir, self.settings.chorus_drop_dir):
            shutil.rmtree(folder, ignore_errors=True)
        with self.smtp.handler.lock:
            self.smtp.handler.received.clear()
        self.smtp.handler.refuse_with = None

    def _dirt(self) -> dict[str, int]:
        """What is not as after the reset: rows, messages (parked ones included), e-mails received."""
        with self.engine.connect() as connection:
            dirt = {table: int(connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)
                    for table in self.emptied if table not in self.seeded}
        connection = connect(self.broker_url)
        channel = connection.channel()
        for queue in Topology(self.settings.namespace).all_queues():
            dirt[queue] = channel.queue_declare(queue, passive=True).method.message_count
        connection.close()
        dirt["e-mails received"] = len(self.smtp.received)
        dirt.update(in_flight(self.settings, self.sessions))
        return {what: n for what, n in dirt.items() if n}
