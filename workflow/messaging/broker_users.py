"""Least privilege on the broker: one RabbitMQ user per process role, allowed on its own queues only, and
on the main exchange allowed to publish only its own message types.

RabbitMQ grants, per virtual host, three regular expressions over exchange and queue names:
`configure` (declare, delete), `write` (publish to an exchange, bind a queue) and `read` (consume from a
queue, bind from an exchange). With `REGFLOW_BROKER_DECLARE=own`, a process declares only its own part
of the topology (`Topology.scope`), so these are enough:

- a consumer: configures its three queues; binds them (write) from the two exchanges (read); consumes
  its work queue; publishes its retries through the default exchange and parks through the dead-letter
  exchange. It cannot read another consumer's queue nor publish on the main exchange: its events leave
  through the outbox, published by the relay;
- the relay, the intake, support and finance: publish on the main exchange, nothing else;
- operations (dead letters, status, the session commands): read every queue of the namespace (inspect,
  replay, purge), publish through the default exchange (replay into a work queue) and on the main exchange;
- web (the back-office page): publish on the main exchange, nothing else. Its Queue health panel counts
  messages and consumers with passive declares, which need no permission; the age of a queue's oldest
  message needs `read` (a peek), which would also let a compromised page drain or purge every queue: it
  shows "—" there, `regflow status` run by operations shows the age.

Who may publish *what* on the main exchange is the topic permissions' business (`set_topic_permissions`,
a `write` and a `read` expression per user and exchange, matched against the routing key, which is the
message type). RabbitMQ checks them on topic exchanges only, and only for a user that has some on the
exchange: a user without any may publish every routing key. So every role gets one on the main exchange:

- the intake `cmd.registration.submit` and `cmd.registration.sign`; support the participant replacement;
  finance the payments and invoice corrections; operations the session commands (held, cancelled, moved);
  the page the three commands its forms send (`COMMANDS_BY_ROLE`);
- the relay every event and no command (`^(?!cmd\\.)`: a new event type needs no new grant, a forged
  command is refused);
- a consumer nothing (its events go through the outbox); its `read` expression, which RabbitMQ checks against
  the binding keys of a queue bound to a topic exchange, names the types it handles (`CONSUMER_BINDINGS`): it
  cannot bind its queue to another consumer's messages.

The dead-letter exchange is a direct exchange, and on direct exchanges (the default one included) RabbitMQ
checks no topic permission: a consumer allowed to park could park under another consumer's name, as a
consumer allowed to publish its retries through the default exchange could publish into another queue. The
README says so.

`definitions` is the document a running node imports, with the topology: `regflow broker-users apply`
feeds it to the local `rabbitmqctl`; with docker compose, the one-shot `broker-users` service imports the
file written by `regflow broker-users definitions` through the management API once the broker is up. Both
import its `topic_permissions` as `rabbitmqctl set_topic_permissions` would (`set_topic_permissions_commands`
gives those commands, for a node fed by hand). Permissions are cached per connection: a process picks up a
change when it reconnects.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.messaging.topology import CONSUMER_BINDINGS, CONSUMERS, Topology

COMMAND_PREFIX = "cmd."
# The commands each role sends: the command line's producers (`regflow submit`, `sign`, `replace-participant`,
# `pay`, `correct-invoice`, `hold-session`, `cancel-session`, `move-session`) and the page's four forms.
COMMANDS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "intake": ("cmd.registration.submit", "cmd.registration.sign"),
    "support": ("cmd.registration.replace_participant",),
    "finance": ("cmd.payment.record", "cmd.invoice.correct"),
    "operations": ("cmd.session.hold", "cmd.session.cancel", "cmd.session.move"),
    "web": ("cmd.registration.replace_participant", "cmd.registration.sign", "cmd.session.hold",
            "cmd.payment.record"),
    # the public process (`regflow join-server`): the online form, the e-signature webhook, the tracking page's
    # replacement request, the HTTP intake API (`regflow.api`: submit and sign)
    "public": ("cmd.registration.submit", "cmd.registration.sign", "cmd.registration.replace_participant"),
}
# The role whose user a `CommandClient(producer=...)` of the command line logs in as.
PRODUCER_ROLES: dict[str, str] = {"intake": "intake", "signature": "intake", "support": "support",
                                  "finance": "finance", "operations": "operations"}
PUBLISHERS = ("relay", "intake", "support", "finance")
ROLES = (*CONSUMERS, *PUBLISHERS, "operations", "web", "public")
ADMIN = "admin"
DEFAULT_EXCHANGE = "amq.default"
NOTHING = "^$"
EVENTS_ONLY = "^(?!" + re.escape(COMMAND_PREFIX) + ")"


@dataclass(frozen=True)
class Permission:
    configure: str
    write: str
    read: str


@dataclass(frozen=True)
class TopicPermission:
    """On a topic exchange: the routing keys a user may publish (`write`) and bind a queue with (`read`)."""

    exchange: str
    write: str
    read: str


def _only(*names: str) -> str:
    return "^(" + "|".join(re.escape(n) for n in names) + ")$"


def user_name(topology: Topology, role: str) -> str:
    return f"{topology.namespace}-{role}"


def permissions(topology: Topology) -> dict[str, Permission]:
    """The permission of each role's user on the virtual host, from the topology (see the docstring)."""
    granted: dict[str, Permission] = {}
    for consumer in CONSUMERS:
        own = (topology.work_queue(consumer), topology.retry_queue(consumer), topology.dead_letter_queue(consumer))
        granted[consumer] = Permission(
            configure=_only(*own),
            write=_only(*own, DEFAULT_EXCHANGE, topology.dead_letter_exchange),
            read=_only(topology.exchange, topology.dead_letter_exchange, topology.work_queue(consumer)))
    for publisher in PUBLISHERS:
        granted[publisher] = Permission(configure=NOTHING, write=_only(topology.exchange), read=NOTHING)
    granted["operations"] = Permission(configure=NOTHING, write=_only(DEFAULT_EXCHANGE, topology.exchange),
                                       read=_only(*topology.all_queues()))
    granted["web"] = Permission(configure=NOTHING, write=_only(topology.exchange), read=NOTHING)
    granted["public"] = Permission(configure=NOTHING, write=_only(topology.exchange), read=NOTHING)
    return granted


