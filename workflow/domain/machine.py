"""The registration state machine: the one definition every consumer goes through.

`transitions` holds the table; the domain model (`workflow.domain.registration`) checks the business guards and
asks `next_state` for the destination, so an illegal trigger is refused in one place.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from transitions import Machine, MachineError

from workflow.domain.errors import IllegalTransitionError


class State(StrEnum):
    RECEIVED = "received"  # form arrived and validated, or waiting for its signature
    REJECTED = "rejected"  # the form breaks rules: kept with every error, can be resubmitted
    SIGNED = "signed"  # stamp or electronic signature received
    CONFIRMED = "confirmed"  # registration is final (no cancellation; a participant may be replaced)
    INVOICED = "invoiced"  # invoice issued
    SETTLED = "settled"  # invoice paid before the session was held (private clients pay on receipt)
    SESSION_HELD = "session_held"  # "service fait": the session took place on its date
    PAID = "paid"  # session held and invoice settled, in whatever order
    CANCELLED = "cancelled"  # the organiser cancelled the session (a client cannot: confirmed is final)
    CREDITED = "credited"  # the invoice of a cancelled registration is cancelled by a credit note


STATE_WORDS: dict[State, tuple[str, str]] = {  # what the client reads of each state: French, then English
    State.RECEIVED: ("reçue, en attente de la signature (cachet de l'organisme ou signature électronique)",
                     "received, waiting for its signature"),
    State.REJECTED: ("à corriger : le formulaire contient des erreurs", "rejected: the form has errors to correct"),
    State.SIGNED: ("signée, en cours de confirmation", "signed, being confirmed"),
    State.CONFIRMED: ("confirmée (inscription définitive)", "confirmed (final)"),
    State.INVOICED: ("confirmée et facturée", "confirmed and invoiced"),
    State.SETTLED: ("facture réglée, en attente de la session", "invoice paid, the session to come"),
    State.SESSION_HELD: ("session tenue (service fait)", "session held (service done)"),
    State.PAID: ("session tenue et facture réglée", "session held and invoice paid"),
    State.CANCELLED: ("session annulée par l'organisme de formation", "session cancelled by the training body"),
    State.CREDITED: ("session annulée, facture annulée par un avoir", "session cancelled, invoice credited"),
}


# Plain strings: `transitions` would name Enum members by their Python name, not their value.
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "resubmit", "source": ["received", "rejected"], "dest": "received"},
    {"trigger": "reject", "source": "received", "dest": "rejected"},
    {"trigger": "sign", "source": "received", "dest": "signed"},
    {"trigger": "confirm", "source": "signed", "dest": "confirmed"},
    {"trigger": "invoice", "source": "confirmed", "dest": "invoiced"},
    {"trigger": "settle", "source": "invoiced", "dest": "settled"},
    {"trigger": "settle", "source": "session_held", "dest": "paid"},
    {"trigger": "hold_session", "source": "invoiced", "dest": "session_held"},
    {"trigger": "hold_session", "source": "settled", "dest": "paid"},
    {"trigger": "cancel_session", "source": ["received", "signed", "confirmed", "invoiced", "settled"],
     "dest": "cancelled"},
    {"trigger": "credit", "source": "cancelled", "dest": "credited"},
    # Reflexive: the state stays, the history and the events say what happened.
    {"trigger": "move_session", "source": ["received", "signed", "confirmed", "invoiced", "settled"], "dest": "="},
    {"trigger": "reinvoice", "source": ["invoiced", "session_held"], "dest": "="},
    {"trigger": "replace_participant", "source": ["confirmed", "invoiced", "settled"], "dest": "="},
]

INITIAL = State.RECEIVED
FINAL_STATES = frozenset({State.PAID})


class _Cursor:
    """A throw-away model: the machine is shared, so each firing borrows it for one step."""

    state: str


_MACHINE = Machine(
    model=None,
    states=[s.value for s in State],
    transitions=TRANSITIONS,
    initial=INITIAL.value,
    auto_transitions=False,
)


def next_state(registration_id: str, state: str, trigger: str) -> State:
    """Destination of `trigger` from `state`, or `IllegalTransitionError`."""
    cursor = _Cursor()
    _MACHINE.add_model(cursor, initial=str(state))
    try:
        getattr(cursor, trigger)()
    except (MachineError, AttributeError) as exc:
        raise IllegalTransitionError(registration_id, state, trigger) from exc
    finally:
        _MACHINE.remove_model(cursor)
    return State(cursor.state)


def allowed_triggers(state: str) -> list[str]:
    return sorted(set(_MACHINE.get_triggers(str(state))))


def mermaid_diagram() -> str:
    """The diagram of the machine, drawn by `transitions` itself from the table above."""
    from transitions.extensions.diagrams import GraphMachine

    class _Drawn:
        pass

    drawn = _Drawn()
    GraphMachine(
        model=drawn,
        states=[s.value for s in State],
        transitions=TRANSITIONS,
        initial=INITIAL.value,
        auto_transitions=False,
        graph_engine="mermaid",
        show_state_attributes=False,
    )
    text = str(drawn.get_graph().draw(None))  # type: ignore[attr-defined]
    # transitions writes its title as a bare front-matter block, which mermaid renderers reject
    return text.split("---\n", 2)[-1] if text.startswith("---\n") else text
