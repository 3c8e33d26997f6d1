"""End-to-end benchmark against the local RabbitMQ and PostgreSQL, in one run.

1. The raw limit of this machine with the project's durability settings: a plain pika consumer
   (durable queue, persistent messages, manual acks, the project's prefetch) doing, per message, one
   PostgreSQL transaction (inbox insert, versioned update, outbox insert), then a publish with a
   publisher confirm, then the ack.
2. The project: N registrations submitted at once and driven to 'paid' (validation, invoicing with
   its PDF, notifications over SMTP, payments) with every consumer and the relay as separate
   processes; then a steady offered load. Latencies are wall-clock, from the submission to the event
   seen on the bus.
3. With --scaling: the same with 2 and 4 replicas (--scaling-replicas), and with 1,000 and 10,000 registrations in
   one session (--scaling-sizes), one replica each.

Figures are printed, written as JSON and plotted (PNG) in --output. Run: `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import measures
from bench.framework_alone import framework_alone
from bench.library_costs import library_costs
from bench.measures import (
    STAGE_OUTPUT,
    Tap,
    cpu_seconds,
    first,
    latencies,
    peak_memory_mb,
    percentiles,
    plot,
    stop_all,
    timeline,
)
from bench.raw_limit import ScratchDatabase, raw_limit
from producers.commands import CommandClient
from schemas.form import RegistrationForm
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.domain.clock import PARIS
from workflow.messaging.broker import connect
from workflow.messaging.topology import CONSUMERS, Topology
from workflow.persistence.db import make_engine, session_factory
from workflow.persistence.orm import InboxRow, InvoiceRow
from workflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "tests" / "forms" / "valid"


# --- 2. the project ---------------------------------------------------------------------------------------


def wait_for(condition: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


def start(env: dict[str, str], replicas: int, log_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    processes = {}
    for role in [*CONSUMERS, "relay"]:
        for n in range(1, replicas + 1):
            name = role if n == 1 else f"{role}-{n}"
            args = ["relay"] if role == "relay" else ["consume", role]
            log = (log_dir / f"{name}.log").open("ab")
            processes[name] = subprocess.Popen([sys.executable, "-m", "regflow.cli", *args], env=env, stderr=log)
    return processes


def project(broker_url: str, server_url: str, *, registrations: int, replicas: int, steady_rate: float,
            steady_seconds: float, output: Path) -> dict[str, Any]:
    namespace = f"regflow-bench-{uuid.uuid4().hex[:6]}"
    work = output / namespace
    (work / "logs").mkdir(parents=True)
    clock = FileClock(work / "clock.txt")
    clock.set(datetime(2023, 9, 1, 10, tzinfo=PARIS))
    with ScratchDatabase(server_url) as database, MailSink(port=0) as smtp:
        settings = Settings(database_url=database.url, broker_url=broker_url, namespace=namespace,
                            clock=f"file:{clock.path}", smtp_port=smtp.port)
        connection = connect(broker_url)
        Topology(namespace).declare(connection.channel())
        connection.close()
        env = {**os.environ, "REGFLOW_DEVELOPMENT": "1", "REGFLOW_DATABASE_URL": database.url,
               "REGFLOW_BROKER_URL": broker_url,
               "REGFLOW_NAMESPACE": namespace, "REGFLOW_CLOCK": settings.clock, "REGFLOW_LOG_FORMAT": "json",
               "REGFLOW_SMTP_PORT": str(smtp.port), "REGFLOW_MAIL_POLL_SECONDS": "0.2",
               "REGFLOW_DOCUMENTS_DIR": str(work / "documents"), "REGFLOW_CHORUS_DROP_DIR": str(work / "chorus"),
               "REGFLOW_PERIODIC_CHECK_SECONDS": "3600", "PYTHONUNBUFFERED": "1"}
        tap = Tap(broker_url, Topology(namespace).exchange)
        tap.start()
        tap.ready.wait(10)
        processes = start(env, replicas, work / "logs")
        time.sleep(1.5)  # every process connected and consuming
        try:
            idle = {name: cpu_seconds(p.pid) for name, p in processes.items()}  # start-up (imports) left out
            result = _drive(settings, clock, tap, smtp, registrations, steady_rate=steady_rate,
                            steady_seconds=steady_seconds,
                            cpu=lambda: {name: cpu_seconds(p.pid) - idle[name] for name, p in processes.items()})
            result["peak_memory_mb"] = {name: peak_memory_mb(p.pid) for name, p in processes.items()}
        finally:
            stop_all(processes, tap, broker_url, Topology(namespace))
        sessions = session_factory(make_engine(database.url))
        with sessions() as session:
            handled = dict(session.execute(select(InboxRow.consumer, func.count()).group_by(InboxRow.consumer)).all())
        result["messages_handled"] = handled
        result["timeline"] = timeline(tap)
    result.update(registrations=registrations, replicas=replicas)
    return result


def _drive(settings: Settings, clock: FileClock, tap: Tap, smtp: MailSink, count: int, *, steady_rate: float,
           steady_seconds: float, cpu: Callable[[], dict[str, float]]) -> dict[str, Any]:
    form = RegistrationForm.model_validate_json((FORMS / "handicap-departement.json").read_text(encoding="utf-8"))
    ids = [f"bench-{n:06d}" for n in range(count)]
    submitted: dict[str, float] = {}
    started = time.perf_counter()
    with CommandClient(settings, producer="bench") as client:
        for registration_id in ids:
            submitted[registration_id] = time.perf_counter()
            client.submit_form(_unique(form, registration_id), registration_id)
    submit_seconds = time.perf_counter() - started
    timeout = 120 + count * 0.5
    wait_for(lambda: tap.count("registration.invoiced") >= count, f"{count} invoiced", timeout)
    invoiced_at = time.perf_counter()
    clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))
    with CommandClient(settings, producer="bench") as client:  # a client per phase: no idle connection
        client.hold_session("cpom-handicap-2023-09-15", date(2023, 9, 15), reason="benchmark, no sheet")
    wait_for(lambda: tap.count("registration.session_held") >= count, "session held", timeout)
    clock.set(datetime(2023, 10, 12, 10, tzinfo=PARIS))
    sessions = session_factory(make_engine(settings.database_url))
    with sessions() as session:
        numbers = list(session.scalars(select(InvoiceRow.number)))
    with CommandClient(settings, producer="bench") as client:
        for number in numbers:
            client.record_payment(payment_id=f"PAY-{number}", invoice_number=number, amount=Decimal("1190.00"),
                                  received_on=date(2023, 10, 12), means="mandat_administratif")
    wait_for(lambda: tap.count("registration.paid") >= count, f"{count} paid", timeout)
    emails_expected = 4 * count
    wait_for(lambda: tap.count("email.sent") >= emails_expected, f"{emails_expected} e-mails", timeout)
    finished = time.perf_counter()
    burst_cpu = cpu()  # process CPU (user + system) of each consumer and the relay over the burst
    burst_events = len(tap.seen)

    with tap.lock:
        seen = list(tap.seen)
    first_seen = first(seen, submitted)
    stage_rates = measures.stage_rates(seen, set(submitted))
    burst = {
        "submit_seconds": round(submit_seconds, 2),
        "to_invoiced_seconds": round(invoiced_at - started, 2),
        "to_paid_seconds": round(finished - started, 2),
        "registrations_per_second": round(count / (finished - started), 1),
        "registrations_invoiced_per_second": round(count / (invoiced_at - started), 1),
        "events_per_second": round(burst_events / (finished - started), 1),
        "emails_received": len(smtp.received),
        "cpu_ms_per_registration": round(sum(burst_cpu.values()) / count * 1000, 1),
        "cpu_ms_per_unit": _cpu_per_unit(burst_cpu, seen, set(submitted)),
        "latency_ms": {"submitted_to_confirmed": percentiles(latencies(first_seen, submitted,
                                                                        "registration.confirmed")),
                       "submitted_to_invoiced": percentiles(latencies(first_seen, submitted,
                                                                       "registration.invoiced"))},
    }
    steady, steady_submitted, steady_first = _steady(settings, clock, tap, count, steady_rate=steady_rate,
                                                          steady_seconds=steady_seconds)
    origin = min(submitted.values())
    points = [(at - origin, first_seen[(rid, "registration.confirmed")] - at) for rid, at in submitted.items()
              if (rid, "registration.confirmed") in first_seen]
    points += [(at - origin, steady_first[(rid, "registration.confirmed")] - at) for rid, at in steady_submitted.items()
               if (rid, "registration.confirmed") in steady_first]
    return {"burst": burst, "steady": steady, "stage_per_second": stage_rates, "_confirm_points": points}


def _steady(settings: Settings, clock: FileClock, tap: Tap, count: int, *, steady_rate: float, steady_seconds: float
            ) -> tuple[dict[str, Any], dict[str, float], dict[tuple[str, str], float]]:
    """Steady offered load: the October session, one registration every 1/rate seconds."""
    october = RegistrationForm.model_validate_json(
        (FORMS / "aide-domicile-departement-october.json").read_text(encoding="utf-8"))
    clock.set(datetime(2023, 10, 12, 11, tzinfo=PARIS))
    steady_ids = [f"steady-{n:05d}" for n in range(int(steady_rate * steady_seconds))]
    steady_submitted: dict[str, float] = {}
    with CommandClient(settings, producer="bench") as client:
        begin = time.perf_counter()
        for n, registration_id in enumerate(steady_ids):
            pause = begin + n / steady_rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            steady_submitted[registration_id] = time.perf_counter()
            client.submit_form(_unique(october, registration_id), registration_id)
    wait_for(lambda: tap.count("registration.invoiced") >= count + len(steady_ids), "steady invoiced", 120)
    with tap.lock:
        seen = list(tap.seen)
    steady_first = first(seen, steady_submitted)
    steady = {"offered_per_second": steady_rate, "seconds": steady_seconds, "registrations": len(steady_ids),
              "latency_ms": {"submitted_to_confirmed": percentiles(latencies(steady_first, steady_submitted,
                                                                              "registration.confirmed")),
                             "submitted_to_invoiced": percentiles(latencies(steady_first, steady_submitted,
                                                                             "registration.invoiced"))}}
    return steady, steady_submitted, steady_first


def _cpu_per_unit(burst_cpu: dict[str, float], seen: list[tuple[float, str, str | None, str]],
                  burst: set[str]) -> dict[str, float]:
    """Each stage's CPU over the burst divided by the units it turned out (`STAGE_OUTPUT`), its replicas summed;
    the relay's per event it published."""
    units = {stage: sum(1 for _, kind, rid, _ in seen if kind == output and rid in burst)
             for stage, output in STAGE_OUTPUT.items()}
    units["relay"] = len(seen)
    per_stage: dict[str, float] = {}
    for name, seconds in burst_cpu.items():
        stage = name.split("-")[0]
        per_stage[stage] = per_stage.get(stage, 0.0) + seconds
    return {stage: round(seconds / units[stage] * 1000, 2) for stage, seconds in per_stage.items() if units.get(stage)}


