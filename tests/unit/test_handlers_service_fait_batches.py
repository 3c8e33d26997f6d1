"""Service fait split into batches (`session.held_batch`), in memory: how a session is cut, what a batch carries,
and a batch that does not match the session record refused. Redelivery and rollback: the integration test
`test_service_fait_batches`."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from consumers import payments
from schemas.messages import HoldSession, SessionHeldBatch
from tests.unit.fakes import SETTINGS, Office
from workflow.domain.clock import PARIS
from workflow.domain.errors import InconsistentMessageError
from workflow.domain.machine import State

HANDICAP = "cpom-handicap-2023-09-15"
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)


def office_of(registrations: int, batch: int) -> Office:
    office = Office(payments.ACTOR, settings=SETTINGS.model_copy(update={"hold_batch_size": batch}))
    for n in range(1, registrations + 1):
        office.given(f"r-{n}", State.INVOICED)
    office.at(EVENING)
    return office


def hold(office: Office) -> None:
    office.handle(payments.handle_hold_session, "cmd.session.hold", HoldSession(
        session_id=HANDICAP, held_on=date(2023, 9, 15), requested_by="tom", reason="feuille perdue"))


def test_a_session_within_one_batch_is_held_by_the_command_alone() -> None:
    office = office_of(3, batch=3)
    hold(office)
    assert [office.registration(f"r-{n}").state for n in (1, 2, 3)] == [State.SESSION_HELD] * 3
    assert office.uow.events("session.held_batch") == []
    assert len(office.uow.events("session.held")) == 1


def test_the_rest_of_a_larger_session_goes_in_batches_that_say_what_each_history_will_name() -> None:
    office = office_of(5, batch=2)
    hold(office)

    assert [office.registration(f"r-{n}").state for n in range(1, 6)] == [State.SESSION_HELD] * 2 + [State.INVOICED] * 3
    batches = office.uow.events("session.held_batch")
    assert [(b.batch, b.batches, b.registration_ids) for b in batches] == [(1, 2, ["r-3", "r-4"]), (2, 2, ["r-5"])]
    assert {(b.evidence, b.requested_by) for b in batches} == {
        ("sans feuille d'émargement signée : feuille perdue", "tom")}

    for batch in batches:
        office.handle(payments.handle_session_held_batch, "session.held_batch", batch)
    assert [office.registration(f"r-{n}").state for n in range(1, 6)] == [State.SESSION_HELD] * 5
    assert office.uow.registrations.history["r-5"][-1].reason == (
        "service fait 2023-09-15 — sans feuille d'émargement signée : feuille perdue (applied by payments)")


def test_a_batch_of_a_session_not_recorded_as_held_is_refused_and_changes_nothing() -> None:
    office = office_of(1, batch=1)
    with pytest.raises(InconsistentMessageError):
        office.handle(payments.handle_session_held_batch, "session.held_batch", SessionHeldBatch(
            session_id=HANDICAP, held_on=date(2023, 9, 15), batch=1, batches=1, registration_ids=["r-1"],
            evidence="forged"))
    assert office.registration("r-1").state is State.INVOICED
