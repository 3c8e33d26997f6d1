"""`regflow`: one command-line entry point. Each subcommand parses its arguments and calls the code."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.form import Signature, SignatureMethod
from workflow.dead_letters import DeadLetters
from workflow.machine import State
from workflow.settings import Settings
from workflow.topology import CONSUMERS

if TYPE_CHECKING:
    from tqdm import tqdm


def _consumer_apps() -> dict[str, object]:
    from consumers import invoicing, notifications, payments, validation

    return {"validation": validation.APP, "invoicing": invoicing.APP,
            "notifications": notifications.APP, "payments": payments.APP}


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.db import migrate

    migrate(settings.database_url)
    print(f"database at the latest schema: {_safe_url(settings.database_url)}")
    return 0


def cmd_consume(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.runner import ConsumerApp, StopFlag, keep_running, run_consumer
    from workflow.bootstrap import bootstrap
    from workflow.health import serve_health

    app = _consumer_apps()[args.name]
    assert isinstance(app, ConsumerApp)
    deps = bootstrap(settings, role=app.name)
    stop = StopFlag()
    stop.install()
    serve_health(settings, deps.sessions)  # /metrics, /healthz, /readyz when REGFLOW_HTTP_PORT is set
    keep_running(lambda: run_consumer(app, deps, stop), stop, app.name)
    return 0


def cmd_relay(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.runner import StopFlag, keep_running
    from workflow.bootstrap import bootstrap
    from workflow.broker import Publisher
    from workflow.health import serve_health
    from workflow.metrics import register_outbox_backlog
    from workflow.relay import run_relay

    deps = bootstrap(settings, role="relay")
    stop = StopFlag()
    stop.install()
    if serve_health(settings, deps.sessions):  # and the outbox backlog, read from the database at each scrape
        register_outbox_backlog(deps.sessions, deps.clock)

    def relay() -> None:
        with Publisher(settings.broker_url, deps.topology) as publisher:
            run_relay(deps.sessions, publisher, deps.clock, settings.relay_poll_seconds, stop)

    keep_running(relay, stop, "relay")
    return 0


def cmd_run_all(args: argparse.Namespace, settings: Settings) -> int:
    """Start every consumer and the relay as separate processes; SIGTERM/Ctrl-C stops them all."""
    processes = start_processes()
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"started: {', '.join(processes)} (Ctrl-C to stop)")
    while not stopping and all(p.poll() is None for p in processes.values()):
        time.sleep(0.5)
    return stop_processes(processes)


def start_processes(env: dict[str, str] | None = None, log_dir: Path | None = None
                    ) -> dict[str, subprocess.Popen[bytes]]:
    """Each consumer and the relay in its own OS process (logs to `log_dir/<name>.log` when given).

    A `REGFLOW_HTTP_PORT` in the environment is a base: each process serves its metrics and health on base +
    its index (validation, invoicing, notifications, payments, relay), so that they do not fight for one port.
    """
    command = [sys.executable, "-m", "regflow.cli"]
    env = env or dict(os.environ)
    http_port_base = int(env.get("REGFLOW_HTTP_PORT") or 0)
    processes = {}
    for index, name in enumerate([*CONSUMERS, "relay"]):
        args = ["relay"] if name == "relay" else ["consume", name]
        log = (log_dir / f"{name}.log").open("ab") if log_dir else None
        process_env = {**env, "REGFLOW_HTTP_PORT": str(http_port_base + index)} if http_port_base else env
        processes[name] = subprocess.Popen([*command, *args], env=process_env, stderr=log)
    return processes


def stop_processes(processes: dict[str, subprocess.Popen[bytes]], timeout: float = 20) -> int:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    worst = 0
    for process in processes.values():
        try:
            worst = max(worst, abs(process.wait(timeout)))
        except subprocess.TimeoutExpired:
            process.kill()
            worst = 1
    return worst


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient, FormFileError, load_forms

    try:
        forms = load_forms([Path(p) for p in args.paths])
    except FormFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.registration_id and len(forms) > 1:
        print("error: --registration-id goes with one form only; nothing sent", file=sys.stderr)
        return 2
    with CommandClient(settings) as client, _progress_bar(len(forms), "forms", shown=len(forms) > 1) as bar:
        for index, (path, form) in enumerate(forms, 1):
            envelope = client.submit_form(form, args.registration_id)
            bar.write(f"[{index}/{len(forms)}] {path}: registration {envelope.registration_id} submitted")
            bar.update(1)
    return 0


def _progress_bar(total: int | None, unit: str, *, shown: bool = True) -> tqdm[Any]:
    """A progress bar on stderr, only on a terminal (a script or a pipe gets the plain lines alone)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=f" {unit}", disable=not (shown and sys.stderr.isatty()), file=sys.stderr)


def cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    signature = Signature(place=args.place, signed_on=args.date, signatory=args.signatory,
                          method=SignatureMethod(args.method), electronic_reference=args.reference)
    with CommandClient(settings, producer="signature") as client:
        client.record_signature(args.registration_id, signature)
    print(f"signature sent for {args.registration_id}")
    return 0


def cmd_hold_session(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, producer="operations") as client:
        client.hold_session(args.session_id, args.on, requested_by=args.by)
    print(f"session {args.session_id} recorded as held on {args.on}")
    return 0


def cmd_cancel_session(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, producer="operations") as client:
        client.cancel_session(args.session_id, args.reason)
    print(f"session {args.session_id} cancelled: its registrations will be cancelled and credited")
    return 0


def cmd_move_session(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, producer="operations") as client:
        client.move_session(args.session_id, args.to, args.reason)
    print(f"session {args.session_id} moved to {args.to}: invoices will be credited and reissued")
    return 0


def cmd_correct_invoice(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient
    from schemas.form import ClientOrganisation

    client_block = None
    if args.client_json:
        client_block = ClientOrganisation.model_validate_json(Path(args.client_json).read_text(encoding="utf-8"))
    with CommandClient(settings, producer="finance") as client:
        client.correct_invoice(args.invoice_number, args.reason, client_block)
    print(f"invoice {args.invoice_number}: credit note and corrected invoice requested")
    return 0


def cmd_pay(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, producer="finance") as client:
        client.record_payment(payment_id=args.payment_id, invoice_number=args.invoice, amount=args.amount,
                              received_on=args.on, payer=args.payer, means=args.means, requested_by=args.by)
    print(f"payment {args.payment_id} of {args.amount} EUR sent")
    return 0


def cmd_replace_participant(args: argparse.Namespace, settings: Settings) -> int:
    """Support: publish the request, then (with --wait) report what validation decided."""
    from producers.commands import CommandClient
    from schemas.form import Participant
    from workflow.db import make_engine, session_factory
    from workflow.views import decision_on

    replacement = Participant(civilite=args.civilite, first_name=args.first_name, last_name=args.last_name,
                              email=args.email)
    with CommandClient(settings, producer="support") as client:
        sent = client.replace_participant(args.registration_id, args.replaced, replacement, requested_by=args.by)
    print(f"replacement of {args.replaced} by {args.email} in {args.registration_id} requested "
          f"(message {sent.event_id})")
    if not args.wait:
        return 0
    sessions = session_factory(make_engine(settings.database_url))
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        decision = decision_on(sessions, args.registration_id, str(sent.event_id))
        if decision is not None:
            outcome, reason = decision
            print(f"{outcome}: {reason}")
            return 0 if outcome == "applied" else 1
        time.sleep(0.2)
    print(f"no decision after {args.wait:.0f} s: see `regflow show {args.registration_id}`", file=sys.stderr)
    return 2


def cmd_check_link(args: argparse.Namespace, settings: Settings) -> int:
    """What the video-conference platform asks: is this personal link valid? Exit 0 only if it is."""
    from workflow.access_links import LinkStatus, check_link
    from workflow.db import make_engine, session_factory

    with session_factory(make_engine(settings.database_url))() as session:
        found = check_link(session, args.token)
    if found.status is LinkStatus.UNKNOWN:
        print("unknown: no participant has this link")
        return 1
    who = f"{found.participant} <{found.email}>, registration {found.registration_id}, session {found.session_id}"
    if found.status is LinkStatus.REVOKED:
        when = found.revoked_at.isoformat() if found.revoked_at else "?"
        print(f"revoked: {who}; revoked at {when}: {found.revoked_reason}")
        return 1
    print(f"valid: {who}")
    return 0


def cmd_emails(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.bootstrap import bootstrap
    from workflow.mail_outbox import retry_failed
    from workflow.views import email_list

    deps = bootstrap(settings)
    if args.action == "retry":
        if not args.ids and not args.all_failed:
            print("give e-mail ids, or --all-failed", file=sys.stderr)
            return 2
        count = retry_failed(deps.sessions, deps.clock, args.ids or None)
        print(f"{count} failed e-mail(s) back to pending: the notifications consumer sends them at its next tick")
        return 0
    rows = email_list(deps.sessions, status=args.status, registration_id=args.registration)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for row in rows:
        error = f"  [{row['error']}]" if row["error"] else ""
        print(f"{row['id']:>6}  {row['status']:<7} {row['attempts']}x  {row['kind']:<20} {row['to']:<36} "
              f"{row['subject']}{error}")
    print(f"{len(rows)} e-mail(s)")
    return 0


def cmd_mail_sink(args: argparse.Namespace, settings: Settings) -> int:
    """A local SMTP server for development: keeps every message in a Maildir and prints a line each."""
    from workflow.mail_sink import MailSink

    def announce(message: object) -> None:
        from email.message import EmailMessage

        assert isinstance(message, EmailMessage)
        names = [part.get_filename() for part in message.iter_attachments()]
        print(f"to {message['To']}: {message['Subject']}" + (f"  (+ {', '.join(map(str, names))})" if names else ""),
              flush=True)

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.update(now=True))
    with MailSink(host=args.host, port=args.port, maildir=Path(args.maildir), on_message=announce) as sink:
        print(f"SMTP sink listening on {args.host}:{sink.port}, messages kept in {args.maildir}", flush=True)
        try:
            while not stop["now"]:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.db import make_engine, session_factory
    from workflow.views import format_timeline, registration_timeline

    view = registration_timeline(session_factory(make_engine(settings.database_url)), args.registration_id)
    if view is None:
        print(f"no registration {args.registration_id}", file=sys.stderr)
        return 1
    print(json.dumps(view, indent=2, ensure_ascii=False) if args.json else format_timeline(view))
    return 0


def cmd_registrations(args: argparse.Namespace, settings: Settings) -> int:
    """The same list as the back-office page: registrations by session, filtered by state and session."""
    from workflow.db import make_engine, session_factory
    from workflow.views import registration_list

    rows = registration_list(session_factory(make_engine(settings.database_url)), state=args.state,
                             session_id=args.session)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r['id']:<38} {r['state']:<13} {r['session_id'] or '-':<32} {r['participants']:>3}  "
              f"{r['updated_at'][:16]}  {r['client']}")
    print(f"{len(rows)} registration(s)")
    return 0


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """The back-office page, served by waitress (a production WSGI server, threads: the code is sync)."""
    import waitress

    from regflow.web import create_app

    app = create_app(settings)
    print(f"back office on http://{args.host}:{args.port}/ (users in {settings.web_users_file})", flush=True)
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="regflow")
    return 0


