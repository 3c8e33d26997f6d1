"""The catalogue a process loaded is reused while PostgreSQL's rows are the same, and never once they are not: a
change committed by another process, a change of this very unit of work not yet flushed, a rolled-back change."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from workflow.bootstrap import Deps
from workflow.domain.catalogue import Catalogue, SessionState
from workflow.persistence.orm import TrainingSessionRow
from workflow.persistence.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

SESSION = "cpom-handicap-2023-09-15"


def read(deps: Deps) -> Catalogue:
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        return uow.catalogue.current(deps.schedule)


def capacity(catalogue: Catalogue) -> int | None:
    found = catalogue.session(SESSION)
    assert found is not None
    return found[1].capacity


def test_an_unchanged_catalogue_is_reused(deps: Deps) -> None:
    first = read(deps)
    assert read(deps) is first


def test_a_change_committed_elsewhere_is_read_at_the_next_unit_of_work(deps: Deps) -> None:
    before = capacity(read(deps))
    with deps.sessions.begin() as session:  # another process's connection, as far as the cache knows
        session.execute(text("UPDATE training_sessions SET capacity = :c WHERE id = :id"),
                        {"c": (before or 30) + 7, "id": SESSION})
    assert capacity(read(deps)) == (before or 30) + 7


def test_a_session_added_elsewhere_is_seen(deps: Deps) -> None:
    read(deps)
    with deps.sessions.begin() as session:
        session.execute(text(
            "INSERT INTO training_sessions (id, training_id, date, state, capacity, version, created_at, updated_at)"
            " SELECT 'cpom-handicap-2031-01-15', training_id, date '2031-01-15', state, capacity, 1, created_at,"
            " updated_at FROM training_sessions WHERE id = :id"), {"id": SESSION})
    assert read(deps).session("cpom-handicap-2031-01-15") is not None


def test_this_unit_of_works_own_unflushed_change_is_read_and_a_rollback_forgets_it(deps: Deps) -> None:
    before = capacity(read(deps))
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        row = uow.session.get(TrainingSessionRow, SESSION)
        assert row is not None
        row.capacity = 3  # pending: not flushed yet
        assert capacity(uow.catalogue.current(deps.schedule)) == 3  # then left without a commit: rolled back
    assert capacity(read(deps)) == before


def test_a_row_changed_twice_in_one_unit_of_work_is_read_as_last_changed_then_and_after_its_commit(deps: Deps) -> None:
    """Both changes carry this transaction's `xmin`: the fingerprint alone cannot tell them apart, so a unit of work
    that wrote catalogue rows reads them itself and leaves nothing for the others to reuse."""
    with UnitOfWork(deps.sessions, deps.clock, actor="test") as uow:
        row = uow.session.get(TrainingSessionRow, SESSION)
        assert row is not None
        row.capacity = 3
        assert capacity(uow.catalogue.current(deps.schedule)) == 3
        uow.catalogue.set_state(SESSION, SessionState.CLOSED, at=deps.clock.now())
        found = uow.catalogue.current(deps.schedule).session(SESSION)
        assert found is not None
        assert found[1].state == SessionState.CLOSED
        uow.commit()
    found = read(deps).session(SESSION)
    assert found is not None
    assert (found[1].state, found[1].capacity) == (SessionState.CLOSED, 3)
