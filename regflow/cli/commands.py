"""How a subcommand is declared: its arguments parsed and checked first (a usage error: its message, exit 2),
then the settings read, then its body run, which returns the exit code. A command that sends a command
message (`sending`) also takes --wait SECONDS | --no-wait and --json, and is given how to wait for its
decision."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from regflow.cli.decisions import DEFAULT_WAIT_SECONDS, WAIT_ENV, Waiting
from regflow.cli.options import SECONDS
from regflow.cli.output import both

if TYPE_CHECKING:
    from workflow.settings import Settings

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

json_option = click.option("--json", "as_json", is_flag=True, help="print it as JSON, for a script")


class Command(click.Command):
    """A click command with mutually exclusive options (argparse's groups): two of a pair given is a usage
    error, raised while parsing, before anything is read or sent."""

    def __init__(self, *args: Any, exclusive: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exclusive = tuple(exclusive)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        options = {param.name: param.opts[0] for param in self.params}
        for pair in self.exclusive:
            given = [options[name] for name in pair if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
            if len(given) > 1:
                raise click.UsageError(both(f"{given[1]} ne va pas avec {given[0]}",
                                            f"{given[1]}: not allowed with {given[0]}"), ctx)
        return rest


def load_settings() -> Settings:
    """The settings (REGFLOW_*), read once the arguments are known to be good; the logs configured from them."""
    from workflow.ops.logs import configure_logging
    from workflow.settings import Settings

    settings = Settings()
    configure_logging(settings.log_format)
    return settings


def command(name: str, summary: str, *, details: str | None = None, exclusive: Sequence[tuple[str, str]] = ()
            ) -> Callable[[Callable[..., int]], Command]:
    """`regflow NAME`: `summary` in the list of commands, `details` too in its --help; the body is called with
    the settings, then its parameters by name, and returns the exit code."""

    def decorate(run: Callable[..., int]) -> Command:
        @functools.wraps(run)  # keeps the options declared on `run`
        def callback(**params: Any) -> int:
            return run(load_settings(), **params)

        return click.command(name, cls=Command, help=summary if details is None else f"{summary}\n\n{details}",
                             short_help=summary, exclusive=exclusive,
                             context_settings=CONTEXT_SETTINGS)(callback)  # -h wherever it is invoked from

    return decorate


def sending(name: str, summary: str, *, details: str | None = None) -> Callable[[Callable[..., int]], Command]:
    """A command that publishes command messages and waits for their decision (accepted: exit 0, refused: 1,
    none in time: 2) unless --no-wait: the body is called with the settings and a `Waiting`."""

    def decorate(run: Callable[..., int]) -> Command:
        @functools.wraps(run)
        def with_waiting(settings: Settings, *, wait: float | None, no_wait: bool, as_json: bool, **params: Any
                         ) -> int:
            return run(settings, Waiting.chosen(wait, no_wait, as_json), **params)

        built = command(name, summary, details=details, exclusive=[("wait", "no_wait")])(with_waiting)
        built.params += [
            click.Option(["--wait"], type=SECONDS, help=f"how long to wait for the decision (default "
                                                        f"{DEFAULT_WAIT_SECONDS:g}, or {WAIT_ENV}; 0: do not wait)"),
            click.Option(["--no-wait"], is_flag=True, help="fire and forget: exit 0 once the broker has the command"),
            click.Option(["--json", "as_json"], is_flag=True,
                         help="print the decision as JSON (command_id, outcome, reason_fr, reason_en...)")]
        return built

    return decorate
