"""/metrics, /healthz and /readyz of the real processes (REGFLOW_HTTP_PORT), over the real broker and database."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import RunningConsumers, load_form, wait_until
from workflow.bootstrap import Deps
from workflow.messaging.topology import CONSUMERS
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.e2e

PROCESSES = [*CONSUMERS, "relay"]  # the order of `start_processes`: each serves on base + its index


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (the machine is shared: a random base, then checked)."""
    for _ in range(50):
        base = random.randrange(20000, 60000 - count)
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@pytest.fixture
def http_port_base() -> int:
    """Overrides the conftest's 0: the `consumers` processes serve metrics and health."""
    return free_ports(len(PROCESSES))


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""  # not listening yet


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus' text format."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    series = f"{name}{{{wanted}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def scrape_until(port: int, name: str, **labels: str) -> str:
    """The /metrics text once it has the series (a counter appears at its first increment)."""
    return str(wait_until(lambda: metric(text := get(port, "/metrics")[1], name, **labels) is not None and text,
                          f"{name} {labels} on port {port}"))


def test_metrics_count_a_registration_flowing_and_each_process_is_alive_and_ready(
        settings: Settings, deps: Deps, consumers: RunningConsumers, http_port_base: int) -> None:
    port = {name: http_port_base + index for index, name in enumerate(PROCESSES)}
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "metrics-1")
    wait_until(lambda: (view := registration_timeline(deps.sessions, "metrics-1")) and view["state"] == "invoiced",
               "the registration to be invoiced")

    validation = scrape_until(port["validation"], "regflow_messages_handled_total", consumer="validation",
                              type="cmd.registration.submit")
    assert metric(validation, "regflow_messages_handled_total", consumer="validation",
                  type="cmd.registration.submit") == 1.0
    assert metric(validation, "regflow_message_handling_seconds_count", consumer="validation",
                  type="cmd.registration.submit") == 1.0
    assert metric(validation, "regflow_messages_parked_total", consumer="validation",
                  type="cmd.registration.submit") in (None, 0.0)
    invoicing = scrape_until(port["invoicing"], "regflow_messages_handled_total", consumer="invoicing",
                             type="registration.confirmed")
    assert metric(invoicing, "regflow_messages_handled_total", consumer="invoicing",
                  type="registration.confirmed") == 1.0
    relay = get(port["relay"], "/metrics")[1]
    published = metric(relay, "regflow_relay_published_total")
    assert published is not None
    assert published >= 3  # received, signed, confirmed, invoice.issued, registration.invoiced...
    assert metric(relay, "regflow_outbox_backlog") is not None  # read from the database at the scrape

    for name in PROCESSES:
        status, body = get(port[name], "/healthz")
        assert (status, json.loads(body)["alive"]) == (200, True), name
        status, body = get(port[name], "/readyz")
        assert status == 200, (name, body)
        assert json.loads(body)["checks"] == {"broker": "up", "database": "up"}


def test_readiness_names_the_database_when_it_does_not_answer(settings: Settings, tmp_path: Path) -> None:
    closed_port = free_ports(1)  # nothing listens there
    http_port = free_ports(1)
    env = {**os.environ, "REGFLOW_BROKER_URL": settings.broker_url, "REGFLOW_NAMESPACE": settings.namespace,
           "REGFLOW_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/none",
           "REGFLOW_HTTP_PORT": str(http_port), "REGFLOW_LOG_FORMAT": "json", "REGFLOW_CLOCK": settings.clock}
    with (tmp_path / "validation.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "regflow.cli", "consume", "validation"], env=env,
                                   stderr=log)
    try:
        status, body = wait_until(
            lambda: (answer := get(http_port, "/readyz"))[0] and json.loads(answer[1])["checks"]["broker"] == "up"
            and answer, "the health server, once connected to the broker", timeout=30)
        readiness: dict[str, Any] = json.loads(body)
        assert status == 503
        assert readiness["ready"] is False
        assert readiness["down"] == ["database"]
        assert readiness["checks"]["broker"] == "up"
        assert "refused" in readiness["checks"]["database"] or "connect" in readiness["checks"]["database"]
        assert get(http_port, "/healthz")[0] == 200  # alive: nothing to restart, something to look at
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