def cmd_web_user(args: argparse.Namespace, settings: Settings) -> int:
    """Add or update a user of the back-office page; the password is asked, never taken from the command line."""
    import getpass

    from regflow.web.users import UserStore, WebUserError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ; nothing written", file=sys.stderr)
            return 2
    try:
        user = UserStore(settings.web_users_file).add(args.name, password, args.role)
    except WebUserError as exc:
        print(f"error: {exc}; nothing written", file=sys.stderr)
        return 2
    print(f"user {user.name} ({', '.join(user.roles)}) written to {settings.web_users_file}")
    return 0


def cmd_awaiting_signature(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from workflow.bootstrap import bootstrap
    from workflow.views import awaiting_signature

    deps = bootstrap(settings)
    hours = args.hours or settings.signature_wait_hours
    late = awaiting_signature(deps.sessions, deps.clock.now(), timedelta(hours=hours))
    if args.json:
        print(json.dumps(late, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(late)} registration(s) waiting for their signature for more than {hours:g} h")
    for r in late:
        print(f"  {r['id']}  {r['client']}  session {r['session_id']}  since {r['waiting_since'][:16]}"
              f"  ({r['waiting_hours']} h)  contact {r['gestionnaire_email']}")
    return 0


def cmd_invoices(args: argparse.Namespace, settings: Settings) -> int:
    import csv

    from workflow.bootstrap import bootstrap
    from workflow.payment_rules import paris_date
    from workflow.views import INVOICE_COLUMNS, invoice_list

    deps = bootstrap(settings)
    rows = invoice_list(deps.sessions, paris_date(deps.clock.now()), args.status)
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=INVOICE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    elif args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(f"{'invoice':<12} {'status':<9} {'due on':<10} {'total':>10} {'paid':>10} {'outstanding':>11} "
              f"{'late':>5}  client")
        for r in rows:
            print(f"{r['invoice']:<12} {r['status']:<9} {r['due_on']:<10} {r['total']:>10} {r['paid']:>10} "
                  f"{r['outstanding']:>11} {r['days_overdue']:>5}  {r['client']}")
    return 0


def cmd_payments(args: argparse.Namespace, settings: Settings) -> int:
    """Finance: the payments received, who recorded them and their anomalies (`--anomalies`: only those)."""
    import csv

    from workflow.db import make_engine, session_factory
    from workflow.views import PAYMENT_COLUMNS, payment_list

    rows = payment_list(session_factory(make_engine(settings.database_url)), invoice=args.invoice,
                        anomalies_only=args.anomalies)
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=PAYMENT_COLUMNS)
        writer.writeheader()
        writer.writerows({**r, "anomalies": " ".join(r["anomalies"])} for r in rows)
    elif args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(f"{'payment':<24} {'invoice':<12} {'amount':>10} {'received':<10} {'means':<20} {'by':<10} anomalies")
        for r in rows:
            print(f"{r['payment_id']:<24} {r['invoice'] or '-':<12} {r['amount']:>10} {r['received_on']:<10} "
                  f"{r['means']:<20} {r['recorded_by'] or '-':<10} {', '.join(r['anomalies']) or '-'}")
        print(f"{len(rows)} payment(s)")
    return 0


def cmd_check_overdue(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.payments import check_overdue
    from workflow.bootstrap import bootstrap

    published = check_overdue(bootstrap(settings), args.as_of)
    print(f"{published} payment.overdue event(s) queued for publication")
    return 0


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.dead_letters import DeadLetters
    from workflow.topology import Topology

    scope = "operations" if settings.broker_declare == "own" else "all"
    letters = DeadLetters(settings.broker_url, Topology(settings.namespace, scope=scope))
    consumers = [args.consumer] if args.consumer else list(CONSUMERS)
    action = {"list": _letters_list, "show": _letters_show, "replay": _letters_replay, "purge": _letters_purge}
    return action[args.action](args, letters, consumers)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 1 when something needs a human (parked messages, stuck registrations, a consumer missing...)."""
    from workflow.status import collect_status, format_status

    status = collect_status(settings)
    print(json.dumps(status, indent=2, ensure_ascii=False) if args.json else format_status(status))
    return 0 if status["ok"] else 1


def _letters_list(args: argparse.Namespace, letters: DeadLetters, consumers: list[str]) -> int:
    now = datetime.now(UTC)
    rows = [m.summary(now) for c in consumers for m in letters.parked(c)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(rows)} parked message(s)")
    for r in rows:
        print(f"  [{r['consumer']}] {r['message_id']}  {r['type']}  registration {r['registration_id']}  "
              f"attempts {r['attempts']}  age {r['age']}\n      {r['error']}")
    return 0


def _letters_show(args: argparse.Namespace, letters: DeadLetters, consumers: list[str]) -> int:
    found = [m for c in consumers for m in letters.parked(c) if m.message_id == args.message_id]
    if not found:
        print(f"no parked message {args.message_id}", file=sys.stderr)
        return 1
    message = found[0]
    print(json.dumps({**message.summary(datetime.now(UTC)),
                      "headers": {k: str(v) for k, v in message.headers.items()},
                      "body": message.body.decode(errors="replace")}, indent=2, ensure_ascii=False))
    return 0


def _letters_replay(args: argparse.Namespace, letters: DeadLetters, consumers: list[str]) -> int:
    if not (args.message_id or args.all):
        print("error: replay needs a MESSAGE_ID or --all", file=sys.stderr)
        return 2
    with _progress_bar(0, "messages", shown=bool(args.all)) as bar:

        def progress(done: int, fetched: int) -> None:
            if done == 0:  # one more dead-letter queue read: the total grows by its depth
                bar.total = (bar.total or 0) + fetched
                bar.refresh()
            else:
                bar.update(1)

        replayed = [m for c in consumers for m in letters.replay(
            c, lambda m: bool(args.all) or m.message_id == args.message_id, progress=progress)]
    print(f"{len(replayed)} message(s) sent back to their work queue")
    return 0 if replayed else 1


def _letters_purge(args: argparse.Namespace, letters: DeadLetters, consumers: list[str]) -> int:
    if not args.yes:
        try:
            answer = input(f"purge the dead-letter queues of {', '.join(consumers)}? type 'purge' to confirm: ")
        except EOFError:  # no terminal to ask: a script must say --yes
            answer = ""
        if answer.strip() != "purge":
            print("\nnothing purged (confirm by typing 'purge', or pass --yes)")
            return 1
    print(f"{sum(letters.purge(c) for c in consumers)} message(s) purged")
    return 0


def _merge_env_file(path: Path, values: dict[str, str]) -> None:
    """Set `values` in a docker compose `.env` file, keeping its other lines (a REGFLOW_WEB_SECRET, comments)
    as they are; the file stays readable by its owner only."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    _write_private(path, "\n".join([*kept, *(f"{key}={value}" for key, value in values.items())]) + "\n")


def _write_private(path: Path, text: str) -> None:
    """Write a file of secrets readable by its owner only from its first byte (created 600, then renamed
    into place), never world-readable for a moment under a 022 umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
        file.write(text)
    temporary.replace(path)


def cmd_broker_users(args: argparse.Namespace, settings: Settings) -> int:
    """Least privilege on the broker: a user per role (see workflow/broker_users.py)."""
    from workflow.broker_users import ADMIN, ROLES, definitions, passwords_for, permissions
    from workflow.topology import Topology

    topology = Topology(settings.namespace)
    if args.action == "show":
        for role, permission in permissions(topology).items():
            print(f"{topology.namespace}-{role}\n  configure {permission.configure}\n  write     {permission.write}"
                  f"\n  read      {permission.read}")
        return 0
    store = Path(args.passwords_file)
    known = json.loads(store.read_text(encoding="utf-8")) if store.exists() else {}
    passwords = passwords_for((*ROLES, ADMIN), known)
    _write_private(store, json.dumps(passwords, indent=2))
    if args.action == "definitions":
        Path(args.output).write_text(json.dumps(definitions(topology, args.vhost, passwords, with_admin=True),
                                                indent=2), encoding="utf-8")
        _merge_env_file(Path(args.env_file), {f"REGFLOW_BROKER_PASSWORD_{role.upper()}": password
                                              for role, password in passwords.items()})
        print(f"definitions for {len(passwords)} users written to {args.output}; their passwords to "
              f"{args.env_file} (for docker compose) and {store}")
        return 0
    done = subprocess.run(["rabbitmqctl", "-q", "import_definitions", "--format", "json"],  # from stdin
                          input=json.dumps(definitions(topology, args.vhost, passwords, with_admin=False)),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"error: rabbitmqctl import_definitions: {done.stderr.strip() or done.stdout.strip()}", file=sys.stderr)
        return 1
    print(f"{len(ROLES)} broker users ready ({', '.join(f'{topology.namespace}-{r}' for r in ROLES)}); "
          f"passwords in {store}. Run each process with its own user in REGFLOW_BROKER_URL and "
          f"REGFLOW_BROKER_DECLARE=own.")
    return 0


def cmd_diagram(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.machine import mermaid_diagram

    text = f"# Registration states\n\nGenerated by `regflow diagram` from `workflow/machine.py`.\n\n" \
           f"```mermaid\n{mermaid_diagram()}\n```\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_export_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from schemas.export import export_json_schemas

    written = export_json_schemas(Path(args.output))
    print(f"{len(written)} JSON Schemas written to {args.output}")
    return 0


def cmd_asyncapi(args: argparse.Namespace, settings: Settings) -> int:
    """The contract document for the intake, finance and operations teams (checked in sync by a test)."""
    from schemas.asyncapi import write_asyncapi

    write_asyncapi(Path(args.output))
    print(f"AsyncAPI 3.0.0 document written to {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from regflow.demo import VAR, run_demo

    return run_demo(settings, serve_port=args.port if args.serve else None, var=args.dir or VAR)


def _safe_url(url: str) -> str:
    """A URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915  (one flat list of subcommands)
    parser = argparse.ArgumentParser(prog="regflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)
    consume = sub.add_parser("consume", help="run one consumer (until SIGTERM)")
    consume.add_argument("name", choices=CONSUMERS)
    consume.set_defaults(func=cmd_consume)
    sub.add_parser("relay", help="run the outbox relay (until SIGTERM)").set_defaults(func=cmd_relay)
    sub.add_parser("run-all", help="run every consumer and the relay").set_defaults(func=cmd_run_all)
    submit = sub.add_parser("submit", help="publish registration forms (JSON files or folders of them)")
    submit.add_argument("paths", nargs="+", metavar="PATH")
    submit.add_argument("--registration-id", help="reuse an id to send a corrected form")
    submit.set_defaults(func=cmd_submit)
    sign = sub.add_parser("sign", help="a signature arrived for a registration waiting in 'received'")
    sign.add_argument("registration_id")
    sign.add_argument("--place", required=True)
    sign.add_argument("--date", type=date.fromisoformat, required=True)
    sign.add_argument("--signatory", required=True)
    sign.add_argument("--method", choices=[m.value for m in SignatureMethod], required=True)
    sign.add_argument("--reference", help="electronic-signature platform reference")
    sign.set_defaults(func=cmd_sign)
    hold = sub.add_parser("hold-session", help="record that a session was held (service fait)")
    hold.add_argument("session_id")
    hold.add_argument("--on", type=date.fromisoformat, required=True)
    hold.add_argument("--by", help="who records it (the history's actor; default: the payments consumer)")
    hold.set_defaults(func=cmd_hold_session)
    cancel = sub.add_parser("cancel-session", help="the session will not be held: cancel and credit")
    cancel.add_argument("session_id")
    cancel.add_argument("--reason", required=True)
    cancel.set_defaults(func=cmd_cancel_session)
    move = sub.add_parser("move-session", help="move a session to another date of the same training")
    move.add_argument("session_id")
    move.add_argument("--to", required=True, help="the new session id")
    move.add_argument("--reason", required=True)
    move.set_defaults(func=cmd_move_session)
    correct = sub.add_parser("correct-invoice", help="credit a wrong invoice and issue a corrected one")
    correct.add_argument("invoice_number")
    correct.add_argument("--reason", required=True)
    correct.add_argument("--client-json", help="a JSON file with the corrected organisme-client block")
    correct.set_defaults(func=cmd_correct_invoice)
    pay = sub.add_parser("pay", help="record a payment received by finance")
    pay.add_argument("--payment-id", required=True)
    pay.add_argument("--invoice", help="invoice number, e.g. 2023-000001")
    pay.add_argument("--amount", type=Decimal, required=True)
    pay.add_argument("--on", type=date.fromisoformat, required=True)
    pay.add_argument("--payer")
    pay.add_argument("--means", default="transfer")
    pay.add_argument("--by", help="who records it (the history's actor when it settles the invoice)")
    pay.set_defaults(func=cmd_pay)
    replace = sub.add_parser("replace-participant", help="support: a participant is replaced by another")
    replace.add_argument("registration_id")
    replace.add_argument("--replaced", required=True, metavar="EMAIL", help="login e-mail of who is replaced")
    replace.add_argument("--civilite", required=True, choices=["Mme", "M."])
    replace.add_argument("--first-name", required=True)
    replace.add_argument("--last-name", required=True)
    replace.add_argument("--email", required=True, help="the newcomer's login e-mail")
    replace.add_argument("--by", required=True, help="who asked (recorded in the history)")
    replace.add_argument("--wait", type=float, default=10, help="seconds to wait for the decision (0: don't)")
    replace.set_defaults(func=cmd_replace_participant)
    link = sub.add_parser("check-link", help="is a participant's personal link valid, revoked or unknown?")
    link.add_argument("token", help="the token or the whole link")
    link.set_defaults(func=cmd_check_link)
    emails = sub.add_parser("emails", help="operations: e-mails sent, pending, failed; retry the failed ones")
    emails.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    emails.add_argument("ids", nargs="*", type=int, help="retry: these e-mails")
    emails.add_argument("--status", choices=["pending", "sent", "failed"])
    emails.add_argument("--registration")
    emails.add_argument("--all-failed", action="store_true", help="retry: every failed e-mail")
    emails.add_argument("--json", action="store_true")
    emails.set_defaults(func=cmd_emails)
    sink = sub.add_parser("mail-sink", help="development SMTP server keeping messages in a Maildir")
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, default=1025)
    sink.add_argument("--maildir", default="var/mail")
    sink.set_defaults(func=cmd_mail_sink)
    show = sub.add_parser("show", help="a registration's state and full history")
    show.add_argument("registration_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    registrations = sub.add_parser("registrations", help="registrations by session, filtered by state and session")
    registrations.add_argument("--state", choices=[s.value for s in State])
    registrations.add_argument("--session", metavar="ID", help="a session id, e.g. cpom-handicap-2023-09-15")
    registrations.add_argument("--json", action="store_true")
    registrations.set_defaults(func=cmd_registrations)
    web = sub.add_parser("web", help="serve the back-office page (support, finance, operations)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8080)
    web.add_argument("--threads", type=int, default=8, help="requests served at once")
    web.set_defaults(func=cmd_web)
    web_user = sub.add_parser("web-user", help="add or update a user of the back-office page")
    web_user.add_argument("action", choices=["add"])
    web_user.add_argument("name")
    web_user.add_argument("--role", action="append", required=True, choices=["support", "finance", "operations"],
                          help="repeat for several roles")
    web_user.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    web_user.set_defaults(func=cmd_web_user)
    late = sub.add_parser("awaiting-signature", help="unsigned forms waiting longer than allowed (support)")
    late.add_argument("--hours", type=float, help="default: REGFLOW_SIGNATURE_WAIT_HOURS (72)")
    late.add_argument("--json", action="store_true")
    late.set_defaults(func=cmd_awaiting_signature)
    invoices = sub.add_parser("invoices", help="finance: invoices, due dates, paid, outstanding, days overdue")
    invoices.add_argument("--status", choices=["open", "settled", "overpaid", "credited"])
    invoices.add_argument("--csv", action="store_true")
    invoices.add_argument("--json", action="store_true")
    invoices.set_defaults(func=cmd_invoices)
    overdue = sub.add_parser("check-overdue", help="publish payment.overdue now (the payments consumer also "
                                                   "runs it every REGFLOW_PERIODIC_CHECK_SECONDS)")
    overdue.add_argument("--as-of", type=date.fromisoformat, help="default: today (the clock)")
    overdue.set_defaults(func=cmd_check_overdue)
    payments = sub.add_parser("payments", help="finance: payments received, who recorded them, their anomalies")
    payments.add_argument("--invoice", help="only the payments of this invoice")
    payments.add_argument("--anomalies", action="store_true", help="only the payments with an anomaly")
    payments_format = payments.add_mutually_exclusive_group()
    payments_format.add_argument("--json", action="store_true")
    payments_format.add_argument("--csv", action="store_true")
    payments.set_defaults(func=cmd_payments)
    status = sub.add_parser("status", help="operations: queues, consumers, parked messages, outbox, stuck "
                                           "registrations; exit 1 when something needs a human")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    letters = sub.add_parser("dead-letters", help="operations: list, show, replay or purge parked messages")
    letters.add_argument("action", choices=["list", "show", "replay", "purge"])
    letters.add_argument("message_id", nargs="?", help="for show and replay")
    letters.add_argument("--consumer", choices=CONSUMERS, help="default: every consumer")
    letters.add_argument("--all", action="store_true", help="replay: every parked message")
    letters.add_argument("--json", action="store_true")
    letters.add_argument("--yes", action="store_true", help="purge without asking")
    letters.set_defaults(func=cmd_dead_letters)
    users = sub.add_parser("broker-users", help="operations: a RabbitMQ user per role, limited to its own queues")
    users.add_argument("action", choices=["apply", "definitions", "show"],
                       help="apply: create them on the local node (rabbitmqctl); definitions: write the file "
                            "that docker compose's broker-users service imports, and the passwords into .env; "
                            "show: the permissions")
    users.add_argument("--vhost", default="/")
    users.add_argument("--passwords-file", default="var/broker-passwords.json",
                       help="kept between runs (mode 600); a missing password is generated")
    users.add_argument("--output", default="var/rabbitmq-definitions.json", help="definitions: the file")
    users.add_argument("--env-file", default=".env", help="definitions: the passwords, for docker compose")
    users.set_defaults(func=cmd_broker_users)
    diagram = sub.add_parser("diagram", help="the state machine as a mermaid diagram")
    diagram.add_argument("--output")
    diagram.set_defaults(func=cmd_diagram)
    schemas = sub.add_parser("export-schemas", help="write the JSON Schema of every message")
    schemas.add_argument("--output", default="docs/schemas")
    schemas.set_defaults(func=cmd_export_schemas)
    asyncapi = sub.add_parser("asyncapi", help="write the AsyncAPI document of the messages and the topology")
    asyncapi.add_argument("--output", default="docs/asyncapi.yaml")
    asyncapi.set_defaults(func=cmd_asyncapi)
    demo = sub.add_parser("demo", help="push the source documents' registrations to 'paid'")
    demo.add_argument("--serve", action="store_true", help="stop before the October 2024 session and serve the "
                                                           "back-office page over the running consumers")
    demo.add_argument("--port", type=int, default=8080, help="the page's port with --serve")
    demo.add_argument("--dir", type=Path, help="where its database, e-mails, PDFs and logs go (default: var/)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from workflow.logs import configure_logging

    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format)
    return int(args.func(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
