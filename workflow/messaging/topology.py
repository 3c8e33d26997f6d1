"""The broker topology, as data, declared idempotently at start-up by every process.

- one durable topic exchange `<ns>`: every command and event, routing key = message type;
- per consumer a durable work queue `<ns>.<consumer>` bound to the types it handles, that
  dead-letters to the direct exchange `<ns>.dead-letter` with the consumer's name as key;
- per consumer a dead-letter queue `<ns>.<consumer>.dead-letter` that operations inspect and replay;
- per consumer a retry queue `<ns>.<consumer>.retry` with no reader: a message waits there for its
  per-message TTL, then dead-letters back to the work queue (exponential backoff without a timer).

The queues are classic by default; `REGFLOW_QUEUE_TYPE=quorum` declares the three queues of every consumer as quorum
queues (Raft-replicated across a cluster's nodes; RabbitMQ 3.10 or later, which brought them message TTL, the retry
queue's mechanism). The type of an existing queue cannot change: a namespace is declared with one type for good
(`regflow setup` in a new namespace, or the queues drained and deleted first).
"""

from __future__ import annotations

from dataclasses import dataclass

from pika.adapters.blocking_connection import BlockingChannel

CONSUMER_BINDINGS: dict[str, tuple[str, ...]] = {
    "validation": ("cmd.registration.submit", "cmd.registration.sign", "cmd.registration.replace_participant"),
    "invoicing": ("registration.confirmed", "registration.cancelled", "registration.moved", "cmd.invoice.correct",
                  "registration.session_held", "registration.paid",
                  # its own documents, once committed: the store's copy and the Chorus Pro deposit (consumers.deposits)
                  "invoice.issued", "credit_note.issued", "certificate.issued",
                  # a rejection on the platform: credit note and a new invoice (consumers.invoicing)
                  "invoice.platform_status_changed"),
    "notifications": ("registration.confirmed", "registration.rejected", "invoice.issued", "credit_note.issued",
                      "registration.moved", "registration.cancelled", "registration.participant_replaced",
                      "certificate.issued", "interest_claim.issued", "invoice.platform_status_changed"),
    "payments": ("cmd.session.hold", "cmd.session.cancel", "cmd.session.move", "cmd.payment.record",
                 "invoice.issued", "credit_note.issued",
                 # its own follow-ups: a large session's service fait, batch by batch (consumers.payments)
                 "session.held_batch"),
}

CONSUMERS = tuple(CONSUMER_BINDINGS)


ALL = "all"


@dataclass(frozen=True)
class Topology:
    """Names and declarations. `scope` says what a process declares at start-up: `all` (development, tests,
    the set-up command) or its own part only, for a broker user with least privilege (see
    `workflow/messaging/broker_users.py`): a consumer its three queues and their bindings, any other process
    nothing (it checks that the exchanges exist)."""

    namespace: str
    scope: str = ALL
    queue_type: str = "classic"  # Settings.queue_type: "classic" or "quorum"

    @property
    def exchange(self) -> str:
        return self.namespace

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dead-letter"

    def work_queue(self, consumer: str) -> str:
        return f"{self.namespace}.{consumer}"

    def retry_queue(self, consumer: str) -> str:
        return f"{self.namespace}.{consumer}.retry"

    def dead_letter_queue(self, consumer: str) -> str:
        return f"{self.namespace}.{consumer}.dead-letter"

    def all_queues(self) -> list[str]:
        return [q for c in CONSUMERS
                for q in (self.work_queue(c), self.retry_queue(c), self.dead_letter_queue(c))]

    def declare(self, channel: BlockingChannel) -> None:
        if self.scope != ALL:  # a restricted user: the exchanges were made by the set-up command
            channel.exchange_declare(self.exchange, passive=True)
            channel.exchange_declare(self.dead_letter_exchange, passive=True)
        else:
            channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            channel.exchange_declare(self.dead_letter_exchange, exchange_type="direct", durable=True)
        for consumer, keys in CONSUMER_BINDINGS.items():
            if self.scope not in (ALL, consumer):
                continue
            for queue, arguments in self.queues(consumer).items():
                channel.queue_declare(queue, durable=True, arguments=arguments or None)
            for key in keys:
                channel.queue_bind(self.work_queue(consumer), self.exchange, routing_key=key)
            channel.queue_bind(self.dead_letter_queue(consumer), self.dead_letter_exchange,
                               routing_key=consumer)

    def queues(self, consumer: str) -> dict[str, dict[str, str]]:
        """A consumer's three queues and their arguments (declared here, and written by `regflow broker-users
        definitions`). The type is named only for quorum: a classic queue declared before the setting existed has
        no such argument, and a redeclaration must name the same arguments."""
        typed = {"x-queue-type": "quorum"} if self.queue_type == "quorum" else {}
        work = self.work_queue(consumer)
        return {
            work: {**typed, "x-dead-letter-exchange": self.dead_letter_exchange, "x-dead-letter-routing-key": consumer},
            # the default exchange routes by queue name: back to the work queue once the message's TTL is over
            self.retry_queue(consumer): {**typed, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": work},
            self.dead_letter_queue(consumer): typed,
        }

    def delete(self, channel: BlockingChannel) -> None:
        """Remove everything (test clean-up)."""
        for queue in self.all_queues():
            channel.queue_delete(queue)
        channel.exchange_delete(self.exchange)
        channel.exchange_delete(self.dead_letter_exchange)
