"""Processes killed with SIGKILL while registrations flow: every effect still happens exactly once."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import RunningConsumers, dead_letters, load_form, wait_until
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps
from workflow.persistence.orm import EmailRow, InvoiceRow, RegistrationRow
from workflow.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COUNT = 40


def test_killing_consumers_mid_way_loses_nothing_and_duplicates_nothing(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink) -> None:
    for replica in ("invoicing-2", "invoicing-3", "relay-2"):  # competing consumers and relays
        consumers.restart(replica)
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    ids = [f"kill-{n:03d}" for n in range(COUNT)]
    with CommandClient(settings) as client:
        for registration_id in ids:
            client.submit_form(form, registration_id)

    def invoiced() -> int:
        with deps.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(InvoiceRow)) or 0)

    # Given three invoicing replicas and two relays with work in flight, when one invoicing replica,
    # the notifications consumer and a relay are killed (twice, at whatever point they are), then
    # restarted:
    for round_ in range(2):
        wait_until(lambda r=round_: invoiced() > r * 10, "invoices to be issued")
        victims = ("invoicing", "notifications", "relay")
        for name in victims:
            consumers.kill(name)
        time.sleep(0.3)
        for name in victims:
            consumers.restart(name)

    wait_until(lambda: invoiced() == COUNT, f"{COUNT} invoices", timeout=90)
    wait_until(lambda: _emails(deps) == 4 * COUNT, f"{4 * COUNT} e-mails", timeout=90)
    wait_until(lambda: _sent(deps) == 4 * COUNT, f"{4 * COUNT} e-mails sent", timeout=90)

    with deps.sessions() as session:
        numbers = sorted(session.scalars(select(InvoiceRow.sequence)).all())
        per_registration = Counter(session.scalars(select(InvoiceRow.registration_id)).all())
        states = Counter(session.scalars(select(RegistrationRow.state)).all())
        keys = session.scalars(select(EmailRow.idempotency_key)).all()
    assert numbers == list(range(1, COUNT + 1)), "invoice numbers must run 1..N without gap"
    assert set(per_registration) == set(ids)
    assert max(per_registration.values()) == 1, "one invoice per registration"
    assert states == {"invoiced": COUNT}
    assert len(keys) == len(set(keys)) == 4 * COUNT, "each e-mail recorded once"
    with deps.sessions() as session:
        message_ids = set(session.scalars(select(EmailRow.message_id)))
    received = Counter(str(m["Message-ID"]) for m in smtp.received)
    assert set(received) == message_ids, "every e-mail reached the SMTP server"
    resent = sum(received.values()) - len(received)
    # Two kills of the notifications consumer: at most one e-mail each can be in the window between the
    # server's OK and the commit (README, "E-mails"); such a copy has the original's Message-ID.
    assert resent <= 2, f"{resent} e-mails sent twice"
    assert all(dead_letters(settings, c) == [] for c in ("validation", "invoicing", "notifications"))


def _sent(deps: Deps) -> int:
    with deps.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(EmailRow).where(EmailRow.status == "sent")) or 0)


def _emails(deps: Deps) -> int:
    with deps.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(EmailRow)) or 0)
