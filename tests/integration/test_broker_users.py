"""Least privilege on the real broker: each process runs with its own RabbitMQ user, the workflow still
goes through, and a user cannot touch another consumer's queue nor publish where, or what, it has no
business publishing (topic permissions on the main exchange)."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pika.exceptions
import pytest

import regflow.web
from producers.commands import CommandClient
from regflow.processes import stop_processes
from schemas.form import Participant, RegistrationForm
from schemas.messages import COMMANDS, EVENTS
from tests.conftest import load_form, wait_until
from tests.zygote import regflow_process
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps
from workflow.messaging.broker import Publisher, connect
from workflow.messaging.broker_users import (
    ADMIN,
    COMMANDS_BY_ROLE,
    PRODUCER_ROLES,
    ROLES,
    definitions,
    passwords_for,
    set_topic_permissions_commands,
    topic_permissions,
    user_name,
)
from workflow.messaging.topology import CONSUMER_BINDINGS, CONSUMERS, Topology
from workflow.ops.status import collect_status
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

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
    delete_users([user_name(Topology(settings.namespace), role) for role in ROLES])


def delete_users(names: list[str]) -> None:
    """Every user of the test in one `rabbitmqctl eval` (each `rabbitmqctl` call starts an Erlang VM: a second
    of CPU); one `delete_user` each if the node's internal API is not the one expected."""
    erlang = ", ".join(f'<<"{name}">>' for name in names)
    done = subprocess.run(["rabbitmqctl", "-q", "eval", f"[catch rabbit_auth_backend_internal:delete_user(U, "
                           f'<<"regflow-tests">>) || U <- [{erlang}]], ok.'], capture_output=True, text=True,
                          timeout=60, check=False)  # `catch`: a user already gone is not an error
    if done.returncode != 0:
        for name in names:
            subprocess.run(["rabbitmqctl", "-q", "delete_user", name], capture_output=True, timeout=60, check=False)


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
        processes[role] = regflow_process(args, env, stderr=log)
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
    """What the broker answers `user` doing `action`: "allowed", or the code and text it closed the channel
    with. `publish <type>` publishes on the main exchange with publisher confirms, as every producer does: a
    refused message closes the channel, and pika raises from `basic_publish` itself."""
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
        elif action.startswith("publish "):
            channel.basic_publish(topology.exchange, action.removeprefix("publish "), b"{}",
                                  pika.BasicProperties(delivery_mode=2))
        elif action == "bind its queue to another consumer's messages":
            channel.queue_bind(topology.work_queue("validation"), topology.exchange, routing_key="invoice.issued")
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
    ("validation", "bind its queue to another consumer's messages"),
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


# Who publishes what on the main exchange: each role's own types go through, any other is refused by the
# topic permissions (the routing key is the message type).
PUBLISHED = [
    ("intake", "cmd.registration.submit"),
    ("intake", "cmd.registration.sign"),
    ("support", "cmd.registration.replace_participant"),
    ("finance", "cmd.payment.record"),
    ("finance", "cmd.invoice.correct"),
    ("operations", "cmd.session.hold"),
    ("operations", "cmd.session.move"),
    ("web", "cmd.registration.replace_participant"),
    ("web", "cmd.session.hold"),
    ("web", "cmd.payment.record"),
    ("relay", "invoice.issued"),
    ("relay", "registration.confirmed"),
    ("relay", "command.refused"),
]
TOPIC_REFUSALS = [
    ("intake", "invoice.issued"),  # the issue: anyone allowed on the exchange could publish any event
    ("intake", "registration.confirmed"),
    ("intake", "cmd.payment.record"),
    ("intake", "cmd.registration.replace_participant"),
    ("support", "cmd.registration.submit"),
    ("support", "invoice.settled"),
    ("finance", "cmd.session.hold"),
    ("finance", "payment.received"),
    ("operations", "cmd.payment.record"),
    ("operations", "session.held"),
    ("web", "registration.confirmed"),
    ("web", "cmd.registration.submit"),
    ("web", "cmd.session.cancel"),
    ("web", "cmd.invoice.correct"),
    ("relay", "cmd.registration.submit"),
    ("relay", "cmd.payment.record"),
]


def test_each_role_publishes_its_own_message_types_and_is_refused_the_others(
        settings: Settings, broker_users: dict[str, str]) -> None:
    topology = Topology(settings.namespace)

    def answer(role: str, message_type: str) -> str:
        return _refused(settings, user_name(topology, role), broker_users[role], f"publish {message_type}")

    assert {case: answer(*case) for case in PUBLISHED} == dict.fromkeys(PUBLISHED, "allowed")
    refused = {case: answer(*case) for case in TOPIC_REFUSALS}
    expected = {(role, message_type): f"403 ACCESS_REFUSED - access to topic '{message_type}' in exchange "
                f"'{topology.exchange}' in vhost '/' refused for user '{user_name(topology, role)}'"
                for role, message_type in TOPIC_REFUSALS}
    assert refused == expected