def _unique(form: RegistrationForm, registration_id: str) -> RegistrationForm:
    """Participants with e-mails of their own, as in real life (no 'already registered' warning)."""
    participants = [p.model_copy(update={"email": f"{registration_id}.{n}@bench.example"})
                    for n, p in enumerate(form.participants)]
    return form.model_copy(update={"participants": participants})


# --- report -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--raw-messages", type=int, default=3000)
    parser.add_argument("--steady-rate", type=float, default=20)
    parser.add_argument("--steady-seconds", type=float, default=20)
    parser.add_argument("--scaling", action="store_true", help="also more replicas, and other session sizes")
    parser.add_argument("--scaling-replicas", type=int, nargs="*", default=[2, 4],
                        help="with --scaling: replicas of each consumer, at --registrations")
    parser.add_argument("--scaling-sizes", type=int, nargs="*", default=[1000, 10000],
                        help="with --scaling: registrations in one session, one replica")
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--scratch", action="store_true",
                        help="a trial run: leave bench/results/latest.json and docs/benchmark.json as they are")
    args = parser.parse_args(argv)
    broker_url = os.environ.get("REGFLOW_BROKER_URL", Settings().broker_url)
    server_url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args.output.mkdir(parents=True, exist_ok=True)
    prefetch = Settings().prefetch
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    print(f"machine: {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}")

    raw = raw_limit(broker_url, server_url, args.raw_messages, prefetch)
    print(f"raw limit (consume -> 1 PostgreSQL transaction -> confirmed publish -> ack, prefetch {prefetch}): "
          f"{raw['per_second']} messages/s")
    alone = framework_alone(broker_url, server_url, args.raw_messages, args.output / "logs")
    print(f"framework alone (a no-op handler through the runner, inbox, decision, outbox and relay): "
          f"{alone['per_second']} messages/s = {alone['per_second'] / raw['per_second']:.2f} of raw; "
          f"{alone['cpu_ms_per_message']['total']} ms CPU per message")
    with MailSink(port=0) as smtp:
        libraries = library_costs(Settings(smtp_port=smtp.port), FORMS / "handicap-departement.json")
    run = project(broker_url, server_url, registrations=args.registrations, replicas=args.replicas,
                  steady_rate=args.steady_rate, steady_seconds=args.steady_seconds, output=args.output)
    result: dict[str, Any] = {"machine": machine, "raw": raw, "framework_alone": alone, "libraries": libraries,
                              "project": run}
    _print(result)
    if args.scaling:
        result["scaling"] = _scaling(broker_url, server_url, args)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    plot(result, args.output / "benchmark.png")
    result["project"].pop("_confirm_points")
    result = {**summary(result), **result}
    text = json.dumps(result, indent=2, default=str)
    (args.output / f"benchmark-{stamp}.json").write_text(text, encoding="utf-8")
    for kept in () if args.scratch else (ROOT / "bench" / "results" / "latest.json", ROOT / "docs" / "benchmark.json"):
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(text + "\n", encoding="utf-8")
    print(f"\nfigures: {args.output / f'benchmark-{stamp}.json'}, bench/results/latest.json, docs/benchmark.json; "
          f"plot: {args.output / 'benchmark.png'}")
    return 0


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, under the keys the README and issue #21 read."""
    run, burst = result["project"], result["project"]["burst"]
    stages = {stage: {"cpu_ms_per_unit": cpu_ms,
                      "library_ms_per_unit": result["libraries"].get(stage, {}).get("total")}
              for stage, cpu_ms in burst["cpu_ms_per_unit"].items()}
    memory = {str(run["registrations"]): run["peak_memory_mb"]}
    for row in result.get("scaling", []):
        if row["replicas"] == 1:
            memory[str(row["registrations"])] = row["peak_memory_mb"]
    return {"registrations_per_second": burst["registrations_per_second"],
            "cpu_ms_per_registration": burst["cpu_ms_per_registration"],
            "framework_to_raw_ratio": round(result["framework_alone"]["per_second"] / result["raw"]["per_second"], 2),
            "stages": stages, "peak_memory_mb": memory}


