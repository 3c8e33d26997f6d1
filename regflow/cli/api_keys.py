"""Operations: the client systems of the HTTP intake API (`regflow.api`) and their keys (`REGFLOW_API_KEYS_FILE`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import Command, command
from regflow.cli.options import Choice
from regflow.cli.output import printable

if TYPE_CHECKING:
    from workflow.settings import Settings


@command("api-keys", "the intake API's client systems: add NAME (its key shown once), remove NAME, list",
         details="ACTION: add: a new key for NAME (a new one replaces the old, which stops working at once), printed "
                 "once: only its SHA-256 is kept in REGFLOW_API_KEYS_FILE; remove: NAME's key stops working; list: "
                 "the names.")
@click.argument("action", type=Choice(["add", "remove", "list"]))
@click.argument("name", required=False)
def api_keys(settings: Settings, *, action: str, name: str | None) -> int:
    from regflow.api.keys import ApiKeyError, ApiKeyStore

    store = ApiKeyStore(settings.api_keys_file)
    if action == "list":
        for one in store.names():
            print(one)
        return 0
    if name is None:
        print(f"error: regflow api-keys {action} NAME: the client system's name is missing", file=sys.stderr)
        return 2
    if action == "remove":
        if not store.remove(name):
            print(printable(f"error: no client {name} in {settings.api_keys_file}"), file=sys.stderr)
            return 1
        print(printable(f"client {name} removed: its key no longer works"))
        return 0
    try:
        key = store.add(name)
    except ApiKeyError as exc:
        print(printable(f"error: {exc}; nothing written"), file=sys.stderr)
        return 2
    print(printable(f"client {name} written to {settings.api_keys_file}; its key, shown this once "
                    "(send it as Authorization: Bearer <key>):"), file=sys.stderr)
    print(key)
    return 0


COMMANDS: tuple[Command, ...] = (api_keys,)
