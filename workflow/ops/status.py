"""Is the workflow healthy? One read-only look at the broker and the database, for `regflow status` and the
back-office page (`collect_status`).

What it reports: each queue's depth and connected consumers (passive `queue_declare`), the age of the
oldest ready message of each work queue (its head, fetched with `basic_get` and given back at once with
`basic_nack(requeue=True)`: a peek, the message keeps its place), the messages parked in the dead-letter
queues, the outbox backlog, and registrations stuck in a state longer than the workflow takes
(`STUCK_RULES`). `problems` says, in words, what needs a human; `ok` is false when there is any.

Ages are measured with the workflow's clock: messages carry the business time at which they
were published and the outbox rows the time they were written, so a replayed past (the demo, the tests)
reads consistently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import and_, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters.clocks import clock_from_spec
from workflow.adapters.data_files import load_catalogue
from workflow.domain.catalogue import Schedule
from workflow.domain.clock import PARIS, Clock
from workflow.messaging.broker import connect
from workflow.messaging.topology import CONSUMERS, Topology
from workflow.persistence.db import make_engine, session_factory
from workflow.persistence.orm import CreditNoteRow, InvoiceRow, RegistrationRow
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.persistence.views import outbox_backlog, outbox_set_aside
from workflow.settings import Settings


@dataclass(frozen=True)
class StuckRule:
    """A registration in `state` for longer than `after` (measured from its last change, or from the end
    of its session) is stuck: the next step should have happened by then."""

    state: str
    after: timedelta
    measured_from: Literal["last_change", "session_end"]
    why: str
    only_with_open_invoice: bool = False


# States absent from the table are never stuck: `received` waits for the client's signature (support chases
# it with `regflow awaiting-signature`), `rejected` for a corrected form, `session_held` for the payment
# (public buyers have 30 to 60 days; `regflow check-overdue` handles lateness), `paid` and `credited` are final.
STUCK_RULES: tuple[StuckRule, ...] = (
    StuckRule("signed", timedelta(minutes=10), "last_change",
              "validation confirms a signed form in the same second: the validation consumer is stuck or its "
              "message is parked"),
    StuckRule("confirmed", timedelta(minutes=10), "last_change",
              "invoicing issues the invoice within seconds of the confirmation: the invoicing consumer is "
              "stuck, or the relay does not publish registration.confirmed"),
    StuckRule("cancelled", timedelta(minutes=10), "last_change",
              "an invoiced registration that is cancelled gets its credit note within seconds: invoicing is "
              "stuck (a cancelled registration never invoiced is final, not stuck)", only_with_open_invoice=True),
    StuckRule("invoiced", timedelta(days=2), "session_end",
              "the session ended two days ago and no service fait was recorded: operations forgot "
              "`regflow hold-session`, or the payments consumer is stuck (public buyers' payment clock "
              "starts at service fait)"),
    StuckRule("settled", timedelta(days=2), "session_end",
              "paid before the session, which ended two days ago without service fait: `regflow hold-session` "
              "is missing"),
)

NOT_FOUND = 404  # AMQP reply code of a passive declare on a queue that does not exist
OUTBOX_STALE_AFTER = timedelta(minutes=2)  # the relay publishes within a second: minutes mean it is not running


def collect_status(settings: Settings) -> dict[str, Any]:
    """Everything `regflow status` shows, as plain data (JSON-ready), for a one-off command: its own engine,
    disposed after. Never raises for an unreachable broker or database: that is reported in `problems`."""
    engine = make_engine(settings.database_url)
    try:
        return status_of(settings, session_factory(engine), clock_from_spec(settings.clock),
                         load_catalogue(settings.catalogue_path).schedule)
    finally:
        engine.dispose()


def status_of(settings: Settings, sessions: sessionmaker[Session], clock: Clock, schedule: Schedule
              ) -> dict[str, Any]:
    """The status over a process's own database sessions (the back-office page keeps its pool)."""
    now = clock.now()
    problems: list[tuple[str, str]] = []  # (French, English): the page shows its language, `--json` both
    topology = Topology(settings.namespace, queue_type=settings.queue_type)
    try:
        queues = _queues(settings.broker_url, topology, now, problems)
        broker = "up"
    except pika.exceptions.AMQPError as exc:
        queues, broker = [], f"unreachable: {type(exc).__name__}: {exc}"
        problems.append((f"courtier RabbitMQ injoignable : {type(exc).__name__}: {exc}", f"broker {broker}"))
    try:
        outbox = _outbox(sessions, now, problems)
        stuck = _stuck(sessions, schedule, now)
        database = "up"
    except SQLAlchemyError as exc:
        outbox, stuck = None, []
        database = f"unavailable: {(str(getattr(exc, 'orig', None) or exc).splitlines() or ['?'])[0]}"
        problems.append((f"base de données indisponible : {database.removeprefix('unavailable: ')}",
                         f"database {database}"))
    for rule in STUCK_RULES:
        if count := sum(1 for registration in stuck if registration["state"] == rule.state):
            limit = format_age(rule.after.total_seconds())
            since_fr = "la dernière modification" if rule.measured_from == "last_change" else "la fin de la session"
            problems.append((f"{count} inscription(s) bloquée(s) à l'état {rule.state} (plus de {limit} depuis "
                             f"{since_fr})", f"{count} registration(s) stuck in {rule.state} (over {limit} since "
                             f"{rule.measured_from.replace('_', ' ')})"))
    return {"ok": not problems, "checked_at": now.isoformat(), "broker": broker, "database": database,
            "queues": queues, "dead_letters": sum(q["dead_letter"]["messages"] for q in queues),
            "outbox": outbox, "stuck": stuck, "problems": [en for _, en in problems],
            "problems_fr": [fr for fr, _ in problems]}


