"""A command is sent, then answered: accepted (exit 0), refused (1), or no decision in time (2). The command
line waits for the decision the consumer records (workflow.domain.decisions) and says it, French first."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regflow.cli.options import InputError, seconds_option
from regflow.cli.output import both, print_lines, printable, progress_bar, to_json

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from schemas.messages import Envelope
    from workflow.domain.decisions import CommandDecision
    from workflow.settings import Settings

DEFAULT_WAIT_SECONDS = 30.0  # how long a command waits for its decision; REGFLOW_COMMAND_WAIT_SECONDS
WAIT_ENV = "REGFLOW_COMMAND_WAIT_SECONDS"


@dataclass(frozen=True)
class Waiting:
    """How a command waits for its decision (--wait, --no-wait, the environment) and prints it (--json)."""

    timeout: float
    as_json: bool

    @classmethod
    def chosen(cls, wait: float | None, no_wait: bool, as_json: bool) -> Waiting:
        """--no-wait: 0; --wait S; else REGFLOW_COMMAND_WAIT_SECONDS, else 30 s."""
        if no_wait:
            return cls(0.0, as_json)
        if wait is not None:
            return cls(wait, as_json)
        configured = os.environ.get(WAIT_ENV, "").strip()
        if not configured:
            return cls(DEFAULT_WAIT_SECONDS, as_json)
        try:
            return cls(seconds_option(configured), as_json)
        except InputError as exc:
            raise InputError(f"{WAIT_ENV} : {exc}") from None


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


def await_answers(settings: Settings, sent: list[Sent], timeout: float) -> list[Answer]:
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
        with progress_bar(len(sent), "decisions", shown=len(sent) > 1) as bar:
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
        print(printable(both(f"envoyée sans attendre sa décision : {sent.envelope.type} {sent.command_id}",
                             f"sent without waiting for its decision: {sent.envelope.type} {sent.command_id}")))
        return
    if decision is None:
        print_lines(f"aucune décision en {timeout:g} s sur la commande {sent.command_id} ({sent.envelope.type}) : "
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


def answer(settings: Settings, waiting: Waiting, sent: list[Sent], *, batch: bool = False) -> int:
    """Wait for the decisions (unless --no-wait), print them (text or --json), and the exit code: 0 when
    every command was accepted (or sent with --no-wait), 1 when one was refused, 2 when one is undecided."""
    timeout = waiting.timeout
    answers = await_answers(settings, sent, timeout)
    if waiting.as_json:
        if batch:
            print(to_json({"accepted": sum(a.outcome == "accepted" for a in answers),
                           "refused": sum(a.outcome == "refused" for a in answers),
                           "pending": sum(a.outcome == "pending" for a in answers),
                           "sent": len(answers), "commands": [a.as_dict() for a in answers]}))
        else:
            print(to_json(answers[0].as_dict()))
        for one in answers:
            if one.outcome == "pending":
                print(f"aucune décision en {timeout:g} s / no decision within {timeout:g} s: {one.sent.command_id}; "
                      f"see {_look_at(one)}", file=sys.stderr)
    elif batch:
        _say_batch(answers, timeout)
    else:
        _say_answer(answers[0], timeout)
    return max((a.exit_code for a in answers), default=0)
