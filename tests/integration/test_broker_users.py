"""Least privilege on the real broker: each process runs with its own RabbitMQ user, the workflow still
goes through, and a user cannot touch another consumer's queue nor publish where it has no business."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pika.exceptions
import pytest

from producers.commands import CommandClient
from regflow.cli import stop_processes
from schemas.form import RegistrationForm
from tests.conftest import load_form, wait_until
from workflow.bootstrap import Deps
from workflow.broker import connect
from workflow.broker_users import ROLES, user_name
from workflow.mail_sink import MailSink
from workflow.settings import Settings
from workflow.status import collect_status
from workflow.topology import CONSUMERS, Topology
from workflow.views import registration_timeline

pytestmark = pytest.mark.integration


def url_for(broker_url: str, user: str, password: str) -> str:
    parts = urlsplit(broker_url)
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password, safe='')}@"
                                            f"{parts.hostname}:{parts.port or 5672}"))


@pytest.fixture
def broker_users(settings: Settings, tmp_path: Path) -> Iterator[dict[str, str]]:
    """`regflow broker-users apply` on the local node: role -> password."""
    if shutil.which("rabbitmqctl") is None:
        if os.environ.get("CI"):
            pytest.fail("rabbitmqctl is needed to create broker users (CI runs the broker locally)")
        pytest.skip("no local RabbitMQ node to create users on (rabbitmqctl)")
    store = tmp_path / "broker-passwords.json"
    env = {**os.environ, "REGFLOW_BROKER_URL": settings.broker_url, "REGFLOW_NAMESPACE": settings.namespace}
    done = subprocess.run([sys.executable, "-m", "regflow.cli", "broker-users", "apply", "--passwords-file",
                           str(store)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "broker users ready" in done.stdout
    assert oct(store.stat().st_mode)[-3:] == "600", "the passwords file is readable by its owner only"
    yield json.loads(store.read_text())
    topology = Topology(settings.namespace)
    deletions = [subprocess.Popen(["rabbitmqctl", "-q", "delete_user", user_name(topology, role)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for role in ROLES]
    for deletion in deletions:
        deletion.wait(60)


def test_every_process_with_its_own_user_pushes_a_registration_through(
        settings: Settings, deps: Deps, broker_users: dict[str, str], smtp: MailSink, tmp_path: Path) -> None:
    topology = Topology(settings.namespace)
    base = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_NAMESPACE": settings.namespace,
            "REGFLOW_CLOCK": settings.clock, "REGFLOW_BROKER_DECLARE": "own", "REGFLOW_LOG_FORMAT": "json",
            "REGFLOW_DOCUMENTS_DIR": str(settings.documents_dir), "REGFLOW_SMTP_PORT": str(smtp.port),
            "REGFLOW_CHORUS_DROP_DIR": str(settings.chorus_drop_dir), "REGFLOW_MAIL_POLL_SECONDS": "0.2"}
    processes = {}
    for role in [*CONSUMERS, "relay"]:
        env = {**base, "REGFLOW_BROKER_URL": url_for(settings.broker_url, user_name(topology, role),
                                                     broker_users[role])}
        args = ["relay"] if role == "relay" else ["consume", role]
        log = (tmp_path / f"{role}.log").open("ab")
        processes[role] = subprocess.Popen([sys.executable, "-m", "regflow.cli", *args], env=env, stderr=log)
    try:
        intake = settings.model_copy(update={
            "broker_url": url_for(settings.broker_url, user_name(topology, "intake"), broker_users["intake"]),
            "broker_declare": "own"})
        with CommandClient(intake) as client:
            client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "lp-1")
        view = wait_until(lambda: (v := registration_timeline(deps.sessions, "lp-1")) and v["state"] == "invoiced"
                          and len(v["emails"]) == 4 and v, "invoiced with its e-mails, every process restricted")
        assert view["state"] == "invoiced"
        wait_until(lambda: len(smtp.received) == 4, "the four e-mails sent")
    finally:
        stop_processes(processes)
    for role in processes:
        logs = (tmp_path / f"{role}.log").read_text()
        assert "ACCESS_REFUSED" not in logs, f"{role} was refused something"
        assert broker_users[role] not in logs, f"{role} logged its broker password"


def _refused(settings: Settings, user: str, password: str, action: str) -> str:
    connection = connect(url_for(settings.broker_url, user, password))
    channel = connection.channel()
    channel.confirm_delivery()
    topology = Topology(settings.namespace)
    try:
        if action == "read another consumer's queue":
            channel.basic_get(topology.work_queue("invoicing"))
        elif action == "publish on the main exchange":
            channel.basic_publish(topology.exchange, "registration.confirmed", b"{}",
                                  pika.BasicProperties(delivery_mode=2))
        elif action == "delete a queue":
            channel.queue_delete(topology.work_queue("payments"))
    except pika.exceptions.ChannelClosedByBroker as exc:
        return f"{exc.reply_code} {exc.reply_text}"
    finally:
        if connection.is_open:
            connection.close()
    return "allowed"


REFUSALS = [
    ("validation", "read another consumer's queue"),
    ("validation", "publish on the main exchange"),
    ("relay", "read another consumer's queue"),
    ("intake", "delete a queue"),
    ("operations", "publish on the main exchange"),
    ("web", "delete a queue"),
    ("web", "read another consumer's queue"),
]


def test_a_user_is_refused_what_its_role_does_not_need(settings: Settings, broker_users: dict[str, str]) -> None:
    topology = Topology(settings.namespace)
    answers = {(role, action): _refused(settings, user_name(topology, role), broker_users[role], action)
               for role, action in REFUSALS}
    assert {key: answer.split(" - ")[0] for key, answer in answers.items()} == dict.fromkeys(
        REFUSALS, "403 ACCESS_REFUSED"), answers


def test_the_page_s_user_sends_commands_and_counts_the_queues_without_reading_them(
        settings: Settings, broker_users: dict[str, str]) -> None:
    """The back-office page's user: the intake's right to publish, and the depths of its Queue health panel
    (passive declares need no permission); it may not read a queue, so the oldest message's age is left out."""
    topology = Topology(settings.namespace)
    web = settings.model_copy(update={
        "broker_url": url_for(settings.broker_url, user_name(topology, "web"), broker_users["web"]),
        "broker_declare": "own"})
    with CommandClient(web, producer="support") as client:
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "web-1")
    status = collect_status(web)
    validation = next(row for row in status["queues"] if row["consumer"] == "validation")
    assert (status["broker"], validation["work"]["messages"], validation["work"]["oldest_age_seconds"]) == (
        "up", 1, None)
    assert not [p for p in status["problems"] if "refused" in p or "does not exist" in p], status["problems"]
    operations = settings.model_copy(update={
        "broker_url": url_for(settings.broker_url, user_name(topology, "operations"), broker_users["operations"])})
    seen = next(row for row in collect_status(operations)["queues"] if row["consumer"] == "validation")
    assert seen["work"]["oldest_age_seconds"] is not None, "operations may peek at the head"