def topic_permissions(topology: Topology) -> dict[str, TopicPermission]:
    """Each role's topic permission on the main exchange (see the docstring): what it may publish there."""
    granted = {consumer: TopicPermission(topology.exchange, write=NOTHING, read=_only(*keys))
               for consumer, keys in CONSUMER_BINDINGS.items()}
    granted["relay"] = TopicPermission(topology.exchange, write=EVENTS_ONLY, read=NOTHING)
    for role, commands in COMMANDS_BY_ROLE.items():
        granted[role] = TopicPermission(topology.exchange, write=_only(*commands), read=NOTHING)
    return {role: granted[role] for role in ROLES}


def set_topic_permissions_commands(topology: Topology, vhost: str) -> list[list[str]]:
    """The `rabbitmqctl set_topic_permissions` of every role: what importing `definitions` does."""
    return [["rabbitmqctl", "set_topic_permissions", "-p", vhost, user_name(topology, role), grant.exchange,
             grant.write, grant.read] for role, grant in topic_permissions(topology).items()]


def describe(topology: Topology) -> str:
    """`regflow broker-users show`: each user's permissions, and what it may publish on the main exchange."""
    topics = topic_permissions(topology)
    blocks = []
    for role, permission in permissions(topology).items():
        topic = topics[role]
        blocks.append(f"{user_name(topology, role)}\n  configure {permission.configure}\n  write     {permission.write}"
                      f"\n  read      {permission.read}\n  topic {topic.exchange}: write {topic.write}  "
                      f"read {topic.read}")
    return "\n".join(blocks)


