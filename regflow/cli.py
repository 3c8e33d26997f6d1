"""`regflow`: one command-line entry point. Each subcommand parses its arguments and calls the code."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel, ValidationError

from schemas.form import Signature, SignatureMethod
from schemas.limits import (
    AMOUNT_DECIMALS,
    CATALOGUE_ID_MAX,
    CATALOGUE_ID_PATTERN,
    FIELD_MAX_LENGTH,
    MAX_ACTOR_LENGTH,
    MAX_AMOUNT,
    MAX_INVOICE_NUMBER_LENGTH,
    MAX_PAYMENT_ID_LENGTH,
    MAX_REASON_LENGTH,
    REGISTRATION_ID_MAX,
    REGISTRATION_ID_PATTERN,
    describe_character,
    quoted,
    refused_character,
)
from schemas.messages import HoldSession, MoveSession, RecordPayment, ReplaceParticipant
from workflow.domain.machine import State
from workflow.messaging.dead_letters import DeadLetters
from workflow.messaging.topology import CONSUMERS
from workflow.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker
    from tqdm import tqdm

    from schemas.messages import Envelope
    from workflow.domain.decisions import CommandDecision

PAYMENT_MEANS: tuple[str, ...] = get_args(RecordPayment.model_fields["means"].annotation)  # from the schema
DEFAULT_WAIT_SECONDS = 30.0  # how long a command waits for its decision; REGFLOW_COMMAND_WAIT_SECONDS
WAIT_ENV = "REGFLOW_COMMAND_WAIT_SECONDS"
MAX_WAIT_SECONDS = 24 * 3600
EARLIEST_DATE = date(2000, 1, 1)  # dates typed on the command line: from this day to a year from today


# --- what is printed: never a terminal control sequence from stored or received data -------------------

# CSI (ESC [ or 0x9B ... final byte), OSC/DCS/SOS/PM/APC strings up to their terminator (BEL, ESC \ or ST),
# and every other escape (ESC, intermediates, final byte): removed whole, not just their ESC.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?")
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # overrides and isolates
_SPACES = "\t\n\v\f\r\x85\u2028\u2029"  # what breaks a line (or tabs it) becomes one space
_UNPRINTABLE: dict[int, str | None] = {
    **dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)]), **dict.fromkeys(map(ord, _BIDI_CONTROLS)),
    **dict.fromkeys(map(ord, _SPACES), " ")}
# In JSON the C0 controls are escaped already; these are escaped too (`\u009b`): lossless, and inert.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029" + _BIDI_CONTROLS + "]")


def printable(text: object) -> str:
    """`text` safe to print on a terminal, on one line: escape sequences, C0 and C1 control characters and
    bidirectional overrides and isolates removed (a line break or a tab becomes a space). Every value that
    comes from a user, a file, the database or the network goes through it before it is printed."""
    return _ESCAPE_SEQUENCE.sub("", str(text)).translate(_UNPRINTABLE)


def _clean(data: Any) -> Any:
    """`printable` applied to every string of a structure (for a text view built from it)."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {key: _clean(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_clean(value) for value in data]
    return data