def _print(result: dict[str, Any]) -> None:
    run, raw = result["project"], result["raw"]
    burst, steady = run["burst"], run["steady"]
    print(f"\nproject, {run['registrations']} registrations at once, {run['replicas']} replica(s) of each consumer:")
    print(f"  submitted in {burst['submit_seconds']} s; all invoiced after {burst['to_invoiced_seconds']} s; "
          f"all paid after {burst['to_paid_seconds']} s")
    print(f"  end to end: {burst['registrations_per_second']} registrations/s to paid "
          f"({burst['registrations_invoiced_per_second']}/s to invoiced), {burst['events_per_second']} events/s, "
          f"{burst['emails_received']} e-mails received")
    for name, figures in burst["latency_ms"].items():
        print(f"  {name.replace('_', ' ')}: " + ", ".join(f"{k} {v} ms" for k, v in figures.items()))
    print(f"steady {steady['offered_per_second']:g} registrations/s for {steady['seconds']:g} s:")
    for name, figures in steady["latency_ms"].items():
        print(f"  {name.replace('_', ' ')}: " + ", ".join(f"{k} {v} ms" for k, v in figures.items()))
    print("stages during the burst (units turned out per second, and that / raw limit):")
    for consumer, rate in run["stage_per_second"].items():
        unit = STAGE_OUTPUT[consumer]
        print(f"  {consumer:<14} {rate:>8}/s {unit:<24} {rate / raw['per_second']:>6.0%} of raw  "
              f"({run['messages_handled'].get(consumer, 0)} messages handled in all)")
    print(f"CPU per registration, every process: {burst['cpu_ms_per_registration']} ms; per unit of each stage "
          "(and its library calls alone): " + ", ".join(
              f"{stage} {ms} ms ({result['libraries'].get(stage, {}).get('total', '-')})"
              for stage, ms in burst["cpu_ms_per_unit"].items()))
    print("peak memory (VmHWM): " + ", ".join(f"{k} {v} MB" for k, v in run["peak_memory_mb"].items()))


def _scaling(broker_url: str, server_url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    runs = [(args.registrations, r) for r in args.scaling_replicas] + [(n, 1) for n in args.scaling_sizes]
    for registrations, replicas in runs:
        run = project(broker_url, server_url, registrations=registrations, replicas=replicas, steady_rate=0.5,
                      steady_seconds=2, output=args.output)
        burst = run["burst"]
        row = {"registrations": registrations, "replicas": replicas, "to_paid_seconds": burst["to_paid_seconds"],
               "registrations_per_second": burst["registrations_per_second"],
               "peak_memory_mb": run["peak_memory_mb"]}
        print(f"scaling: {registrations} registrations, {replicas} replica(s): {burst['to_paid_seconds']} s to paid, "
              f"{burst['registrations_per_second']}/s; memory " + ", ".join(
                  f"{k} {v}" for k, v in run["peak_memory_mb"].items() if "-" not in k))
        rows.append(row)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
