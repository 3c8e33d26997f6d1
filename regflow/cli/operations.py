"""Operations' commands: the processes (each consumer, the relay, all of them, the back-office page), the
database schema, the broker's users, the back office's users, the health of it all and the parked messages.
The session commands are in regflow/cli/sessions.py."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regflow.cli.commands import Command, command, json_option
from regflow.cli.options import Choice
from regflow.cli.output import clean, printable, progress_bar, safe_url, to_json
from workflow.messaging.topology import CONSUMERS

if TYPE_CHECKING:
    from consumers.runner import ConsumerApp
    from workflow.messaging.dead_letters import DeadLetters
    from workflow.settings import Settings


def _consumer_app(name: str) -> ConsumerApp:
    """The consumer's module alone: a validation process does not load the PDF and Factur-X libraries."""
    import importlib

    if name not in CONSUMERS:  # the choice is checked by click; a module name is never taken from outside
        raise ValueError(f"unknown consumer {name!r}")
    app: ConsumerApp = importlib.import_module(f"consumers.{name}").APP
    return app


@command("migrate", "create or upgrade the database schema")
def migrate_schema(settings: Settings) -> int:
    from workflow.adapters.clocks import clock_from_spec
    from workflow.persistence.db import migrate

    migrate(settings.database_url, catalogue=settings.catalogue_path, at=clock_from_spec(settings.clock).now())
    print(f"database at the latest schema: {safe_url(settings.database_url)}")
    return 0


@command("consume", "run one consumer (until SIGTERM)")
@click.argument("name", type=Choice(CONSUMERS))
def consume(settings: Settings, *, name: str) -> int:
    from consumers.runner import StopFlag, keep_running, run_consumer
    from workflow.bootstrap import bootstrap
    from workflow.ops.health import PROCESS_HEALTH, serve_health
    from workflow.ops.heap import settle_heap

    app = _consumer_app(name)
    deps = bootstrap(settings, role=app.name)
    stop = StopFlag()
    stop.install()
    serve_health(settings, deps.sessions)  # /metrics, /healthz, /readyz when REGFLOW_HTTP_PORT is set
    settle_heap()
    keep_running(lambda: run_consumer(app, deps, stop), stop, app.name, progress=PROCESS_HEALTH.ticks)
    return 0


@command("relay", "run the outbox relay (until SIGTERM)")
def relay(settings: Settings) -> int:
    from consumers.runner import StopFlag, keep_running
    from workflow.bootstrap import bootstrap
    from workflow.messaging.broker import Publisher
    from workflow.messaging.relay import run_relay
    from workflow.ops.health import PROCESS_HEALTH, serve_health
    from workflow.ops.heap import settle_heap
    from workflow.ops.metrics import register_outbox_backlog

    deps = bootstrap(settings, role="relay")
    stop = StopFlag()
    stop.install()
    if serve_health(settings, deps.sessions):  # and the outbox backlog, read from the database at each scrape
        register_outbox_backlog(deps.sessions, deps.clock)
    settle_heap()

    def publish_the_outbox() -> None:
        with Publisher(settings.broker_url, deps.topology) as publisher:
            run_relay(deps.sessions, publisher, deps.clock, settings.relay_poll_seconds, stop,
                      max_bytes=settings.max_message_bytes)

    keep_running(publish_the_outbox, stop, "relay", progress=PROCESS_HEALTH.ticks)
    return 0


@command("run-all", "run every consumer and the relay")
def run_every_process(settings: Settings) -> int:
    """Start every consumer and the relay as separate processes; SIGTERM/Ctrl-C stops them all."""
    from regflow.processes import run_all

    return run_all()


@command("web", "serve the back-office page (support, finance, operations)")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8080)
@click.option("--threads", type=int, default=8, help="requests served at once")
def web(settings: Settings, *, host: str, port: int, threads: int) -> int:
    """The back-office page, served by waitress (a production WSGI server, threads: the code is sync)."""
    import waitress

    from regflow.web import create_app

    server = waitress.create_server(create_app(settings), host=host, port=port, threads=threads, ident="regflow")
    print(f"back office on http://{host}:{port}/ (users in {settings.web_users_file})", flush=True)  # bound: listening
    return _serve_until_stopped(server)