def _json(data: Any) -> str:
    """JSON for a script, UTF-8 kept readable, with the characters a terminal would act on escaped."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _print_lines(text: str, *, file: Any = None) -> None:
    """A multi-line message of ours whose lines quote user values (file names, reasons)."""
    print("\n".join(printable(line) for line in text.split("\n")), file=file or sys.stdout)


# --- what a person types: checked when the arguments are parsed (a message and exit 2, not a traceback) ---


class InputError(ValueError):
    """Something typed on the command line (or in the environment) that cannot be used; nothing was sent."""


def _both(fr: str, en: str) -> str:
    return f"{fr} / {en}"


def _schema_max_length(model: type[BaseModel], name: str, fallback: int) -> int:
    """The `max_length` the schema gives a field, so that a check here cannot drift from the contract."""
    for constraint in model.model_fields[name].metadata:
        limit = getattr(constraint, "max_length", None)
        if isinstance(limit, int):
            return limit
    return fallback


def text_option(what_fr: str, what_en: str, max_length: int, *, min_length: int = 1, pattern: str | None = None
                ) -> Callable[[str], str]:
    """An argparse `type=` for one line of text: stripped, `min_length`..`max_length` characters, no control
    character nor bidirectional override, and `pattern` when given."""

    def parse(value: str) -> str:
        text = value.strip()
        if len(text) < min_length:
            raise argparse.ArgumentTypeError(_both(
                f"{what_fr} : {len(text)} caractère(s), {min_length} au moins",
                f"{what_en} too short ({len(text)} character(s), at least {min_length})"))
        if len(text) > max_length:
            raise argparse.ArgumentTypeError(_both(
                f"{what_fr} : {len(text)} caractères, {max_length} au plus",
                f"{what_en} too long ({len(text)} characters, at most {max_length})"))
        char = refused_character(text)
        if char is not None:
            raise argparse.ArgumentTypeError(_both(
                f"{what_fr} : caractère refusé {describe_character(char)}",
                f"{what_en}: character {describe_character(char)} not allowed"))
        if pattern is not None and not re.fullmatch(pattern, text):
            raise argparse.ArgumentTypeError(_both(
                f"{what_fr} « {quoted(text)} » invalide : lettres, chiffres, « . », « _ » et « - »",
                f"invalid {what_en} '{quoted(text)}': letters, digits, '.', '_' and '-'"))
        return text

    parse.__name__ = what_en  # argparse names the type in some of its own messages
    return parse


def _today() -> date:
    return date.today()


def _latest_date() -> date:
    today = _today()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def date_option(value: str) -> date:
    """An argparse `type=` for a date: YYYY-MM-DD, from 2000-01-01 to a year from today."""
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(_both(f"date « {quoted(value)} » invalide : AAAA-MM-JJ attendu",
                                               f"invalid date '{quoted(value)}': expected YYYY-MM-DD")) from None
    latest = _latest_date()
    if not EARLIEST_DATE <= parsed <= latest:
        raise argparse.ArgumentTypeError(_both(
            f"date {parsed} hors des bornes (du {EARLIEST_DATE} au {latest})",
            f"date {parsed} out of range ({EARLIEST_DATE} to {latest})"))
    return parsed


def amount_option(value: str) -> Decimal:
    """An argparse `type=` for an amount in euros: positive, two decimals at most, at most MAX_AMOUNT (the
    Money column, Numeric(12, 2)). Returned with exactly two decimals."""
    text = value.strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        hint_fr, hint_en = (" (un point, pas une virgule)", " (a dot, not a comma)") if "," in text else ("", "")
        raise argparse.ArgumentTypeError(_both(
            f"montant « {quoted(value)} » invalide{hint_fr} : par exemple 1190.00",
            f"invalid amount '{quoted(value)}'{hint_en}: e.g. 1190.00")) from None
    if not amount.is_finite():
        raise argparse.ArgumentTypeError(_both(f"montant « {quoted(value)} » invalide",
                                               f"invalid amount '{quoted(value)}'"))
    if amount <= 0:
        raise argparse.ArgumentTypeError(_both(f"le montant doit être positif : {quoted(text)}",
                                               f"the amount must be greater than 0: {quoted(text)}"))
    if amount > MAX_AMOUNT:  # before any rounding: 1e999999 cannot even be quantized
        raise argparse.ArgumentTypeError(_both(f"montant {quoted(text)} au-delà du maximum de {MAX_AMOUNT}",
                                               f"amount {quoted(text)} over the maximum of {MAX_AMOUNT}"))
    cents = Decimal(1).scaleb(-AMOUNT_DECIMALS)
    if amount != amount.quantize(cents, rounding="ROUND_DOWN"):
        raise argparse.ArgumentTypeError(_both(
            f"montant {quoted(text)} : {AMOUNT_DECIMALS} décimales au plus (des centimes)",
            f"amount {quoted(text)}: at most {AMOUNT_DECIMALS} decimals (cents)"))
    return amount.quantize(cents)


def seconds_option(value: str) -> float:
    """An argparse `type=` for a timeout: 0 (do not wait) to a day."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_WAIT_SECONDS:  # also NaN
        raise argparse.ArgumentTypeError(_both(
            f"durée « {quoted(value)} » invalide : des secondes, de 0 à {MAX_WAIT_SECONDS}",
            f"invalid duration '{quoted(value)}': seconds, from 0 to {MAX_WAIT_SECONDS}"))
    return seconds


registration_id_option = text_option("identifiant d'inscription", "registration id", REGISTRATION_ID_MAX,
                                     pattern=REGISTRATION_ID_PATTERN)
session_id_option = text_option("identifiant de séance", "session id",
                                _schema_max_length(HoldSession, "session_id", CATALOGUE_ID_MAX),
                                pattern=CATALOGUE_ID_PATTERN)
actor_option = text_option("auteur (--by)", "actor (--by)", MAX_ACTOR_LENGTH)
reason_option = text_option("motif", "reason", _schema_max_length(MoveSession, "reason", MAX_REASON_LENGTH),
                            min_length=3)
invoice_number_option = text_option("numéro de facture", "invoice number", MAX_INVOICE_NUMBER_LENGTH)
payment_id_option = text_option("référence du paiement", "payment id",
                                _schema_max_length(RecordPayment, "payment_id", MAX_PAYMENT_ID_LENGTH))
payer_option = text_option("payeur", "payer", _schema_max_length(RecordPayment, "payer", 300))
email_option = text_option("adresse e-mail", "e-mail address", FIELD_MAX_LENGTH["participants[].email"])
replaced_option = text_option("adresse e-mail", "e-mail address",
                              _schema_max_length(ReplaceParticipant, "replaced_email", 254))
replacer_option = text_option("auteur (--by)", "actor (--by)", MAX_ACTOR_LENGTH, min_length=2)


def _name_option(field: str, what_fr: str, what_en: str) -> Callable[[str], str]:
    return text_option(what_fr, what_en, FIELD_MAX_LENGTH[field])


# --- a command is sent, then answered: accepted (exit 0), refused (1), or no decision in time (2) --------


@dataclass(frozen=True)
class Sent:
    """A command published, and what it does once accepted (in French, then English)."""

    envelope: Envelope
    done_fr: str
    done_en: str
    file: Path | None = None
    history_detail: bool = False  # also say what the registration's history records (replace-participant)

    @property
    def command_id(self) -> str:
        return str(self.envelope.event_id)


