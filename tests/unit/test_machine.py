"""Every legal transition of the registration machine, and every illegal one refused."""

from __future__ import annotations

import itertools

import pytest

from workflow.domain.errors import IllegalTransitionError
from workflow.domain.machine import State, allowed_triggers, mermaid_diagram, next_state

LEGAL = {
    (State.RECEIVED, "resubmit"): State.RECEIVED,
    (State.REJECTED, "resubmit"): State.RECEIVED,
    (State.RECEIVED, "reject"): State.REJECTED,
    (State.RECEIVED, "sign"): State.SIGNED,
    (State.SIGNED, "confirm"): State.CONFIRMED,
    (State.CONFIRMED, "invoice"): State.INVOICED,
    (State.INVOICED, "settle"): State.SETTLED,
    (State.SESSION_HELD, "settle"): State.PAID,
    (State.INVOICED, "hold_session"): State.SESSION_HELD,
    (State.SETTLED, "hold_session"): State.PAID,
    (State.RECEIVED, "cancel_session"): State.CANCELLED,
    (State.SIGNED, "cancel_session"): State.CANCELLED,
    (State.CONFIRMED, "cancel_session"): State.CANCELLED,
    (State.INVOICED, "cancel_session"): State.CANCELLED,
    (State.SETTLED, "cancel_session"): State.CANCELLED,
    (State.CANCELLED, "credit"): State.CREDITED,
    **{(s, "move_session"): s for s in (State.RECEIVED, State.SIGNED, State.CONFIRMED, State.INVOICED,
                                        State.SETTLED)},
    (State.INVOICED, "reinvoice"): State.INVOICED,
    (State.SESSION_HELD, "reinvoice"): State.SESSION_HELD,
    (State.CONFIRMED, "replace_participant"): State.CONFIRMED,
    (State.INVOICED, "replace_participant"): State.INVOICED,
    (State.SETTLED, "replace_participant"): State.SETTLED,
}
TRIGGERS = sorted({trigger for _, trigger in LEGAL})


@pytest.mark.parametrize(("state", "trigger"), list(LEGAL))
def test_a_legal_trigger_reaches_its_destination(state: State, trigger: str) -> None:
    assert next_state("r-1", state, trigger) == LEGAL[(state, trigger)]


ILLEGAL = [(s, t) for s, t in itertools.product(State, TRIGGERS) if (s, t) not in LEGAL]


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_an_illegal_trigger_is_refused_with_the_state_and_trigger_named(state: State, trigger: str) -> None:
    with pytest.raises(IllegalTransitionError) as refused:
        next_state("r-1", state, trigger)
    assert f"'{trigger}' is not allowed in state '{state}'" in str(refused.value)


def test_an_unknown_trigger_is_refused() -> None:
    with pytest.raises(IllegalTransitionError):
        next_state("r-1", State.RECEIVED, "cancel_everything")


def test_paid_and_credited_are_final_and_confirmed_cannot_go_back() -> None:
    assert allowed_triggers(State.PAID) == []
    assert allowed_triggers(State.CREDITED) == []
    assert allowed_triggers(State.CONFIRMED) == ["cancel_session", "invoice", "move_session", "replace_participant"]


def test_the_diagram_is_drawn_from_the_machine_and_shows_every_state_and_trigger() -> None:
    diagram = mermaid_diagram()
    assert diagram.count("stateDiagram-v2") == 1
    for state in State:
        assert f'state "{state}"' in diagram
    assert "invoiced --> settled: settle" in diagram
    assert "settled --> paid: hold_session" in diagram