def _queues(broker_url: str, topology: Topology, now: datetime, problems: list[tuple[str, str]]
            ) -> list[dict[str, Any]]:
    connection = connect(broker_url)
    try:
        channel = connection.channel()
        rows = []
        for consumer in CONSUMERS:
            row: dict[str, Any] = {"consumer": consumer}
            for kind, queue in (("work", topology.work_queue(consumer)), ("retry", topology.retry_queue(consumer)),
                                ("dead_letter", topology.dead_letter_queue(consumer))):
                try:
                    declared = channel.queue_declare(queue, passive=True).method
                except pika.exceptions.ChannelClosedByBroker as exc:
                    channel = connection.channel()
                    row[kind] = {"queue": queue, "missing": True, "messages": 0, "consumers": 0}
                    problems.append(
                        (f"la file {queue} n'existe pas (aucun processus n'a déclaré la topologie)",
                         f"queue {queue} does not exist (no process declared the topology)")
                        if exc.reply_code == NOT_FOUND else
                        (f"file {queue} : refusée ({exc.reply_text})", f"queue {queue}: refused ({exc.reply_text})"))
                    continue
                row[kind] = {"queue": queue, "messages": declared.message_count,
                             "consumers": declared.consumer_count}
            work = row["work"]
            try:
                work["oldest_age_seconds"] = _head_age(channel, work["queue"], now) if work["messages"] else None
            except pika.exceptions.ChannelClosedByBroker:  # a user without read (the page's): depth only
                channel = connection.channel()
                work["oldest_age_seconds"] = None
            if not work.get("missing") and work["consumers"] == 0:
                problems.append((f"aucun consommateur {consumer} connecté à {work['queue']}",
                                 f"no {consumer} consumer connected to {work['queue']}"))
            if parked := row["dead_letter"]["messages"]:
                problems.append((f"{parked} message(s) mis de côté pour {consumer} : `regflow dead-letters list "
                                 f"--consumer {consumer}`", f"{parked} message(s) parked for {consumer}: "
                                 f"`regflow dead-letters list --consumer {consumer}`"))
            rows.append(row)
        return rows
    finally:
        if connection.is_open:
            connection.close()  # anything fetched and not yet given back returns to its queue


def _head_age(channel: BlockingChannel, queue: str, now: datetime) -> float | None:
    """The age of the message at the head of `queue`, which keeps its place (nack with requeue)."""
    method, properties, _ = channel.basic_get(queue, auto_ack=False)
    if method is None:
        return None  # taken by a consumer meanwhile
    channel.basic_nack(method.delivery_tag, requeue=True)
    if properties.timestamp is None:
        return None
    return max(0.0, (now - datetime.fromtimestamp(properties.timestamp, UTC)).total_seconds())


def _outbox(sessions: sessionmaker[Session], now: datetime, problems: list[tuple[str, str]]) -> dict[str, Any]:
    count, age = outbox_backlog(sessions, now)
    if age is not None and age > OUTBOX_STALE_AFTER.total_seconds():
        problems.append((f"{count} événement(s) de l'outbox non publié(s), le plus ancien depuis {format_age(age)} : "
                         "`regflow relay` tourne-t-il ?", f"{count} outbox event(s) unpublished, the oldest for "
                         f"{format_age(age)}: is `regflow relay` running?"))
    aside = outbox_set_aside(sessions)
    if aside:
        last = f"{aside[0]['type']} #{aside[0]['id']}: {aside[0]['reason']}"
        problems.append((f"{len(aside)} événement(s) de l'outbox mis de côté par le relais (impubliables), "
                         f"le dernier : {last}",
                         f"{len(aside)} outbox event(s) set aside by the relay (cannot be published), "
                         f"the last: {last}"))
    return {"backlog": count, "oldest_age_seconds": age, "set_aside": aside}