def passwords_for(roles: tuple[str, ...], given: dict[str, str]) -> dict[str, str]:
    """The given passwords, and a strong random one for every role without."""
    return {role: given.get(role) or secrets.token_urlsafe(24) for role in roles}


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + SHA-256(salt + password)), 4-byte salt."""
    salt = salt if salt is not None else os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(topology: Topology, vhost: str, passwords: dict[str, str], *, with_admin: bool) -> dict[str, Any]:
    """A definitions document (users, permissions, topic permissions, exchanges, queues, bindings): what
    RabbitMQ loads at boot (`load_definitions`) or imports into a running node (`rabbitmqctl
    import_definitions`, which adds and updates, and removes nothing). The administrator has no topic
    permission: without one, a user may publish every routing key."""
    roles = (*ROLES, ADMIN) if with_admin else ROLES
    users = [{"name": user_name(topology, role), "password_hash": password_hash(passwords[role]),
              "hashing_algorithm": "rabbit_password_hashing_sha256",
              "tags": ["administrator"] if role == ADMIN else []} for role in roles]
    grants = [{"user": user_name(topology, role), "vhost": vhost, "configure": p.configure, "write": p.write,
               "read": p.read} for role, p in permissions(topology).items()]
    if with_admin:
        # A broker booting from definitions creates no default user: the administrator (set-up, the
        # management UI) is one of them, with its own password.
        grants.append({"user": user_name(topology, ADMIN), "vhost": vhost, "configure": ".*", "write": ".*",
                       "read": ".*"})
    topic_grants = [{"user": user_name(topology, role), "vhost": vhost, "exchange": t.exchange, "write": t.write,
                     "read": t.read} for role, t in topic_permissions(topology).items()]
    exchanges = [
        {"name": topology.exchange, "vhost": vhost, "type": "topic", "durable": True, "auto_delete": False,
         "internal": False, "arguments": {}},
        {"name": topology.dead_letter_exchange, "vhost": vhost, "type": "direct", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}}]
    queues: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    for consumer, keys in CONSUMER_BINDINGS.items():
        work = topology.work_queue(consumer)
        queues += [{"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments}
                   for name, arguments in topology.queues(consumer).items()]
        bindings += [{"source": topology.exchange, "vhost": vhost, "destination": work, "destination_type": "queue",
                      "routing_key": key, "arguments": {}} for key in keys]
        bindings.append({"source": topology.dead_letter_exchange, "vhost": vhost,
                         "destination": topology.dead_letter_queue(consumer), "destination_type": "queue",
                         "routing_key": consumer, "arguments": {}})
    return {"users": users, "vhosts": [{"name": vhost}], "permissions": grants, "topic_permissions": topic_grants,
            "exchanges": exchanges, "queues": queues, "bindings": bindings}


# --- the files and the node: passwords kept private, the definitions written or imported -------------------


class RabbitmqctlError(RuntimeError):
    """`rabbitmqctl import_definitions` refused the definitions (its message)."""


def write_private(path: Path, text: str) -> None:
    """Write a file of secrets readable by its owner only from its first byte (created 600, then renamed
    into place), never world-readable for a moment under a 022 umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
        file.write(text)
    temporary.replace(path)


def merge_env_file(path: Path, values: dict[str, str]) -> None:
    """Set `values` in a docker compose `.env` file, keeping its other lines (a REGFLOW_WEB_SECRET, comments)
    as they are; the file stays readable by its owner only."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    write_private(path, "\n".join([*kept, *(f"{key}={value}" for key, value in values.items())]) + "\n")


def kept_passwords(store: Path) -> dict[str, str]:
    """Every role's password (and the administrator's): those kept in `store` between runs, a new one for
    each role without; the store written back, mode 600."""
    known = json.loads(store.read_text(encoding="utf-8")) if store.exists() else {}
    passwords = passwords_for((*ROLES, ADMIN), known)
    write_private(store, json.dumps(passwords, indent=2))
    return passwords


def write_definitions(topology: Topology, vhost: str, passwords: dict[str, str], output: Path, env_file: Path
                      ) -> None:
    """For docker compose: the definitions its `broker-users` service imports (the administrator included),
    and each role's password in `env_file` as `REGFLOW_BROKER_PASSWORD_<ROLE>`."""
    output.write_text(json.dumps(definitions(topology, vhost, passwords, with_admin=True), indent=2),
                      encoding="utf-8")
    merge_env_file(env_file, {f"REGFLOW_BROKER_PASSWORD_{role.upper()}": password
                              for role, password in passwords.items()})


def import_definitions(topology: Topology, vhost: str, passwords: dict[str, str]) -> None:
    """Create (or update) the users on the local node: `rabbitmqctl import_definitions`, fed on its stdin (the
    node keeps its own administrator)."""
    done = subprocess.run(["rabbitmqctl", "-q", "import_definitions", "--format", "json"],
                          input=json.dumps(definitions(topology, vhost, passwords, with_admin=False)),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RabbitmqctlError(done.stderr.strip() or done.stdout.strip())
