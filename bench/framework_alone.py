"""The framework alone: a handler that does nothing, run by the real consumer runner, inbox, unit of work,
decision, outbox and relay, as separate processes against the local RabbitMQ and PostgreSQL.

Set beside the raw loop (`bench.raw_limit`: one transaction, one confirmed publish, one ack per message), it
says what the framework costs by itself, apart from the work a real stage must do (a PDF, an e-mail). The
command used is `cmd.registration.sign`, whose handler here returns at once: what remains is decoding the
envelope, the inbox check, the decision row and its `command.accepted` event in the outbox, the commit, the
relay's publish with its confirm, and the ack.

Run alone: `.venv/bin/python -m bench.framework_alone [--messages 2000]`; `bench.benchmark` runs it too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.measures import Tap, cpu_seconds, stop_all
from bench.raw_limit import ScratchDatabase
from consumers.runner import ConsumerApp, StopFlag, run_consumer
from producers.commands import CommandClient
from schemas.form import Signature
from schemas.messages import Envelope, RecordSignature
from workflow.bootstrap import bootstrap
from workflow.messaging.broker import connect
from workflow.messaging.topology import Topology
from workflow.ops.heap import settle_heap
from workflow.ops.logs import configure_logging
from workflow.persistence.db import make_engine
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

ACCEPTED = "command.accepted"


def nothing(envelope: Envelope, payload: RecordSignature, uow: UnitOfWork) -> None:
    """Returns at once: the command is accepted, and everything measured is the framework's."""


NO_OP = ConsumerApp("validation", {"cmd.registration.sign": nothing})


def consume() -> None:
    """The no-op consumer process (settings from the environment, like `regflow consume`)."""
    settings = Settings()
    configure_logging(settings.log_format)  # as `regflow consume` does: the per-message log line is part of the cost
    deps = bootstrap(settings, role=NO_OP.name)
    stop = StopFlag()
    stop.install()
    settle_heap()
    run_consumer(NO_OP, deps, stop)


def framework_alone(broker_url: str, server_url: str, messages: int, log_dir: Path) -> dict[str, Any]:
    """Messages per second through the no-op consumer and the relay, and their CPU per message."""
    namespace = f"regflow-bench-noop-{uuid.uuid4().hex[:6]}"
    log_dir.mkdir(parents=True, exist_ok=True)
    with ScratchDatabase(server_url) as database:
        _seed(database.url, messages)
        settings = Settings(database_url=database.url, broker_url=broker_url, namespace=namespace)
        connection = connect(broker_url)
        Topology(namespace).declare(connection.channel())
        connection.close()
        with CommandClient(settings, producer="bench") as client:  # queued before the consumer starts, like raw
            for n in range(messages):
                client.record_signature(f"r-{n}", Signature(place="Lyon", signatory="Bench"))
        tap = Tap(broker_url, Topology(namespace).exchange)
        tap.start()
        tap.ready.wait(10)
        env = {**os.environ, "REGFLOW_DEVELOPMENT": "1", "REGFLOW_DATABASE_URL": database.url,
               "REGFLOW_BROKER_URL": broker_url, "REGFLOW_NAMESPACE": namespace, "REGFLOW_LOG_FORMAT": "json",
               "PYTHONUNBUFFERED": "1"}
        processes = {
            "no-op consumer": subprocess.Popen([sys.executable, "-m", "bench.framework_alone", "--consume"], env=env,
                                               stderr=(log_dir / "noop-consumer.log").open("ab")),
            "relay": subprocess.Popen([sys.executable, "-m", "regflow.cli", "relay"], env=env,
                                      stderr=(log_dir / "noop-relay.log").open("ab"))}
        try:
            _wait(lambda: tap.count(ACCEPTED) >= 1, "the first decision", 60)
            cpu_before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
            _wait(lambda: tap.count(ACCEPTED) >= messages, f"{messages} decisions", 60 + messages * 0.05)
            cpu_after = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        finally:
            stop_all(processes, tap, broker_url, Topology(namespace))
    with tap.lock:
        times = [at for at, kind, _, _ in tap.seen if kind == ACCEPTED]
    span = max(times) - min(times)
    cpu_ms = {name: round((cpu_after[name] - cpu_before[name]) / (messages - 1) * 1000, 2) for name in processes}
    return {"messages": messages, "seconds": round(span, 3), "per_second": round((messages - 1) / span, 1),
            "cpu_ms_per_message": {**cpu_ms, "total": round(sum(cpu_ms.values()), 2)}}


def _seed(database_url: str, messages: int) -> None:
    """The registrations the commands name (the decision row refers to its registration)."""
    from sqlalchemy import text

    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO registrations (id, state, version, client_is_public, form, errors, warnings, created_at,"
            " updated_at) VALUES (:id, 'received', 1, true, '{}', '[]', '[]', now(), now())"),
            [{"id": f"r-{n}"} for n in range(messages)])
    engine.dispose()


def _wait(condition: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--consume", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.consume:
        consume()
        return 0
    broker_url = os.environ.get("REGFLOW_BROKER_URL", Settings().broker_url)
    server_url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    print(framework_alone(broker_url, server_url, args.messages, Path("var/bench/logs")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
