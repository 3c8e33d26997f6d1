"""Prometheus metrics of the consumers and the relay, in one place so that names and labels stay consistent.

Each process (a consumer, the relay) has its own registry, the client's default one, served on
`/metrics` by `workflow.ops.health` when `REGFLOW_HTTP_PORT` is set. Labels are bounded: `consumer` is one
of four names, `type` one of the message types the consumer handles (anything else is `other`), so a
malicious publisher cannot blow up the number of series.

Counting per delivery (not per message): a message retried three times then handled counts three
`failed`, three `retried` and one `handled`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

import structlog
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.clock import Clock
from workflow.persistence.views import outbox_backlog, outbox_set_aside

log = structlog.get_logger("metrics")

MESSAGES_HANDLED = Counter(
    "regflow_messages_handled", "Deliveries acknowledged with their effects committed (or already handled)",
    ["consumer", "type"])
MESSAGES_FAILED = Counter(
    "regflow_messages_failed", "Deliveries whose handling failed (then retried or parked)", ["consumer", "type"])
MESSAGES_RETRIED = Counter(
    "regflow_messages_retried", "Deliveries sent to the retry queue (transient failure)", ["consumer", "type"])
MESSAGES_PARKED = Counter(
    "regflow_messages_parked", "Deliveries parked in the dead-letter queue (permanent failure or too many "
    "attempts): each one needs a human", ["consumer", "type"])
# Buckets from a few milliseconds (a duplicate) to minutes (a "service fait" over thousands of registrations).
HANDLING_SECONDS = Histogram(
    "regflow_message_handling_seconds", "Time to handle one delivery: decode, handler, commit",
    ["consumer", "type"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
RELAY_PUBLISHED = Counter("regflow_relay_published", "Outbox events published (confirmed by the broker)")
RELAY_SET_ASIDE = Counter("regflow_relay_set_aside", "Outbox rows set aside: too large, unreadable or refused")

OTHER_TYPE = "other"


def type_label(message_type: object, known: Collection[str]) -> str:
    """The message type as a label, or `other` when the consumer does not know it (bounded cardinality)."""
    return message_type if isinstance(message_type, str) and message_type in known else OTHER_TYPE


def record_outcome(consumer: str, message_type: str, outcome: str, seconds: float) -> None:
    """Count one settled delivery: `outcome` is the runner's final decision (ack, refused, retry, park). A command
    refused by a business rule is handled: a "no" is an answer, not a failure."""
    HANDLING_SECONDS.labels(consumer, message_type).observe(seconds)
    if outcome in ("ack", "refused"):
        MESSAGES_HANDLED.labels(consumer, message_type).inc()
        return
    MESSAGES_FAILED.labels(consumer, message_type).inc()
    (MESSAGES_RETRIED if outcome == "retry" else MESSAGES_PARKED).labels(consumer, message_type).inc()


class OutboxBacklogCollector(Collector):
    """The outbox rows not yet published, counted when Prometheus scrapes (one indexed query).

    Read at scrape time rather than refreshed by a timer: the figure is never stale and nothing runs
    when nobody looks. If the database does not answer the series are absent (an alert on `absent()`
    or on readiness catches that), and the scrape still succeeds.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count, age = outbox_backlog(self._sessions, self._clock.now())
            aside = len(outbox_set_aside(self._sessions))
        except SQLAlchemyError as exc:
            log.warning("outbox backlog unreadable", error=str(exc).splitlines()[0])
            return
        yield GaugeMetricFamily("regflow_outbox_backlog", "Outbox rows not yet published", value=count)
        yield GaugeMetricFamily("regflow_outbox_set_aside", "Outbox rows set aside, waiting for a person",
                                value=aside)
        yield GaugeMetricFamily("regflow_outbox_oldest_age_seconds",
                                "Age of the oldest unpublished outbox row (0 when none)", value=age or 0.0)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # no query at registration time


_outbox_collector: OutboxBacklogCollector | None = None


def register_outbox_backlog(sessions: sessionmaker[Session], clock: Clock) -> None:
    """Serve the outbox backlog from this process (the relay); registering again replaces the previous one."""
    global _outbox_collector  # noqa: PLW0603  (one collector per process registry)
    if _outbox_collector is not None:
        REGISTRY.unregister(_outbox_collector)
    _outbox_collector = OutboxBacklogCollector(sessions, clock)
    REGISTRY.register(_outbox_collector)
