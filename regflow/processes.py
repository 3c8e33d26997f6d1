"""Process supervision: every consumer and the relay in its own OS process (`regflow run-all`, the demo,
the tests' fleets, the benchmark)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow.messaging.topology import CONSUMERS

COMMAND = [sys.executable, "-m", "regflow.cli"]


def run_all() -> int:
    """Start them all, wait for a signal or for one of them to end, then stop them all."""
    processes = start_processes()
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"started: {', '.join(processes)} (Ctrl-C to stop)")
    while not stopping and all(p.poll() is None for p in processes.values()):
        time.sleep(0.5)
    return stop_processes(processes)


def start_processes(env: dict[str, str] | None = None, log_dir: Path | None = None,
                    start: Callable[[str, dict[str, str], Path | None], Any] | None = None) -> dict[str, Any]:
    """Each consumer and the relay in its own OS process (logs to `log_dir/<name>.log` when given), each started
    by `start` (default `start_process`; the tests' fork server gives its own, tests/zygote.py).

    A `REGFLOW_HTTP_PORT` in the environment is a base: each process serves its metrics and health on base +
    its index (validation, invoicing, notifications, payments, relay), so that they do not fight for one port.
    """
    env = env or dict(os.environ)
    http_port_base = int(env.get("REGFLOW_HTTP_PORT") or 0)
    processes = {}
    for index, name in enumerate([*CONSUMERS, "relay"]):
        process_env = {**env, "REGFLOW_HTTP_PORT": str(http_port_base + index)} if http_port_base else env
        processes[name] = (start or start_process)(name, process_env, log_dir)
    return processes


def start_process(name: str, env: dict[str, str], log_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """`name` as its own process (`invoicing-2`: a second replica of the invoicing consumer; `join`: the join
    service on REGFLOW_JOIN_PORT), its stderr
    appended to `log_dir/<name>.log` when given (the child keeps its own copy of the descriptor)."""
    args = command_args(name, env)
    if log_dir is None:
        return subprocess.Popen([*COMMAND, *args], env=env)
    with (log_dir / f"{name}.log").open("ab") as log:
        return subprocess.Popen([*COMMAND, *args], env=env, stderr=log)


def command_args(name: str, env: dict[str, str]) -> list[str]:
    """The `regflow` arguments that run process `name` (`invoicing-2`: the invoicing consumer)."""
    role = name.split("-", 1)[0]
    return {"relay": ["relay"], "join": ["join-server", "--port", env.get("REGFLOW_JOIN_PORT", "8081")]
            }.get(role, ["consume", role])


def stop_processes(processes: dict[str, Any], timeout: float = 20) -> int:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    worst = 0
    for process in processes.values():
        try:
            worst = max(worst, abs(process.wait(timeout)))
        except subprocess.TimeoutExpired:
            process.kill()
            worst = 1
    return worst