@command("join-server", "serve the personal links (/j/<token>): the public join service, apart from the back office")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8081)
@click.option("--threads", type=int, default=16, help="requests served at once")
def join_server(settings: Settings, *, host: str, port: int, threads: int) -> int:
    """The join service, served by waitress; `REGFLOW_JOIN_BASE_URL` is its public address in the e-mails."""
    import waitress

    from regflow.join import create_join_app

    server = waitress.create_server(create_join_app(settings), host=host, port=port, threads=threads, ident="regflow")
    print(f"join service on http://{host}:{port}/j/<token> (links in e-mails: {settings.join_base_url}/<token>)",
          flush=True)  # bound: listening
    return _serve_until_stopped(server)


def _serve_until_stopped(server: Any) -> int:
    """Serve until SIGTERM or Ctrl-C, then exit 0: a supervisor's stop is not a failure."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        server.close()
    return 0


@command("web-user", "add or update a user of the back-office page")
@click.argument("action", type=Choice(["add"]))
@click.argument("name")
@click.option("--role", "roles", required=True, multiple=True,
              type=Choice(["support", "finance", "operations", "trainer"]), help="repeat for several roles")
@click.option("--full-name", help="a trainer's name as the sessions name their trainer: they sign those sheets")
@click.option("--language", type=Choice(["fr", "en"]), help="the back office's language for this user "
              "(default: the browser's, else French)")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin's first line")
def web_user(settings: Settings, *, action: str, name: str, roles: tuple[str, ...], full_name: str | None,
             language: str | None, password_stdin: bool) -> int:
    """Add or update a user of the back-office page; the password is asked, never taken from the command line."""
    import getpass

    from regflow.web.users import UserStore, WebUserError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ; nothing written", file=sys.stderr)
            return 2
    try:
        user = UserStore(settings.web_users_file).add(name, password, list(roles), full_name=full_name,
                                                           language=language)
    except WebUserError as exc:
        print(printable(f"error: {exc}; nothing written"), file=sys.stderr)
        return 2
    print(printable(f"user {user.name} ({', '.join(user.roles)}) written to {settings.web_users_file}"))
    return 0


@command("broker-users", "operations: a RabbitMQ user per role, limited to its own queues",
         details="ACTION: apply: create them on the local node (rabbitmqctl); definitions: write the file that "
                 "docker compose's broker-users service imports, and the passwords into .env; show: the "
                 "permissions.")
@click.argument("action", type=Choice(["apply", "definitions", "show"]))
@click.option("--vhost", default="/")
@click.option("--passwords-file", default="var/broker-passwords.json",
              help="kept between runs (mode 600); a missing password is generated")
@click.option("--output", default="var/rabbitmq-definitions.json", help="definitions: the file")
@click.option("--env-file", default=".env", help="definitions: the passwords, for docker compose")
def broker_users(settings: Settings, *, action: str, vhost: str, passwords_file: str, output: str,
                 env_file: str) -> int:
    """Least privilege on the broker: a user per role (see workflow/messaging/broker_users.py)."""
    from workflow.messaging.broker_users import (
        ROLES,
        RabbitmqctlError,
        describe,
        import_definitions,
        kept_passwords,
        write_definitions,
    )
    from workflow.messaging.topology import Topology

    topology = Topology(settings.namespace, queue_type=settings.queue_type)
    if action == "show":
        print(describe(topology))
        return 0
    store = Path(passwords_file)
    passwords = kept_passwords(store)
    if action == "definitions":
        write_definitions(topology, vhost, passwords, Path(output), Path(env_file))
        print(f"definitions for {len(passwords)} users written to {output}; their passwords to "
              f"{env_file} (for docker compose) and {store}")
        return 0
    try:
        import_definitions(topology, vhost, passwords)
    except RabbitmqctlError as exc:
        print(f"error: rabbitmqctl import_definitions: {exc}", file=sys.stderr)
        return 1
    print(f"{len(ROLES)} broker users ready ({', '.join(f'{topology.namespace}-{r}' for r in ROLES)}); "
          f"passwords in {store}. Run each process with its own user in REGFLOW_BROKER_URL and "
          f"REGFLOW_BROKER_DECLARE=own.")
    return 0


@command("status", "operations: queues, consumers, parked messages, outbox, stuck registrations; exit 1 when "
                   "something needs a human")
@json_option
def status(settings: Settings, *, as_json: bool) -> int:
    """Exit 1 when something needs a human (parked messages, stuck registrations, a consumer missing...)."""
    from workflow.ops.status import collect_status, format_status

    found = collect_status(settings)
    print(to_json(found) if as_json else format_status(clean(found)))
    return 0 if found["ok"] else 1


@command("dead-letters", "operations: list, show, replay or purge parked messages",
         details="MESSAGE_ID: for show and replay.")
@click.argument("action", type=Choice(["list", "show", "replay", "purge"]))
@click.argument("message_id", required=False)
@click.option("--consumer", type=Choice(CONSUMERS), help="default: every consumer")
@click.option("--all", "every", is_flag=True, help="replay: every parked message")
@json_option
@click.option("--yes", is_flag=True, help="purge without asking")
def dead_letters(settings: Settings, *, action: str, message_id: str | None, consumer: str | None, every: bool,
                 as_json: bool, yes: bool) -> int:
    from workflow.messaging.dead_letters import DeadLetters
    from workflow.messaging.topology import Topology

    scope = "operations" if settings.broker_declare == "own" else "all"
    topology = Topology(settings.namespace, scope=scope, queue_type=settings.queue_type)
    letters = DeadLetters(settings.broker_url, topology)
    consumers = [consumer] if consumer else list(CONSUMERS)
    if action == "list":
        return _letters_list(letters, consumers, as_json=as_json)
    if action == "show":
        return _letters_show(letters, consumers, message_id)
    if action == "replay":
        return _letters_replay(letters, consumers, message_id, every=every)
    return _letters_purge(letters, consumers, yes=yes)


def _letters_list(letters: DeadLetters, consumers: list[str], *, as_json: bool) -> int:
    now = datetime.now(UTC)
    rows = [m.summary(now) for c in consumers for m in letters.parked(c)]
    if as_json:
        print(to_json(rows))
        return 0
    print(f"{len(rows)} parked message(s)")
    for r in clean(rows):
        print(f"  [{r['consumer']}] {r['message_id']}  {r['type']}  registration {r['registration_id']}  "
              f"attempts {r['attempts']}  age {r['age']}\n      {r['error']}")
    return 0


def _letters_show(letters: DeadLetters, consumers: list[str], message_id: str | None) -> int:
    found = [m for c in consumers for m in letters.parked(c) if m.message_id == message_id]
    if not found:
        print(f"no parked message {printable(message_id)}", file=sys.stderr)
        return 1
    message = found[0]
    print(to_json({**message.summary(datetime.now(UTC)),
                   "headers": {k: str(v) for k, v in message.headers.items()},
                   "body": message.body.decode(errors="replace")}))
    return 0


def _letters_replay(letters: DeadLetters, consumers: list[str], message_id: str | None, *, every: bool) -> int:
    if not (message_id or every):
        print("error: replay needs a MESSAGE_ID or --all", file=sys.stderr)
        return 2
    with progress_bar(0, "messages", shown=every) as bar:

        def progress(done: int, fetched: int) -> None:
            if done == 0:  # one more dead-letter queue read: the total grows by its depth
                bar.total = (bar.total or 0) + fetched
                bar.refresh()
            else:
                bar.update(1)

        replayed = [m for c in consumers for m in letters.replay(
            c, lambda m: every or m.message_id == message_id, progress=progress)]
    print(f"{len(replayed)} message(s) sent back to their work queue")
    return 0 if replayed else 1


def _letters_purge(letters: DeadLetters, consumers: list[str], *, yes: bool) -> int:
    if not yes:
        try:
            said = input(f"purge the dead-letter queues of {', '.join(consumers)}? type 'purge' to confirm: ")
        except EOFError:  # no terminal to ask: a script must say --yes
            said = ""
        if said.strip() != "purge":
            print("\nnothing purged (confirm by typing 'purge', or pass --yes)")
            return 1
    print(f"{sum(letters.purge(c) for c in consumers)} message(s) purged")
    return 0


COMMANDS: tuple[Command, ...] = (status, dead_letters, migrate_schema, consume, relay, join_server, run_every_process,
                                 broker_users, web, web_user)
