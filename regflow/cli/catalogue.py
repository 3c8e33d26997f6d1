"""Operations' commands on the catalogue: `regflow trainings list|add|edit` and `regflow sessions
list|add|edit|close|reopen`. They write the database (each change with its event in the outbox); the consumers
read the catalogue at every message, so no restart is needed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from regflow.cli.commands import CONTEXT_SETTINGS, Command, command, json_option
from regflow.cli.options import AMOUNT, DATE, SESSION_ID
from regflow.cli.output import printable, to_json

if TYPE_CHECKING:
    from workflow.ops.catalogue import CatalogueDesk
    from workflow.settings import Settings

CLEARABLE = ("capacity", "registration_deadline", "join_url", "trainer")


def desk(settings: Settings) -> CatalogueDesk:
    from workflow.adapters.clocks import clock_from_spec
    from workflow.adapters.data_files import load_catalogue
    from workflow.ops.catalogue import CatalogueDesk
    from workflow.persistence.db import make_engine, session_factory

    return CatalogueDesk(session_factory(make_engine(settings.database_url)), clock_from_spec(settings.clock),
                         load_catalogue(settings.catalogue_path).schedule)


def _session_options(run: Any) -> Any:
    for option in reversed([
        click.option("--capacity", type=click.IntRange(1, 10000), help="seats (none: no limit)"),
        click.option("--deadline", "registration_deadline", type=DATE,
                     help="YYYY-MM-DD, last day a form is accepted (default: the day before)"),
        click.option("--join-url", help="the video-conference platform's address of the session (http(s))"),
        click.option("--trainer", help="the trainer's name, who signs the attendance sheet"),
    ]):
        run = option(run)
    return run


def session_summary(session: dict[str, Any]) -> str:
    seats = "sans limite / no limit" if session["capacity"] is None else \
        f"{session['seats_taken']}/{session['capacity']} places / seats"
    return printable(f"{session['id']}  {session['date']}  {session['state_fr']} / {session['state']}  {seats}  "
                     f"inscriptions jusqu'au / registrations until {session['registration_deadline']}  "
                     f"{session['title']}")


# --- sessions ------------------------------------------------------------------------------------------------


@command("list", "the sessions, their state and seats")
@json_option
def list_sessions(settings: Settings, *, as_json: bool) -> int:
    lines = desk(settings).listing()
    print(to_json(lines) if as_json else "\n".join(session_summary(s) for s in lines) or "aucune séance / no session")
    return 0


@command("add", "add a session (a date) to a training")
@click.argument("session_id", type=SESSION_ID)
@click.option("--training", "training_id", required=True, type=SESSION_ID, help="the training's id")
@click.option("--date", "on", required=True, type=DATE, help="YYYY-MM-DD, the day of the session")
@_session_options
@json_option
def add_session(settings: Settings, *, session_id: str, training_id: str, on: date, as_json: bool,
                **fields: Any) -> int:
    from workflow.domain.catalogue import SessionDate

    added = desk(settings).add_session(training_id, SessionDate(id=session_id, date=on, **fields))
    return _answer(settings, added.id, as_json, f"séance {added.id} ajoutée / session {added.id} added")


@command("edit", "change a session's date, capacity, deadline, join address or trainer")
@click.argument("session_id", type=SESSION_ID)
@click.option("--date", "on", type=DATE, help="YYYY-MM-DD (only while nobody is registered: else move-session)")
@_session_options
@click.option("--clear", multiple=True, type=click.Choice(CLEARABLE), help="unset that field (repeatable)")
@json_option
def edit_session(settings: Settings, *, session_id: str, on: date | None, clear: tuple[str, ...], as_json: bool,
                 **fields: Any) -> int:
    changes = {name: value for name, value in fields.items() if value is not None}
    if on is not None:
        changes["date"] = on
    changes.update(dict.fromkeys(clear))
    if not changes:
        raise click.UsageError("rien à changer / nothing to change")
    desk(settings).edit_session(session_id, changes)
    return _answer(settings, session_id, as_json, f"séance {session_id} modifiée / session {session_id} changed")


def _state_command(name: str, summary: str, state: str, fr: str, en: str) -> Command:
    @command(name, summary)
    @click.argument("session_id", type=SESSION_ID)
    @json_option
    def run(settings: Settings, *, session_id: str, as_json: bool) -> int:
        from workflow.domain.catalogue import SessionState

        desk(settings).set_state(session_id, SessionState(state))
        return _answer(settings, session_id, as_json, f"séance {session_id} {fr} / session {session_id} {en}")

    return run


close_session = _state_command("close", "close a session's registrations (no new form)", "closed", "close", "closed")
reopen_session = _state_command("reopen", "reopen a closed session's registrations", "open", "rouverte", "reopened")


def _answer(settings: Settings, session_id: str, as_json: bool, said: str) -> int:
    line = next(s for s in desk(settings).listing() if s["id"] == session_id)
    print(to_json(line) if as_json else f"{printable(said)}\n{session_summary(line)}")
    return 0


# --- trainings -----------------------------------------------------------------------------------------------


@command("list", "the trainings and their prices")
@json_option
def list_trainings(settings: Settings, *, as_json: bool) -> int:
    trainings = desk(settings).catalogue().trainings
    if as_json:
        print(to_json([t.model_dump(mode="json", exclude={"sessions"}) | {"sessions": [s.id for s in t.sessions]}
                       for t in trainings]))
    else:
        for t in trainings:
            print(printable(f"{t.id}  {t.price_per_participant} € par participant, exonéré de TVA / per "
                            f"participant, VAT-exempt  {len(t.sessions)} séance(s)  {t.title}"))
    return 0


@command("add", "add a training to the catalogue")
@click.argument("training_id", type=SESSION_ID)
@click.option("--title", required=True)
@click.option("--format", "format_", required=True, help="e.g. « Journée de formation à distance »")
@click.option("--objective", required=True)
@click.option("--audience", multiple=True, required=True, help="one public (repeatable)")
@click.option("--speaker", required=True)
@click.option("--price", required=True, type=AMOUNT, help="per participant, in euros")
@click.option("--agreement/--no-agreement", default=False, help="whether the invoice is the training agreement")
def add_training(settings: Settings, *, training_id: str, title: str, format_: str, objective: str,
                 audience: tuple[str, ...], speaker: str, price: Decimal, agreement: bool) -> int:
    from workflow.domain.catalogue import Training

    desk(settings).add_training(Training(
        id=training_id, title=title, format=format_, objective=objective, audience=list(audience), speaker=speaker,
        price_per_participant=price, vat="exempt", invoice_is_training_agreement=agreement, sessions=[]))
    print(printable(f"formation {training_id} ajoutée / training {training_id} added"))
    return 0


@command("edit", "change a training (its title, objective, audience, speaker, price, agreement)")
@click.argument("training_id", type=SESSION_ID)
@click.option("--title")
@click.option("--format", "format_")
@click.option("--objective")
@click.option("--audience", multiple=True, help="replaces the publics (repeatable)")
@click.option("--speaker")
@click.option("--price", type=AMOUNT)
@click.option("--agreement/--no-agreement", default=None)
def edit_training(settings: Settings, *, training_id: str, format_: str | None, audience: tuple[str, ...],
                  price: Decimal | None, agreement: bool | None, **fields: Any) -> int:
    changes = {name: value for name, value in fields.items() if value is not None}
    changes |= {k: v for k, v in (("format", format_), ("price_per_participant", price),
                                  ("invoice_is_training_agreement", agreement)) if v is not None}
    if audience:
        changes["audience"] = list(audience)
    if not changes:
        raise click.UsageError("rien à changer / nothing to change")
    desk(settings).edit_training(training_id, changes)
    print(printable(f"formation {training_id} modifiée / training {training_id} changed"))
    return 0


def _group(name: str, summary: str, commands: tuple[click.Command, ...]) -> click.Group:
    group = click.Group(name, help=summary, short_help=summary, context_settings=CONTEXT_SETTINGS)
    for one in commands:
        group.add_command(one)
    return group


COMMANDS: tuple[click.Command, ...] = (
    _group("trainings", "the catalogue's trainings: list, add, edit", (list_trainings, add_training, edit_training)),
    _group("sessions", "the sessions: list, add, edit, close, reopen",
           (list_sessions, add_session, edit_session, close_session, reopen_session)),
)