@dataclass(frozen=True)
class Answer:
    """What became of a sent command: its decision, or None (not waited for, or none within the timeout)."""

    sent: Sent
    decision: CommandDecision | None
    waited: bool
    detail: str | None = None

    @property
    def outcome(self) -> str:
        if self.decision is not None:
            return self.decision.outcome
        return "pending" if self.waited else "sent"

    @property
    def exit_code(self) -> int:
        return {"accepted": 0, "sent": 0, "refused": 1}.get(self.outcome, 2)

    def as_dict(self) -> dict[str, Any]:
        envelope = self.sent.envelope
        found: dict[str, Any] = dict(self.decision.as_dict()) if self.decision is not None else {
            "command_id": self.sent.command_id, "command_type": envelope.type, "consumer": None,
            "outcome": self.outcome, "registration_id": envelope.registration_id, "reason_fr": None,
            "reason_en": None, "decided_at": None}
        if self.detail:
            found["detail"] = self.detail
        if self.sent.file is not None:
            found["file"] = str(self.sent.file)
        return found


def _wait_seconds(args: argparse.Namespace) -> float:
    """--no-wait: 0; --wait S; else REGFLOW_COMMAND_WAIT_SECONDS, else 30 s."""
    if getattr(args, "no_wait", False):
        return 0.0
    if getattr(args, "wait", None) is not None:
        return float(args.wait)
    configured = os.environ.get(WAIT_ENV, "").strip()
    if not configured:
        return DEFAULT_WAIT_SECONDS
    try:
        return seconds_option(configured)
    except argparse.ArgumentTypeError as exc:
        raise InputError(f"{WAIT_ENV} : {exc}") from None


def _await_answers(settings: Settings, sent: list[Sent], timeout: float) -> list[Answer]:
    """Each command's decision (workflow.domain.decisions), all within one `timeout` from now."""
    if timeout <= 0:
        return [Answer(s, None, waited=False) for s in sent]
    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.decisions import wait_for_decision

    engine = make_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        deadline = time.monotonic() + timeout
        answers = []
        with _progress_bar(len(sent), "decisions", shown=len(sent) > 1) as bar:
            for index, one in enumerate(sent):
                remaining = timeout if index == 0 else max(0.0, deadline - time.monotonic())
                decision = wait_for_decision(sessions, one.command_id, remaining)
                detail = _history_detail(sessions, one) if decision is not None and decision.accepted else None
                answers.append(Answer(one, decision, waited=True, detail=detail))
                bar.update(1)
        return answers
    finally:
        engine.dispose()


def _history_detail(sessions: sessionmaker[Session], sent: Sent) -> str | None:
    """What the registration's history says the command did (e.g. who replaced whom)."""
    if not sent.history_detail or sent.envelope.registration_id is None:
        return None
    from workflow.persistence.views import decision_on

    found = decision_on(sessions, sent.envelope.registration_id, sent.command_id)
    return found[1] if found is not None and found[1] else None


def _look_at(answer: Answer) -> str:
    registration_id = answer.sent.envelope.registration_id
    show = f", `regflow show {registration_id}`" if registration_id else ""
    return f"`regflow status`, `regflow dead-letters list`{show}"


def _say_answer(answer: Answer, timeout: float) -> None:
    """One command's outcome, for a person: French first, then English."""
    decision, sent = answer.decision, answer.sent
    if decision is None and not answer.waited:
        print(printable(_both(f"envoyée sans attendre sa décision : {sent.envelope.type} {sent.command_id}",
                              f"sent without waiting for its decision: {sent.envelope.type} {sent.command_id}")))
        return
    if decision is None:
        _print_lines(f"aucune décision en {timeout:g} s sur la commande {sent.command_id} ({sent.envelope.type}) : "
                     f"un consommateur est peut-être arrêté ou en retard ; voir {_look_at(answer)}\n"
                     f"no decision within {timeout:g} s on command {sent.command_id} ({sent.envelope.type}): "
                     f"a consumer may be down or behind; see {_look_at(answer)}", file=sys.stderr)
        return
    if not decision.accepted:
        print(f"refusé : {printable(decision.reason_fr or '(sans motif)')}")
        print(f"refused: {printable(decision.reason_en or '(no reason given)')}")
        return
    print(f"accepté : {printable(sent.done_fr)}")
    print(f"accepted: {printable(sent.done_en)}")
    if answer.detail:  # what the registration's history records (replace-participant: who replaced whom)
        print(f"applied: {printable(answer.detail)}")
    detail = getattr(decision, "detail", None)  # what the consumer says it did, when the decision carries it
    for said in (decision.reason_fr, decision.reason_en, detail):
        if said:
            print(f"  {printable(said)}")


def _say_batch(answers: list[Answer], timeout: float) -> None:
    """Several commands (submit of a folder): a line each, then how many were accepted and refused."""
    for answer in answers:
        where = printable(answer.sent.file or answer.sent.command_id)
        decision = answer.decision
        if decision is None:
            said = ("envoyé sans attendre / sent without waiting" if not answer.waited
                    else f"sans décision en {timeout:g} s / no decision within {timeout:g} s")
            print(f"{where}: {said} ({answer.sent.command_id})")
        elif decision.accepted:
            print(f"{where}: accepté / accepted: {printable(answer.sent.done_fr)} / {printable(answer.sent.done_en)}")
        else:
            print(f"{where}: refusé / refused: {printable(decision.reason_fr or '(sans motif)')} / "
                  f"{printable(decision.reason_en or '(no reason given)')}")
    counts = {outcome: sum(a.outcome == outcome for a in answers) for outcome in ("accepted", "refused", "pending")}
    if all(not a.waited for a in answers):
        print(f"{len(answers)} envoyé(s) sans attendre / {len(answers)} sent without waiting")
        return
    print(f"{counts['accepted']} accepté(s), {counts['refused']} refusé(s), {counts['pending']} sans décision / "
          f"{counts['accepted']} accepted, {counts['refused']} refused, {counts['pending']} without a decision")
    if counts["pending"]:
        print(f"{counts['pending']} sans décision en {timeout:g} s : voir `regflow status`, `regflow dead-letters "
              f"list` / {counts['pending']} with no decision within {timeout:g} s: see `regflow status`, "
              "`regflow dead-letters list`", file=sys.stderr)


