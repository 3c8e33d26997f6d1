"""What the benchmark measures: the events seen on the bus, latencies, stage rates, memory, the plot."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.messaging.broker import connect

# What each consumer turns out, one per unit of work: the stage's rate is how many it turned out per
# second during the burst (first to last). Each unit is one transaction, like the raw loop's message.
STAGE_OUTPUT = {"validation": "registration.confirmed", "invoicing": "invoice.issued",
                "notifications": "email.sent", "payments": "payment.received"}


class Tap(threading.Thread):
    """Every message on the exchange, with the wall time it was seen (its own connection and thread)."""

    def __init__(self, broker_url: str, exchange: str) -> None:
        super().__init__(daemon=True)
        self.broker_url, self.exchange = broker_url, exchange
        self.seen: list[tuple[float, str, str | None, str]] = []  # (time, type, registration, producer)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.stopping = False

    def run(self) -> None:
        connection = connect(self.broker_url)
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, self.exchange, routing_key="#")
        self.ready.set()
        for method, _, body in channel.consume(queue, auto_ack=True, inactivity_timeout=0.2):
            if self.stopping:
                break
            if method is None:
                continue
            now = time.perf_counter()
            message = json.loads(body)
            with self.lock:
                self.seen.append((now, message["type"], message.get("registration_id"), message["producer"]))
                self.counts[message["type"]] += 1
        connection.close()

    def count(self, message_type: str) -> int:
        with self.lock:
            return self.counts[message_type]


@dataclass
class Run:
    registrations: int
    replicas: int
    submitted_at: dict[str, float] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)


def peak_memory_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": round(pick(0.50) * 1000, 1), "p95": round(pick(0.95) * 1000, 1),
            "p99": round(pick(0.99) * 1000, 1), "max": round(ordered[-1] * 1000, 1)}


def first(seen: list[tuple[float, str, str | None, str]], ids: dict[str, float]) -> dict[tuple[str, str], float]:
    first: dict[tuple[str, str], float] = {}
    for at, kind, registration_id, _ in seen:
        if registration_id in ids:
            first.setdefault((registration_id, kind), at)
    return first


def latencies(first: dict[tuple[str, str], float], submitted: dict[str, float], kind: str) -> list[float]:
    return [first[(rid, kind)] - at for rid, at in submitted.items() if (rid, kind) in first]


def stage_rates(seen: list[tuple[float, str, str | None, str]], burst: set[str]) -> dict[str, float]:
    times: dict[str, list[float]] = defaultdict(list)
    for at, kind, registration_id, _ in seen:
        if registration_id in burst:
            times[kind].append(at)
    rates = {}
    for consumer, kind in STAGE_OUTPUT.items():
        found = times.get(kind, [])
        if len(found) > 1:
            rates[consumer] = round(len(found) / (max(found) - min(found)), 1)
    return rates


def timeline(tap: Tap) -> dict[str, list[int]]:
    """Events per second, by type group, from the first event."""
    if not tap.seen:
        return {}
    origin = tap.seen[0][0]
    groups = {"registration.confirmed": "confirmed", "registration.invoiced": "invoiced", "email.sent": "e-mails sent",
              "registration.paid": "paid"}
    series: dict[str, Counter[int]] = {label: Counter() for label in groups.values()}
    for at, kind, _, _ in tap.seen:
        if kind in groups:
            series[groups[kind]][int(at - origin)] += 1
    length = int(tap.seen[-1][0] - origin) + 1
    return {label: [counts[s] for s in range(length)] for label, counts in series.items()}


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    project_run = result["project"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7))
    for label, values in project_run["timeline"].items():
        top.plot(range(len(values)), values, label=label)
    top.set_xlabel("seconds since the first event")
    top.set_ylabel("events per second")
    top.set_title(f"{project_run['registrations']} registrations submitted at once, then "
                  f"{project_run['steady']['offered_per_second']:g}/s steady")
    top.legend()
    points = project_run["_confirm_points"]
    bottom.scatter([s for s, _ in points], [lat * 1000 for _, lat in points], s=2)
    bottom.set_xlabel("submitted at (s since the first submission)")
    bottom.set_ylabel("submitted -> confirmed (ms)")
    bottom.set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (/proc/<pid>/stat, fields 14 and 15), in seconds:
    the per-unit figures hold on a noisy machine, unlike wall time."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_all(processes: dict[str, Any], tap: Tap, broker_url: str, topology: Any) -> None:
    """The end of a run: its processes stopped, the tap closed, its namespace removed from the broker."""
    from regflow.processes import stop_processes

    stop_processes(processes)
    tap.stopping = True
    tap.join(5)
    connection = connect(broker_url)
    topology.delete(connection.channel())
    connection.close()
