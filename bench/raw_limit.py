"""The raw limit of this machine with the project's durability settings (part 1 of `bench.benchmark`), and the
scratch database every part runs in."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pika
import psycopg
from sqlalchemy import create_engine, make_url, text

from workflow.messaging.broker import PERSISTENT, connect
from workflow.persistence.db import migrate


class ScratchDatabase:
    """A database created for one run on the PostgreSQL server, migrated by Alembic, dropped after."""

    def __init__(self, server_url: str) -> None:
        self.name = f"regflow_bench_{uuid.uuid4().hex[:8]}"
        self.server_url = server_url
        self.url = make_url(server_url).set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> ScratchDatabase:
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        migrate(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()

    @property
    def libpq(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)


def raw_limit(broker_url: str, server_url: str, messages: int, prefetch: int) -> dict[str, Any]:
    """consume -> one transaction (inbox insert, versioned update, outbox insert) -> confirmed publish -> ack."""
    queue_in, queue_out = f"bench.raw.{uuid.uuid4().hex[:6]}.in", f"bench.raw.{uuid.uuid4().hex[:6]}.out"
    with ScratchDatabase(server_url) as database, psycopg.connect(database.libpq) as db:
        with db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO registrations (id, state, version, client_is_public, form, errors, warnings,"
                " created_at, updated_at) VALUES (%s, 'received', 1, true, '{}', '[]', '[]', now(), now())",
                [(f"r-{n}",) for n in range(messages)])
        db.commit()
        connection = connect(broker_url)
        channel = connection.channel()
        for queue in (queue_in, queue_out):
            channel.queue_declare(queue, durable=True)
        channel.confirm_delivery()
        body = json.dumps({"type": "bench", "payload": {"x": "y" * 400}}).encode()
        for n in range(messages):
            channel.basic_publish("", queue_in, body, pika.BasicProperties(
                delivery_mode=PERSISTENT, message_id=str(uuid.uuid4()), headers={"registration": f"r-{n}"}))
        channel.basic_qos(prefetch_count=prefetch)
        handled = 0
        started = time.perf_counter()
        for method, properties, payload in channel.consume(queue_in, inactivity_timeout=5):
            if method is None:
                break
            registration = properties.headers["registration"]
            with db.cursor() as cursor:
                cursor.execute("INSERT INTO inbox (consumer, message_id, message_type, processed_at) "
                               "VALUES ('bench', %s, 'bench', now())", (properties.message_id,))
                cursor.execute("SELECT version FROM registrations WHERE id = %s", (registration,))
                row = cursor.fetchone()
                assert row is not None
                cursor.execute("UPDATE registrations SET state = 'signed', version = version + 1, "
                               "updated_at = now() WHERE id = %s AND version = %s", (registration, row[0]))
                cursor.execute("INSERT INTO outbox (event_id, routing_key, registration_id, body, created_at) "
                               "VALUES (%s, 'bench', %s, %s, now())",
                               (str(uuid.uuid4()), registration, payload.decode()))
            db.commit()
            channel.basic_publish("", queue_out, payload, pika.BasicProperties(delivery_mode=PERSISTENT))
            channel.basic_ack(method.delivery_tag)
            handled += 1
            if handled == messages:
                break
        elapsed = time.perf_counter() - started
        channel.cancel()
        for queue in (queue_in, queue_out):
            channel.queue_delete(queue)
        connection.close()
    return {"messages": handled, "seconds": round(elapsed, 3), "per_second": round(handled / elapsed, 1)}
