"""`REGFLOW_QUEUE_TYPE=quorum`: the consumers' queues are quorum queues (what a RabbitMQ cluster replicates), and the
workflow runs on them as on classic ones: a registration goes to invoiced, a command for no registration is
retried through the retry queue's per-message TTL and then refused. Tested on the local node (a cluster of one)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from producers.commands import CommandClient
from schemas.form import RegistrationForm, Signature, SignatureMethod
from tests.conftest import RunningConsumers, load_form
from tests.fleet import settings_for
from tests.integration.test_validation_consumer import view_in
from tests.rabbitmqctl import rabbitmqctl
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps
from workflow.messaging.broker import connect
from workflow.messaging.topology import Topology
from workflow.persistence.decisions import wait_for_decision
from workflow.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str, broker_url: str, clock: FileClock, tmp_path: Path, smtp: MailSink
             ) -> Iterator[Settings]:
    """The test's settings with quorum queues, declared in a namespace of its own (a queue's type is fixed)."""
    namespace = f"regflow-quorum-{uuid.uuid4().hex[:8]}"
    quorum = settings_for(database_url, broker_url, namespace, clock=clock, work_dir=tmp_path,
                          smtp_port=smtp.port).model_copy(update={"queue_type": "quorum"})
    topology = Topology(namespace, queue_type="quorum")
    connection = connect(broker_url)
    topology.declare(connection.channel())
    connection.close()
    yield quorum
    connection = connect(broker_url)
    topology.delete(connection.channel())
    connection.close()


def queue_types(namespace: str) -> dict[str, str]:
    listed = subprocess.run(rabbitmqctl("list_queues", "--quiet", "--no-table-headers", "name", "type"),
                            capture_output=True, text=True, check=True, timeout=60).stdout
    return {name: kind for name, kind in (line.split("\t") for line in listed.splitlines() if "\t" in line)
            if name.startswith(f"{namespace}.")}


def test_the_workflow_runs_on_quorum_queues(settings: Settings, deps: Deps, consumers: RunningConsumers) -> None:
    topology = Topology(settings.namespace, queue_type="quorum")
    assert queue_types(settings.namespace) == dict.fromkeys(topology.all_queues(), "quorum")
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "quorum-1")
        stray = client.record_signature("quorum-nobody", Signature(
            place="Lyon", signed_on=date(2023, 9, 1), signatory="M. B", method=SignatureMethod.ELECTRONIC,
            electronic_reference="YS"))
    assert view_in(deps, "quorum-1", "invoiced")["state"] == "invoiced"
    decision = wait_for_decision(deps.sessions, str(stray.event_id), 60)
    assert decision is not None
    assert decision.outcome == "refused"  # after its attempts, each one a trip through the quorum retry queue
    assert "quorum-nobody" in (decision.reason_fr or "")
    retried = [line for line in consumers.logs("validation").splitlines() if "message retried" in line]
    assert len(retried) == settings.max_attempts - 1  # each attempt came back from the retry queue, then refused
