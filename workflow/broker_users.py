"""Least privilege on the broker: one RabbitMQ user per process role, allowed on its own queues only.

RabbitMQ grants, per virtual host, three regular expressions over exchange and queue names:
`configure` (declare, delete), `write` (publish to an exchange, bind a queue) and `read` (consume from a
queue, bind from an exchange). With `REGFLOW_BROKER_DECLARE=own`, a process declares only its own part
of the topology (`Topology.scope`), so these are enough:

- a consumer: configures its three queues; binds them (write) from the two exchanges (read); consumes
  its work queue; publishes its retries through the default exchange and parks through the dead-letter
  exchange. It cannot read another consumer's queue nor publish on the main exchange: its events leave
  through the outbox, published by the relay;
- the relay and the intake (forms, support, finance, operations commands): publish on the main
  exchange, nothing else;
- operations (dead letters, status): read every queue of the namespace (inspect, replay, purge) and
  publish through the default exchange (replay into a work queue);
- web (the back-office page): publish support, finance and operations commands on the main exchange,
  nothing else. Its Queue health panel counts messages and consumers with passive declares, which need
  no permission; the age of a queue's oldest message needs `read` (a peek), which would also let a
  compromised page drain or purge every queue: it shows "—" there, `regflow status` run by operations
  shows the age.

RabbitMQ's default exchange cannot be restricted per routing key: a consumer allowed to publish its
retries there could publish into another queue. The README says so.

`definitions` is the document a running node imports, with the topology: `regflow broker-users apply`
feeds it to the local `rabbitmqctl`; with docker compose, the one-shot `broker-users` service imports the
file written by `regflow broker-users definitions` through the management API once the broker is up.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

from workflow.topology import CONSUMER_BINDINGS, CONSUMERS, Topology

PUBLISHERS = ("relay", "intake")
ROLES = (*CONSUMERS, *PUBLISHERS, "operations", "web")
ADMIN = "admin"
DEFAULT_EXCHANGE = "amq.default"
NOTHING = "^$"


@dataclass(frozen=True)
class Permission:
    configure: str
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
    granted["operations"] = Permission(configure=NOTHING, write=_only(DEFAULT_EXCHANGE),
                                       read=_only(*topology.all_queues()))
    granted["web"] = Permission(configure=NOTHING, write=_only(topology.exchange), read=NOTHING)
    return granted


def passwords_for(roles: tuple[str, ...], given: dict[str, str]) -> dict[str, str]:
    """The given passwords, and a strong random one for every role without."""
    return {role: given.get(role) or secrets.token_urlsafe(24) for role in roles}


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + SHA-256(salt + password)), 4-byte salt."""
    salt = salt if salt is not None else os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(topology: Topology, vhost: str, passwords: dict[str, str], *, with_admin: bool) -> dict[str, Any]:
    """A definitions document (users, permissions, exchanges, queues, bindings): what RabbitMQ loads at
    boot (`load_definitions`) or imports into a running node (`rabbitmqctl import_definitions`, which
    adds and updates, and removes nothing)."""
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
    exchanges = [
        {"name": topology.exchange, "vhost": vhost, "type": "topic", "durable": True, "auto_delete": False,
         "internal": False, "arguments": {}},
        {"name": topology.dead_letter_exchange, "vhost": vhost, "type": "direct", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}}]
    queues: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    for consumer, keys in CONSUMER_BINDINGS.items():
        work = topology.work_queue(consumer)
        queues += [
            {"name": work, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {
                "x-dead-letter-exchange": topology.dead_letter_exchange, "x-dead-letter-routing-key": consumer}},
            {"name": topology.retry_queue(consumer), "vhost": vhost, "durable": True, "auto_delete": False,
             "arguments": {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": work}},
            {"name": topology.dead_letter_queue(consumer), "vhost": vhost, "durable": True, "auto_delete": False,
             "arguments": {}}]
        bindings += [{"source": topology.exchange, "vhost": vhost, "destination": work, "destination_type": "queue",
                      "routing_key": key, "arguments": {}} for key in keys]
        bindings.append({"source": topology.dead_letter_exchange, "vhost": vhost,
                         "destination": topology.dead_letter_queue(consumer), "destination_type": "queue",
                         "routing_key": consumer, "arguments": {}})
    return {"users": users, "vhosts": [{"name": vhost}], "permissions": grants, "exchanges": exchanges,
            "queues": queues, "bindings": bindings}