def _stuck(sessions: sessionmaker[Session], schedule: Schedule, now: datetime) -> list[dict[str, Any]]:
    stuck: list[dict[str, Any]] = []
    with sessions() as session:
        catalogue = SqlCatalogue(session).current(schedule)
    session_ends = {session.id: catalogue.ends_at(session)
                    for training in catalogue.trainings for session in training.sessions}
    open_invoice = exists().where(and_(
        InvoiceRow.registration_id == RegistrationRow.id,
        ~exists().where(CreditNoteRow.invoice_number == InvoiceRow.number)))
    with sessions() as session:
        for rule in STUCK_RULES:
            query = select(RegistrationRow.id, RegistrationRow.state, RegistrationRow.session_id,
                           RegistrationRow.updated_at).where(RegistrationRow.state == rule.state)
            if rule.measured_from == "last_change":
                query = query.where(RegistrationRow.updated_at < now - rule.after)
            else:
                overdue = [sid for sid, end in session_ends.items() if end + rule.after < now]
                query = query.where(RegistrationRow.session_id.in_(overdue))
            if rule.only_with_open_invoice:
                query = query.where(open_invoice)
            for registration_id, state, session_id, updated_at in session.execute(query.order_by(RegistrationRow.id)):
                since = session_ends[session_id] if rule.measured_from == "session_end" and session_id else updated_at
                stuck.append({"registration_id": registration_id, "state": state, "session_id": session_id,
                              "since": since.isoformat(), "for_seconds": (now - since).total_seconds(),
                              "limit_seconds": rule.after.total_seconds(), "measured_from": rule.measured_from,
                              "why": rule.why})
    return stuck


def format_age(seconds: float) -> str:
    """45s, 2m05s, 3h02m, 2d04h: short enough for a column."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def format_status(status: dict[str, Any], max_stuck: int = 20) -> str:
    """The text `regflow status` prints."""
    checked = datetime.fromisoformat(status["checked_at"]).astimezone(PARIS)
    verdict = "OK" if status["ok"] else f"{len(status['problems'])} problem(s)"
    lines = [f"regflow status at {checked:%Y-%m-%d %H:%M:%S} (Europe/Paris): {verdict}", "",
             f"broker: {status['broker']}    database: {status['database']}"]
    if status["queues"]:
        lines += ["", f"{'consumer':<14}{'ready':>7}{'consumers':>11}{'oldest':>9}{'retry':>7}{'parked':>8}"]
        for row in status["queues"]:
            work = row["work"]
            oldest = format_age(work["oldest_age_seconds"]) if work.get("oldest_age_seconds") is not None else "-"
            lines.append(f"{row['consumer']:<14}{work['messages']:>7}{work['consumers']:>11}{oldest:>9}"
                         f"{row['retry']['messages']:>7}{row['dead_letter']['messages']:>8}")
    if status["outbox"] is not None:
        outbox = status["outbox"]
        oldest = f", the oldest for {format_age(outbox['oldest_age_seconds'])}" if outbox["backlog"] else ""
        lines += ["", f"outbox: {outbox['backlog']} event(s) not yet published{oldest}"]
        for row in outbox.get("set_aside", [])[:max_stuck]:
            lines.append(f"  set aside #{row['id']} {row['type']} ({row['registration_id'] or '-'}) at "
                         f"{row['set_aside_at']}: {row['reason']}")
    stuck = status["stuck"]
    lines += ["", f"stuck registrations: {len(stuck)}"]
    for registration in stuck[:max_stuck]:
        since = "the end of its session" if registration["measured_from"] == "session_end" else "its last change"
        lines.append(f"  {registration['registration_id']}  {registration['state']} for "
                     f"{format_age(registration['for_seconds'])} since {since} (limit "
                     f"{format_age(registration['limit_seconds'])}): {registration['why']}")
    if len(stuck) > max_stuck:
        lines.append(f"  ... and {len(stuck) - max_stuck} more (--json lists them all)")
    if status["problems"]:
        lines += ["", "problèmes / problems:", *(f"  - {fr}\n    {en}" for fr, en
                                                 in zip(status["problems_fr"], status["problems"], strict=True))]
    return "\n".join(lines)
