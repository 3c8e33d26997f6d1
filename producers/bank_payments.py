"""The payments a bank statement decided, sent as finance's `cmd.payment.record` (what `regflow pay` sends), after
the commit that decided them: each line is marked sent once the broker confirmed all its commands. A broker away
leaves them to send; sending again sends the very same envelopes (same ids), which the payments consumer counts
once (its inbox, and the payment id it keeps unique)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from producers.commands import NOT_SENT, CommandClient
from workflow.domain.clock import Clock
from workflow.ops.bank_statements import mark_sent, to_send
from workflow.settings import Settings


def send_pending(settings: Settings, sessions: sessionmaker[Session], clock: Clock) -> tuple[int, str | None]:
    """How many lines were sent, and why it stopped when the broker could not take them (None: all sent)."""
    pending = to_send(sessions)
    if not pending:
        return 0, None
    sent = 0
    try:
        with CommandClient(settings, role="finance", producer="finance") as client:
            for line_id, envelopes in pending:
                for envelope in envelopes:
                    client.publish(envelope)
                mark_sent(sessions, line_id, clock)
                sent += 1
    except NOT_SENT as exc:
        return sent, f"{type(exc).__name__}: {exc}"
    return sent, None
