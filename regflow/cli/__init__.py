"""`regflow`: one command-line entry point. Each subcommand parses its arguments and calls the code.

The commands are grouped by who runs them, a module each: regflow/cli/intake.py, support.py, finance.py,
operations.py (and sessions.py, catalogue.py), development.py; what they share is in options.py (what is typed),
output.py (what is printed), decisions.py (waiting for a command's decision) and commands.py."""

from __future__ import annotations

import io
import sys

import click

from regflow.cli import (
    api_keys,
    bank,
    bpf,
    catalogue,
    chorus,
    development,
    finance,
    intake,
    interest_claims,
    operations,
    personal_data,
    retention,
    sessions,
    support,
)
from regflow.cli.commands import CONTEXT_SETTINGS
from regflow.cli.output import expected_error, print_lines, printable

AUDIENCES: dict[str, tuple[click.Command, ...]] = {
    "Intake": intake.COMMANDS,
    "Support": (*support.COMMANDS, *personal_data.COMMANDS),
    "Finance": (*finance.COMMANDS, *bank.COMMANDS, *chorus.COMMANDS, *interest_claims.COMMANDS, *bpf.COMMANDS,
                *retention.COMMANDS),
    "Operations": (*catalogue.COMMANDS, *sessions.COMMANDS, *operations.COMMANDS, *api_keys.COMMANDS),
    "Development": development.COMMANDS,
}


class Regflow(click.Group):
    """The root command: its --help lists the commands by audience, in the order each module gives them."""

    def __init__(self, audiences: dict[str, tuple[click.Command, ...]]) -> None:
        super().__init__("regflow", help=__doc__.split("\n\n")[0] if __doc__ else None,
                         context_settings=CONTEXT_SETTINGS)
        self.audiences = {title: [str(c.name) for c in commands] for title, commands in audiences.items()}
        for commands in audiences.values():
            for one in commands:
                self.add_command(one)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for names in self.audiences.values() for name in names]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.commands)
        for title, names in self.audiences.items():
            with formatter.section(title):
                formatter.write_dl([(name, self.commands[name].get_short_help_str(limit)) for name in names])


cli = Regflow(AUDIENCES)


def main(argv: list[str] | None = None) -> int:
    """Parse (a bad option: its message, exit 2), run the subcommand, and turn an expected error (a value the
    schema refuses, a file that cannot be read...) into one line on stderr and exit 2, never a traceback."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        with cli.make_context("regflow", args) as ctx:
            return int(cli.invoke(ctx))
    except click.exceptions.Exit as done:  # --help
        return done.exit_code
    except click.ClickException as refused:  # what argparse calls a usage error: the usage, the message
        shown = io.StringIO()
        refused.show(file=shown)
        print_lines(shown.getvalue().rstrip("\n"), file=sys.stderr)
        return refused.exit_code
    except KeyboardInterrupt:
        print("\ninterrompu / interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = expected_error(exc)
        if message is None:
            raise
        print(printable(message), file=sys.stderr)
        return 2