def test_the_intake_s_publisher_is_refused_invoice_issued_and_still_submits_forms(
        settings: Settings, broker_users: dict[str, str]) -> None:
    """Through the producers' own publisher (publisher confirms): the forged event raises and reaches no
    queue; a form from the same user goes through to the validation queue."""
    topology = Topology(settings.namespace)
    intake = settings.model_copy(update={
        "broker_url": url_for(settings.broker_url, user_name(topology, "intake"), broker_users["intake"]),
        "broker_declare": "own"})
    with (Publisher(intake.broker_url, Topology(settings.namespace, scope="intake")) as publisher,
          pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused):
        publisher.publish_raw("invoice.issued", b'{"type": "invoice.issued"}',
                              pika.BasicProperties(delivery_mode=2, type="invoice.issued"), mandatory=False)
    assert (refused.value.reply_code, refused.value.reply_text.split(" - ")[0]) == (403, "ACCESS_REFUSED")
    assert "access to topic 'invoice.issued'" in refused.value.reply_text
    with CommandClient(intake) as client:
        client.submit_form(RegistrationForm.model_validate(load_form("handicap-departement.json")), "intake-1")
    connection = connect(settings.broker_url)
    try:
        channel = connection.channel()
        depths = {consumer: channel.queue_declare(topology.work_queue(consumer), passive=True).method.message_count
                  for consumer in CONSUMERS}
    finally:
        connection.close()
    # The form reached validation; the forged invoice.issued reached neither notifications nor payments.
    assert depths == {"validation": 1, "invoicing": 0, "notifications": 0, "payments": 0}


def test_the_page_s_user_sends_commands_and_counts_the_queues_without_reading_them(
        settings: Settings, broker_users: dict[str, str]) -> None:
    """The back-office page's user: the commands of its forms, and the depths of its Queue health panel
    (passive declares need no permission); it may not read a queue, so the oldest message's age is left out."""
    topology = Topology(settings.namespace)
    web = settings.model_copy(update={
        "broker_url": url_for(settings.broker_url, user_name(topology, "web"), broker_users["web"]),
        "broker_declare": "own"})
    newcomer = Participant(civilite="Mme", first_name="Inès", last_name="ROY", email="ines.roy@example.org")
    with CommandClient(web, producer="support") as client:
        client.replace_participant("web-1", "paul.leroy@example.org", newcomer, requested_by="alice")
    status = collect_status(web)
    validation = next(row for row in status["queues"] if row["consumer"] == "validation")
    assert (status["broker"], validation["work"]["messages"], validation["work"]["oldest_age_seconds"]) == (
        "up", 1, None)
    assert not [p for p in status["problems"] if "refused" in p or "does not exist" in p], status["problems"]
    operations = settings.model_copy(update={
        "broker_url": url_for(settings.broker_url, user_name(topology, "operations"), broker_users["operations"])})
    seen = next(row for row in collect_status(operations)["queues"] if row["consumer"] == "validation")
    assert seen["work"]["oldest_age_seconds"] is not None, "operations may peek at the head"


# --- the grants themselves, without a broker ------------------------------------------------------------------

def test_every_command_has_a_role_that_sends_it_and_the_relay_publishes_every_event_and_no_command() -> None:
    granted = topic_permissions(Topology("regflow"))
    assert set(granted) == set(ROLES), "a role without a topic permission may publish every routing key"

    def may_publish(role: str, message_type: str) -> bool:
        return re.search(granted[role].write, message_type) is not None  # RabbitMQ: re:run, unanchored

    command_line = {role: commands for role, commands in COMMANDS_BY_ROLE.items() if role not in ("web", "public")}
    assert sorted(c for commands in command_line.values() for c in commands) == sorted(COMMANDS), \
        "each command is sent by exactly one role of the command line"
    for role in ROLES:
        assert {t for t in (*COMMANDS, *EVENTS) if may_publish(role, t)} == (
            set(EVENTS) if role == "relay" else set(COMMANDS_BY_ROLE.get(role, ()))), role
        assert not may_publish(role, "cmd.registration.submit.extra"), f"{role}: the pattern is anchored"
    assert set(COMMANDS_BY_ROLE["web"]) <= set(COMMANDS)
    assert set(PRODUCER_ROLES.values()) <= set(COMMANDS_BY_ROLE)
    for consumer, keys in CONSUMER_BINDINGS.items():  # RabbitMQ checks `read` against a queue's binding keys
        assert all(re.search(granted[consumer].read, key) for key in keys), consumer
        assert granted[consumer].write == "^$"


def test_the_definitions_carry_the_topic_permissions_of_every_role_and_apply_sets_them_too() -> None:
    topology = Topology("regflow")
    document = definitions(topology, "/", passwords_for((*ROLES, ADMIN), {}), with_admin=True)
    grants = {grant["user"]: grant for grant in document["topic_permissions"]}
    assert set(grants) == {user_name(topology, role) for role in ROLES}, "no topic permission for the admin"
    for role, grant in topic_permissions(topology).items():
        assert grants[user_name(topology, role)] == {"user": user_name(topology, role), "vhost": "/",
                                                     "exchange": topology.exchange, "write": grant.write,
                                                     "read": grant.read}
    commands = set_topic_permissions_commands(topology, "/")
    assert [command[4] for command in commands] == [user_name(topology, role) for role in ROLES]
    assert all(command[:4] == ["rabbitmqctl", "set_topic_permissions", "-p", "/"] for command in commands)


def test_the_page_s_user_may_publish_every_command_the_page_sends() -> None:
    """The commands of the page's forms, read from `regflow/web/` (the `CommandClient` methods it calls and the
    type each sends): a new form there needs its command in `COMMANDS_BY_ROLE["web"]`."""
    page = "\n".join(module.read_text(encoding="utf-8")
                     for module in sorted(Path(inspect.getfile(regflow.web)).parent.glob("*.py")))
    called = set(re.findall(r"\bclient\.(\w+)\(", page))
    assert called, "the page sends no command any more?"
    sent = {method: re.findall(r'self\.send\(\s*"([^"]+)"', inspect.getsource(getattr(CommandClient, method)))
            for method in called}
    assert all(sent.values()), sent
    assert {t for types in sent.values() for t in types} == set(COMMANDS_BY_ROLE["web"])