def _answer(args: argparse.Namespace, settings: Settings, sent: list[Sent], *, batch: bool = False) -> int:
    """Wait for the decisions (unless --no-wait), print them (text or --json), and the exit code: 0 when
    every command was accepted (or sent with --no-wait), 1 when one was refused, 2 when one is undecided."""
    timeout = _wait_seconds(args)
    answers = _await_answers(settings, sent, timeout)
    if args.json:
        if batch:
            print(_json({"accepted": sum(a.outcome == "accepted" for a in answers),
                         "refused": sum(a.outcome == "refused" for a in answers),
                         "pending": sum(a.outcome == "pending" for a in answers),
                         "sent": len(answers), "commands": [a.as_dict() for a in answers]}))
        else:
            print(_json(answers[0].as_dict()))
        for answer in answers:
            if answer.outcome == "pending":
                print(f"aucune décision en {timeout:g} s / no decision within {timeout:g} s: {answer.sent.command_id}; "
                      f"see {_look_at(answer)}", file=sys.stderr)
    elif batch:
        _say_batch(answers, timeout)
    else:
        _say_answer(answers[0], timeout)
    return max((a.exit_code for a in answers), default=0)


def _consumer_apps() -> dict[str, object]:
    from consumers import invoicing, notifications, payments, validation

    return {"validation": validation.APP, "invoicing": invoicing.APP,
            "notifications": notifications.APP, "payments": payments.APP}


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.persistence.db import migrate

    migrate(settings.database_url)
    print(f"database at the latest schema: {_safe_url(settings.database_url)}")
    return 0


def cmd_consume(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.runner import ConsumerApp, StopFlag, keep_running, run_consumer
    from workflow.bootstrap import bootstrap
    from workflow.ops.health import serve_health

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
    from workflow.messaging.broker import Publisher
    from workflow.messaging.relay import run_relay
    from workflow.ops.health import serve_health
    from workflow.ops.metrics import register_outbox_backlog

    deps = bootstrap(settings, role="relay")
    stop = StopFlag()
    stop.install()
    if serve_health(settings, deps.sessions):  # and the outbox backlog, read from the database at each scrape
        register_outbox_backlog(deps.sessions, deps.clock)

    def relay() -> None:
        with Publisher(settings.broker_url, deps.topology) as publisher:
            run_relay(deps.sessions, publisher, deps.clock, settings.relay_poll_seconds, stop,
                      max_bytes=settings.max_message_bytes)

    keep_running(relay, stop, "relay")
    return 0


def cmd_run_all(args: argparse.Namespace, settings: Settings) -> int:
    """Start every consumer and the relay as separate processes; SIGTERM/Ctrl-C stops them all."""
    from regflow.processes import run_all

    return run_all()


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    """Publish forms (all checked first: shape, UTF-8, size; one bad and nothing is sent), then wait for
    the decision on each and sum them up."""
    from producers.commands import CommandClient, FormFileError, load_forms

    try:
        forms = load_forms([Path(p) for p in args.paths], max_message_bytes=settings.max_message_bytes,
                           registration_id=args.registration_id)
    except FormFileError as exc:
        _print_lines(f"erreur / error: {exc.bilingual()}", file=sys.stderr)
        return 2
    if args.registration_id and len(forms) > 1:
        print(_both("--registration-id ne va qu'avec un seul formulaire ; rien n'a été envoyé",
                    "--registration-id goes with one form only; nothing sent"), file=sys.stderr)
        return 2
    sent = []
    with (CommandClient(settings, role="intake") as client,
          _progress_bar(len(forms), "forms", shown=len(forms) > 1) as bar):
        for index, (path, form) in enumerate(forms, 1):
            envelope = client.submit_form(form, args.registration_id)
            registration_id = envelope.registration_id
            if not args.json:
                bar.write(printable(f"[{index}/{len(forms)}] {path}: inscription {registration_id} envoyée / "
                                    f"registration {registration_id} submitted"))
            bar.update(1)
            sent.append(Sent(envelope, f"inscription {registration_id} enregistrée",
                             f"registration {registration_id} recorded", file=path))
    return _answer(args, settings, sent, batch=True)


def _progress_bar(total: int | None, unit: str, *, shown: bool = True) -> tqdm[Any]:
    """A progress bar on stderr, only on a terminal (a script or a pipe gets the plain lines alone)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=f" {unit}", disable=not (shown and sys.stderr.isatty()), file=sys.stderr)


def cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    signature = Signature(place=args.place, signed_on=args.date, signatory=args.signatory,
                          method=SignatureMethod(args.method), electronic_reference=args.reference)
    with CommandClient(settings, role="intake", producer="signature") as client:
        envelope = client.record_signature(args.registration_id, signature)
    return _answer(args, settings, [Sent(envelope, f"signature enregistrée pour {args.registration_id}",
                                         f"signature recorded for {args.registration_id}")])


def cmd_hold_session(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="operations", producer="operations") as client:
        envelope = client.hold_session(args.session_id, args.on, requested_by=args.by)
    return _answer(args, settings, [Sent(
        envelope, f"séance {args.session_id} enregistrée comme tenue le {args.on} (service fait)",
        f"session {args.session_id} recorded as held on {args.on} (service fait)")])


def cmd_cancel_session(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="operations", producer="operations") as client:
        envelope = client.cancel_session(args.session_id, args.reason)
    return _answer(args, settings, [Sent(
        envelope, f"séance {args.session_id} annulée : ses inscriptions annulées, leurs factures créditées",
        f"session {args.session_id} cancelled: its registrations cancelled, their invoices credited")])


def cmd_move_session(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="operations", producer="operations") as client:
        envelope = client.move_session(args.session_id, args.to, args.reason)
    return _answer(args, settings, [Sent(
        envelope, f"séance {args.session_id} déplacée vers {args.to} : factures créditées et réémises",
        f"session {args.session_id} moved to {args.to}: invoices credited and reissued")])


def cmd_correct_invoice(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient, TextFileError, read_utf8_text
    from schemas.form import ClientOrganisation

    client_block = None
    if args.client_json:
        path = Path(args.client_json)
        try:
            client_block = ClientOrganisation.model_validate_json(
                read_utf8_text(path, max_bytes=settings.max_message_bytes))
        except TextFileError as exc:
            _print_lines(f"erreur / error: {path}: {exc}; rien n'a été envoyé / nothing sent", file=sys.stderr)
            return 2
        except ValidationError as exc:
            _print_lines(f"erreur / error: {path}: pas un bloc organisme-client / not a client block: "
                         f"{_validation_summary(exc)}; rien n'a été envoyé / nothing sent", file=sys.stderr)
            return 2
    with CommandClient(settings, role="finance", producer="finance") as client:
        envelope = client.correct_invoice(args.invoice_number, args.reason, client_block)
    return _answer(args, settings, [Sent(
        envelope, f"facture {args.invoice_number} : avoir et facture rectificative émis",
        f"invoice {args.invoice_number}: credit note and corrected invoice issued")])


def cmd_pay(args: argparse.Namespace, settings: Settings) -> int:
    from producers.commands import CommandClient

    with CommandClient(settings, role="finance", producer="finance") as client:
        envelope = client.record_payment(
            payment_id=args.payment_id, invoice_number=args.invoice, amount=args.amount, received_on=args.on,
            payer=args.payer, means=args.means, requested_by=args.by)
    return _answer(args, settings, [Sent(
        envelope, f"paiement {args.payment_id} de {args.amount} EUR enregistré",
        f"payment {args.payment_id} of {args.amount} EUR recorded")])


def cmd_replace_participant(args: argparse.Namespace, settings: Settings) -> int:
    """Support: publish the request, then report validation's decision (and what the history records)."""
    from producers.commands import CommandClient
    from schemas.form import Participant

    replacement = Participant(civilite=args.civilite, first_name=args.first_name, last_name=args.last_name,
                              email=args.email)
    with CommandClient(settings, role="support", producer="support") as client:
        envelope = client.replace_participant(args.registration_id, args.replaced, replacement,
                                              requested_by=args.by)
    return _answer(args, settings, [Sent(
        envelope, f"{args.replaced} remplacé(e) par {args.email} dans {args.registration_id}",
        f"{args.replaced} replaced by {args.email} in {args.registration_id}", history_detail=True)])


def cmd_check_link(args: argparse.Namespace, settings: Settings) -> int:
    """What the video-conference platform asks: is this personal link valid? Exit 0 only if it is."""
    from workflow.domain.access_links import LinkStatus
    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import check_link

    with session_factory(make_engine(settings.database_url))() as session:
        found = check_link(session, args.token)
    code = 0 if found.status is LinkStatus.VALID else 1
    if args.json:
        print(_json({"status": found.status.value, "participant": found.participant, "email": found.email,
                     "registration_id": found.registration_id, "session_id": found.session_id,
                     "revoked_at": found.revoked_at.isoformat() if found.revoked_at else None,
                     "revoked_reason": found.revoked_reason}))
        return code
    if found.status is LinkStatus.UNKNOWN:
        print("unknown: no participant has this link")
        return code
    who = printable(f"{found.participant} <{found.email}>, registration {found.registration_id}, "
                    f"session {found.session_id}")
    if found.status is LinkStatus.REVOKED:
        when = found.revoked_at.isoformat() if found.revoked_at else "?"
        print(f"revoked: {who}; revoked at {when}: {printable(found.revoked_reason)}")
        return code
    print(f"valid: {who}")
    return code


def cmd_emails(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.adapters.mailroom import retry_failed
    from workflow.bootstrap import bootstrap
    from workflow.persistence.views import email_list

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
        print(_json(rows))
        return 0
    for row in _clean(rows):
        error = f"  [{row['error']}]" if row["error"] else ""
        print(f"{row['id']:>6}  {row['status']:<7} {row['attempts']}x  {row['kind']:<20} {row['to']:<36} "
              f"{row['subject']}{error}")
    print(f"{len(rows)} e-mail(s)")
    return 0


def cmd_mail_sink(args: argparse.Namespace, settings: Settings) -> int:
    """A local SMTP server for development: keeps every message in a Maildir and prints a line each."""
    from workflow.adapters.mail_sink import MailSink

    def announce(message: object) -> None:
        from email.message import EmailMessage

        assert isinstance(message, EmailMessage)
        names = [part.get_filename() for part in message.iter_attachments()]
        print(printable(f"to {message['To']}: {message['Subject']}"
                        + (f"  (+ {', '.join(map(str, names))})" if names else "")), flush=True)

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
    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import format_timeline, registration_timeline

    view = registration_timeline(session_factory(make_engine(settings.database_url)), args.registration_id)
    if view is None:
        print(f"no registration {printable(args.registration_id)}", file=sys.stderr)
        return 1
    print(_json(view) if args.json else format_timeline(_clean(view)))
    return 0


def cmd_registrations(args: argparse.Namespace, settings: Settings) -> int:
    """The same list as the back-office page: registrations by session, filtered by state and session."""
    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import registration_list

    rows = registration_list(session_factory(make_engine(settings.database_url)), state=args.state,
                             session_id=args.session)
    if args.json:
        print(_json(rows))
        return 0
    for r in _clean(rows):
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
        print(printable(f"error: {exc}; nothing written"), file=sys.stderr)
        return 2
    print(printable(f"user {user.name} ({', '.join(user.roles)}) written to {settings.web_users_file}"))
    return 0


def cmd_awaiting_signature(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from workflow.bootstrap import bootstrap
    from workflow.persistence.views import awaiting_signature

    deps = bootstrap(settings)
    hours = args.hours or settings.signature_wait_hours
    late = awaiting_signature(deps.sessions, deps.clock.now(), timedelta(hours=hours))
    if args.json:
        print(_json(late))
        return 0
    print(f"{len(late)} registration(s) waiting for their signature for more than {hours:g} h")
    for r in _clean(late):
        print(f"  {r['id']}  {r['client']}  session {r['session_id']}  since {r['waiting_since'][:16]}"
              f"  ({r['waiting_hours']} h)  contact {r['gestionnaire_email']}")
    return 0


def cmd_invoices(args: argparse.Namespace, settings: Settings) -> int:
    import csv

    from workflow.bootstrap import bootstrap
    from workflow.domain.payment_rules import paris_date
    from workflow.persistence.views import INVOICE_COLUMNS, invoice_list

    deps = bootstrap(settings)
    rows = invoice_list(deps.sessions, paris_date(deps.clock.now()), args.status)
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=INVOICE_COLUMNS)
        writer.writeheader()
        writer.writerows(_clean(rows))
    elif args.json:
        print(_json(rows))
    else:
        rows = _clean(rows)
        print(f"{'invoice':<12} {'status':<9} {'due on':<10} {'total':>10} {'paid':>10} {'outstanding':>11} "
              f"{'late':>5}  client")
        for r in rows:
            print(f"{r['invoice']:<12} {r['status']:<9} {r['due_on']:<10} {r['total']:>10} {r['paid']:>10} "
                  f"{r['outstanding']:>11} {r['days_overdue']:>5}  {r['client']}")
    return 0


def cmd_payments(args: argparse.Namespace, settings: Settings) -> int:
    """Finance: the payments received, who recorded them and their anomalies (`--anomalies`: only those)."""
    import csv

    from workflow.persistence.db import make_engine, session_factory
    from workflow.persistence.views import PAYMENT_COLUMNS, payment_list

    rows = payment_list(session_factory(make_engine(settings.database_url)), invoice=args.invoice,
                        anomalies_only=args.anomalies)
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=PAYMENT_COLUMNS)
        writer.writeheader()
        writer.writerows({**r, "anomalies": " ".join(r["anomalies"])} for r in _clean(rows))
    elif args.json:
        print(_json(rows))
    else:
        rows = _clean(rows)
        print(f"{'payment':<24} {'invoice':<12} {'amount':>10} {'received':<10} {'means':<20} {'by':<10} anomalies")
        for r in rows:
            print(f"{r['payment_id']:<24} {r['invoice'] or '-':<12} {r['amount']:>10} {r['received_on']:<10} "
                  f"{r['means']:<20} {r['recorded_by'] or '-':<10} {', '.join(r['anomalies']) or '-'}")
        print(f"{len(rows)} payment(s)")
    return 0


def cmd_check_overdue(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.payments import check_overdue
    from workflow.bootstrap import bootstrap
    from workflow.domain.payment_rules import paris_date

    deps = bootstrap(settings)
    as_of = args.as_of or paris_date(deps.clock.now())
    published = check_overdue(deps, as_of)
    if args.json:
        print(_json({"as_of": as_of.isoformat(), "published": published}))
    else:
        print(f"{published} payment.overdue event(s) queued for publication (as of {as_of})")
    return 0


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.messaging.dead_letters import DeadLetters
    from workflow.messaging.topology import Topology

    scope = "operations" if settings.broker_declare == "own" else "all"
    letters = DeadLetters(settings.broker_url, Topology(settings.namespace, scope=scope))
    consumers = [args.consumer] if args.consumer else list(CONSUMERS)
    action = {"list": _letters_list, "show": _letters_show, "replay": _letters_replay, "purge": _letters_purge}
    return action[args.action](args, letters, consumers)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 1 when something needs a human (parked messages, stuck registrations, a consumer missing...)."""
    from workflow.ops.status import collect_status, format_status

    status = collect_status(settings)
    print(_json(status) if args.json else format_status(_clean(status)))
    return 0 if status["ok"] else 1


def _letters_list(args: argparse.Namespace, letters: DeadLetters, consumers: list[str]) -> int:
    now = datetime.now(UTC)
    rows = [m.summary(now) for c in consumers for m in letters.parked(c)]
    if args.json:
        print(_json(rows))
        return 0
    print(f"{len(rows)} parked message(s)")
    for r in _clean(rows):
        print(f"  [{r['consumer']}] {r['message_id']}  {r['type']}  registration {r['registration_id']}  "
              f"attempts {r['attempts']}  age {r['age']}\n      {r['error']}")
    return 0


def _letters_show(args: argparse.Namespace, letters: DeadLetters, consumers: list[str]) -> int:
    found = [m for c in consumers for m in letters.parked(c) if m.message_id == args.message_id]
    if not found:
        print(f"no parked message {printable(args.message_id)}", file=sys.stderr)
        return 1
    message = found[0]
    print(_json({**message.summary(datetime.now(UTC)),
                 "headers": {k: str(v) for k, v in message.headers.items()},
                 "body": message.body.decode(errors="replace")}))
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
    """Least privilege on the broker: a user per role (see workflow/messaging/broker_users.py)."""
    from workflow.messaging.broker_users import ADMIN, ROLES, definitions, describe, passwords_for
    from workflow.messaging.topology import Topology

    topology = Topology(settings.namespace)
    if args.action == "show":
        print(describe(topology))
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
    from workflow.domain.machine import mermaid_diagram

    text = f"# Registration states\n\nGenerated by `regflow diagram` from `workflow/domain/machine.py`.\n\n" \
           f"```mermaid\n{mermaid_diagram()}\n```\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_export_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from workflow.messaging.json_schemas import export_json_schemas

    written = export_json_schemas(Path(args.output))
    print(f"{len(written)} JSON Schemas written to {args.output}")
    return 0


def cmd_asyncapi(args: argparse.Namespace, settings: Settings) -> int:
    """The contract document for the intake, finance and operations teams (checked in sync by a test)."""
    from workflow.messaging.asyncapi import write_asyncapi

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


def _decision_options(command: argparse.ArgumentParser) -> None:
    """A command waits for its decision (accepted: exit 0, refused: 1, none in time: 2) unless --no-wait."""
    waiting = command.add_mutually_exclusive_group()
    waiting.add_argument("--wait", type=seconds_option, metavar="SECONDS",
                         help=f"how long to wait for the decision (default {DEFAULT_WAIT_SECONDS:g}, or {WAIT_ENV}; "
                              "0: do not wait)")
    waiting.add_argument("--no-wait", action="store_true",
                         help="fire and forget: exit 0 once the broker has the command")
    command.add_argument("--json", action="store_true",
                         help="print the decision as JSON (command_id, outcome, reason_fr, reason_en...)")


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915  (one flat list of subcommands)
    parser = argparse.ArgumentParser(prog="regflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)
    consume = sub.add_parser("consume", help="run one consumer (until SIGTERM)")
    consume.add_argument("name", choices=CONSUMERS)
    consume.set_defaults(func=cmd_consume)
    sub.add_parser("relay", help="run the outbox relay (until SIGTERM)").set_defaults(func=cmd_relay)
    sub.add_parser("run-all", help="run every consumer and the relay").set_defaults(func=cmd_run_all)
    submit = sub.add_parser("submit", help="publish registration forms (JSON files or folders of them) and wait "
                                           "for the decision on each")
    submit.add_argument("paths", nargs="+", metavar="PATH")
    submit.add_argument("--registration-id", type=registration_id_option,
                        help="reuse an id to send a corrected form")
    _decision_options(submit)
    submit.set_defaults(func=cmd_submit)
    sign = sub.add_parser("sign", help="a signature arrived for a registration waiting in 'received'")
    sign.add_argument("registration_id", type=registration_id_option)
    sign.add_argument("--place", required=True, type=_name_option("signature.place", "lieu", "place"))
    sign.add_argument("--date", type=date_option, required=True, help="YYYY-MM-DD")
    sign.add_argument("--signatory", required=True,
                      type=_name_option("signature.signatory", "signataire", "signatory"))
    sign.add_argument("--method", choices=[m.value for m in SignatureMethod], required=True)
    sign.add_argument("--reference", help="electronic-signature platform reference",
                      type=_name_option("signature.electronic_reference", "référence", "reference"))
    _decision_options(sign)
    sign.set_defaults(func=cmd_sign)
    hold = sub.add_parser("hold-session", help="record that a session was held (service fait)")
    hold.add_argument("session_id", type=session_id_option)
    hold.add_argument("--on", type=date_option, required=True, help="YYYY-MM-DD, the day it was held")
    hold.add_argument("--by", type=actor_option,
                      help="who records it (the history's actor; default: the payments consumer)")
    _decision_options(hold)
    hold.set_defaults(func=cmd_hold_session)
    cancel = sub.add_parser("cancel-session", help="the session will not be held: cancel and credit")
    cancel.add_argument("session_id", type=session_id_option)
    cancel.add_argument("--reason", required=True, type=reason_option)
    _decision_options(cancel)
    cancel.set_defaults(func=cmd_cancel_session)
    move = sub.add_parser("move-session", help="move a session to another date of the same training")
    move.add_argument("session_id", type=session_id_option)
    move.add_argument("--to", required=True, type=session_id_option, help="the new session id")
    move.add_argument("--reason", required=True, type=reason_option)
    _decision_options(move)
    move.set_defaults(func=cmd_move_session)
    correct = sub.add_parser("correct-invoice", help="credit a wrong invoice and issue a corrected one")
    correct.add_argument("invoice_number", type=invoice_number_option)
    correct.add_argument("--reason", required=True, type=reason_option)
    correct.add_argument("--client-json", help="a JSON file (UTF-8) with the corrected organisme-client block")
    _decision_options(correct)
    correct.set_defaults(func=cmd_correct_invoice)
    pay = sub.add_parser("pay", help="record a payment received by finance")
    pay.add_argument("--payment-id", required=True, type=payment_id_option)
    pay.add_argument("--invoice", type=invoice_number_option, help="invoice number, e.g. 2023-000001")
    pay.add_argument("--amount", type=amount_option, required=True,
                     help=f"euros, a dot and at most 2 decimals, e.g. 1190.00 (up to {MAX_AMOUNT})")
    pay.add_argument("--on", type=date_option, required=True, help="YYYY-MM-DD, the day it was received")
    pay.add_argument("--payer", type=payer_option)
    pay.add_argument("--means", default="transfer", choices=PAYMENT_MEANS, help="default: transfer")
    pay.add_argument("--by", type=actor_option,
                     help="who records it (the history's actor when it settles the invoice)")
    _decision_options(pay)
    pay.set_defaults(func=cmd_pay)
    replace = sub.add_parser("replace-participant", help="support: a participant is replaced by another")
    replace.add_argument("registration_id", type=registration_id_option)
    replace.add_argument("--replaced", required=True, metavar="EMAIL", type=replaced_option,
                         help="login e-mail of who is replaced")
    replace.add_argument("--civilite", required=True, choices=["Mme", "M."])
    replace.add_argument("--first-name", required=True,
                         type=_name_option("participants[].first_name", "prénom", "first name"))
    replace.add_argument("--last-name", required=True,
                         type=_name_option("participants[].last_name", "nom", "last name"))
    replace.add_argument("--email", required=True, type=email_option, help="the newcomer's login e-mail")
    replace.add_argument("--by", required=True, type=replacer_option, help="who asked (recorded in the history)")
    _decision_options(replace)
    replace.set_defaults(func=cmd_replace_participant)
    link = sub.add_parser("check-link", help="is a participant's personal link valid, revoked or unknown?")
    link.add_argument("token", help="the token or the whole link")
    link.add_argument("--json", action="store_true")
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
    overdue.add_argument("--as-of", type=date_option, help="YYYY-MM-DD; default: today (the clock)")
    overdue.add_argument("--json", action="store_true")
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


OUR_PACKAGES = frozenset({"regflow", "producers", "workflow", "schemas", "consumers"})


def _validation_summary(exc: ValidationError, limit: int = 5) -> str:
    """A pydantic error on one line: `field: message; ...` (the values quoted, never echoed whole)."""
    errors = exc.errors(include_url=False, include_input=False)
    said = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in errors[:limit])
    return said + (f"; (+{len(errors) - limit})" if len(errors) > limit else "")


def expected_error(exc: BaseException) -> str | None:
    """The one-line message for an error caused by what a person typed or a file held (None: a bug, or
    something else, which keeps its traceback)."""
    import pika.exceptions

    said: str | None = None
    if isinstance(exc, ValidationError):
        what = "configuration (REGFLOW_*)" if exc.title == "Settings" else exc.title
        said = f"{what} refusé(e) / refused: {_validation_summary(exc)}"
    elif isinstance(exc, UnicodeError):
        said = f"texte illisible (pas UTF-8) / unreadable text (not UTF-8): {exc}"
    elif isinstance(exc, ValueError) and type(exc).__module__.split(".")[0] in OUR_PACKAGES:
        said = str(exc)
    elif isinstance(exc, OSError) and exc.filename is not None:
        said = f"{exc.filename}: {exc.strerror or exc}"
    elif isinstance(exc, pika.exceptions.ChannelClosedByBroker) and exc.reply_code == 403:
        said = (f"le courtier a refusé / the broker refused it: {exc.reply_text}; each command logs in as its role's "
                "broker user (REGFLOW_BROKER_URL_<ROLE>, else REGFLOW_BROKER_URL; see regflow broker-users show)")
    elif isinstance(exc, pika.exceptions.AMQPConnectionError):
        said = (f"courtier RabbitMQ injoignable, rien n'a été envoyé / RabbitMQ broker unreachable, nothing "
                f"sent ({_safe_url(os.environ.get('REGFLOW_BROKER_URL', 'amqp://127.0.0.1:5672/%2F'))}: "
                f"{type(exc).__name__})")
    return None if said is None else f"erreur / error: {said}"


def main(argv: list[str] | None = None) -> int:
    """Parse (a bad option: its message, exit 2), run the subcommand, and turn an expected error (a value the
    schema refuses, a file that cannot be read...) into one line on stderr and exit 2, never a traceback."""
    from workflow.ops.logs import configure_logging

    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        configure_logging(settings.log_format)
        return int(args.func(args, settings))
    except KeyboardInterrupt:
        print("\ninterrompu / interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = expected_error(exc)
        if message is None:
            raise
        print(printable(message), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
