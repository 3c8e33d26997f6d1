"""The command line: what a person types or a file holds is refused with a message (exit 2), never a traceback;
what it prints is safe for a terminal; a command waits for its decision and says it (0 accepted, 1 refused,
2 none in time); --help lists the accepted values. No broker, no database: the publisher and
`wait_for_decision` are fakes here (tests/integration/test_cli_decisions.py runs the real consumers)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, get_args

import click
import pytest
from pydantic import ValidationError

import producers.commands
import workflow.persistence.decisions
import workflow.persistence.views
from producers.commands import FormFileError, load_forms
from regflow.cli import cli, main, options
from regflow.cli.options import InputError
from regflow.cli.output import printable, validation_summary
from schemas.limits import MAX_ACTOR_LENGTH, MAX_PAYMENT_ID_LENGTH, MAX_REASON_LENGTH
from schemas.messages import Envelope, RecordPayment
from workflow.domain.decisions import CommandDecision
from workflow.settings import Settings

FORMS = Path(__file__).resolve().parents[1] / "forms"
VALID = FORMS / "valid" / "handicap-departement.json"
SENDING = ["submit", "sign", "hold-session", "cancel-session", "move-session", "correct-invoice", "pay",
           "replace-participant"]
REPORTING = [*SENDING, "check-overdue", "check-link", "show", "registrations", "emails", "awaiting-signature",
             "invoices", "payments", "status", "dead-letters", "bank"]
# Each command-sending subcommand with arguments that are all valid.
VALID_ARGS = {
    "submit": [str(VALID)],
    "sign": ["reg-1", "--place", "Créteil", "--date", "2023-09-01", "--signatory", "M. Dupont", "--method", "stamp"],
    "hold-session": ["cpom-handicap-2023-09-15", "--on", "2023-09-15", "--by", "olga", "--reason", "sheet lost"],
    "cancel-session": ["cpom-handicap-2023-09-15", "--reason", "intervenant malade"],
    "move-session": ["cpom-handicap-2023-09-15", "--to", "cpom-handicap-2023-11-15", "--reason", "salle indisponible"],
    "correct-invoice": ["2023-000001", "--reason", "numéro d'engagement manquant"],
    "pay": ["--payment-id", "BANK-1", "--invoice", "2023-000001", "--amount", "1190.00", "--on", "2023-09-20"],
    "replace-participant": ["reg-1", "--replaced", "paul.leroy@valdemarne.fr", "--civilite", "Mme", "--first-name",
                            "Inès", "--last-name", "Roy", "--email", "ines.roy@valdemarne.fr", "--by", "support:alice"],
}


# --- fakes: a publisher that keeps what it is given, decisions chosen by the test --------------------------


class FakePublisher:
    sent: ClassVar[list[Envelope]] = []

    def __init__(self, url: str, topology: object) -> None:
        pass

    def __enter__(self) -> FakePublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def publish(self, envelope: Envelope, *, mandatory: bool) -> None:
        FakePublisher.sent.append(envelope)


@dataclass
class FakeDecisions:
    """Stands for workflow.persistence.decisions.wait_for_decision: answers with `outcome` (None: no decision)."""

    outcome: str | None = "accepted"
    reason_fr: str | None = None
    reason_en: str | None = None
    by_command: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    calls: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, sessions: object, command_id: str, timeout_seconds: float, **_: object
                 ) -> CommandDecision | None:
        self.calls.append((command_id, timeout_seconds))
        outcome, reason_fr, reason_en = self.by_command.get(command_id, (self.outcome, self.reason_fr,
                                                                          self.reason_en))
        if outcome is None:
            return None
        sent = next(e for e in FakePublisher.sent if str(e.event_id) == command_id)
        return CommandDecision(command_id=command_id, command_type=sent.type, consumer="validation", outcome=outcome,
                               registration_id=sent.registration_id, reason_fr=reason_fr, reason_en=reason_en,
                               decided_at=datetime(2023, 9, 1, 10, tzinfo=UTC))


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    FakePublisher.sent = []
    monkeypatch.setattr(producers.commands, "Publisher", FakePublisher)
    for name in ("REGFLOW_COMMAND_WAIT_SECONDS", "REGFLOW_MAX_MESSAGE_BYTES", "REGFLOW_BROKER_DECLARE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("REGFLOW_CLOCK", "fixed:2023-09-01T10:00:00+02:00")


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> FakeDecisions:
    fake = FakeDecisions()
    monkeypatch.setattr(workflow.persistence.decisions, "wait_for_decision", fake)
    monkeypatch.setattr(workflow.persistence.views, "decision_on", lambda sessions, registration_id, event_id: None)
    return fake


def run(*argv: str) -> int:
    """`regflow ARGV...`: its exit code, whether parsing or the command ended it."""
    return main(list(argv))


# --- A. what is typed: refused with a message and exit 2, nothing sent ---------------------------------


@pytest.mark.parametrize(("amount", "said"), [
    ("-5", "the amount must be greater than 0"),
    ("0", "the amount must be greater than 0"),
    ("12.345", "at most 2 decimals"),
    ("10000000000.00", "over the maximum of 9999999999.99"),
    ("1e999999", "over the maximum"),
    ("12,50", "a dot, not a comma"),
    ("douze", "invalid amount"),
    ("NaN", "invalid amount"),
    ("Infinity", "invalid amount"),
])
def test_pay_refuses_an_amount_that_is_not_a_positive_sum_of_cents(
        amount: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("pay", "--payment-id", "BANK-1", "--amount", amount, "--on", "2023-09-20") == 2
    err = capsys.readouterr().err
    assert said in err
    assert "montant" in err.split(" / ")[0], "French first"
    assert "Traceback" not in err
    assert FakePublisher.sent == []


@pytest.mark.parametrize("argv", [
    ["pay", "--payment-id", "B", "--amount", "5", "--on", "1999-12-31"],
    ["pay", "--payment-id", "B", "--amount", "5", "--on", "2999-01-01"],
    ["pay", "--payment-id", "B", "--amount", "5", "--on", "2023-02-30"],
    ["hold-session", "cpom-handicap-2023-09-15", "--on", "2100-01-01"],
    ["hold-session", "cpom-handicap-2023-09-15", "--on", "15/09/2023"],
    ["sign", "reg-1", "--place", "Lyon", "--date", "1990-01-01", "--signatory", "X", "--method", "stamp"],
    ["check-overdue", "--as-of", "0001-01-01"],
])
def test_a_date_outside_2000_to_a_year_from_now_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert "date" in err
    assert "Traceback" not in err
    assert FakePublisher.sent == []


def test_a_date_a_year_from_today_is_the_last_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "_today", lambda: date(2024, 2, 29))
    assert options.date_option("2025-02-28") == date(2025, 2, 28)
    with pytest.raises(InputError, match="out of range"):
        options.date_option("2025-03-01")
    assert options.date_option("2000-01-01") == date(2000, 1, 1)


@pytest.mark.parametrize(("argv", "said"), [
    (["pay", "--payment-id", "P" * (MAX_PAYMENT_ID_LENGTH + 1), "--amount", "5", "--on", "2023-09-20"],
     f"at most {MAX_PAYMENT_ID_LENGTH}"),
    (["pay", "--payment-id", "  ", "--amount", "5", "--on", "2023-09-20"], "at least 1"),
    (["pay", "--payment-id", "B", "--amount", "5", "--on", "2023-09-20", "--by", "x" * (MAX_ACTOR_LENGTH + 1)],
     f"at most {MAX_ACTOR_LENGTH}"),
    (["pay", "--payment-id", "B", "--amount", "5", "--on", "2023-09-20", "--invoice", "2023-" + "0" * 30],
     "at most 20"),
    (["pay", "--payment-id", "B", "--amount", "5", "--on", "2023-09-20", "--means", "bitcoin"], "invalid choice"),
    (["cancel-session", "cpom-handicap-2023-09-15", "--reason", "r" * (MAX_REASON_LENGTH + 1)],
     f"at most {MAX_REASON_LENGTH}"),
    (["move-session", "cpom-a", "--to", "cpom-b", "--reason", "no"], "at least 3"),
    (["hold-session", "no such session", "--on", "2023-09-15"], "invalid session id"),
    (["sign", "../../etc/passwd", "--place", "Lyon", "--date", "2023-09-01", "--signatory", "X", "--method",
      "stamp"], "invalid registration id"),
    (["sign", "reg-1", "--place", "Ly\x1b[2Jon", "--date", "2023-09-01", "--signatory", "X", "--method", "stamp"],
     "U+001B (ESCAPE) not allowed"),
    (["replace-participant", *VALID_ARGS["replace-participant"][:-1], "x"], "at least 2"),
    (["submit", str(VALID), "--registration-id", "a b"], "invalid registration id"),
    (["hold-session", "cpom-handicap-2023-09-15", "--on", "2023-09-15", "--wait", "-1"], "invalid duration"),
])
def test_a_value_the_schema_would_refuse_is_refused_with_a_message(
        argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err
    assert FakePublisher.sent == []


def test_what_the_schema_refuses_past_the_options_is_one_line_and_exit_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The backstop: whatever slips past the options' checks (a schema that grew stricter) is a message."""
    def refused(client: object, **fields: object) -> Envelope:
        RecordPayment.model_validate({"payment_id": "", "amount": "-1", "received_on": "2023-09-20"})
        raise AssertionError("the schema accepted it")

    monkeypatch.setattr(producers.commands.CommandClient, "record_payment", refused)
    assert run("pay", *VALID_ARGS["pay"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("erreur / error: RecordPayment refusé(e) / refused: payment_id:")
    assert "amount:" in err


def test_a_bad_setting_is_a_message_too(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGFLOW_MAX_MESSAGE_BYTES", "lots")
    assert run("pay", *VALID_ARGS["pay"]) == 2
    assert "configuration (REGFLOW_*)" in capsys.readouterr().err
    monkeypatch.delenv("REGFLOW_MAX_MESSAGE_BYTES")
    monkeypatch.setenv("REGFLOW_COMMAND_WAIT_SECONDS", "forever")
    assert run("pay", *VALID_ARGS["pay"]) == 2
    assert "REGFLOW_COMMAND_WAIT_SECONDS" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(client: object, **fields: object) -> Envelope:
        raise KeyError("a bug")

    monkeypatch.setattr(producers.commands.CommandClient, "record_payment", broken)
    with pytest.raises(KeyError):
        main(["pay", *VALID_ARGS["pay"]])


# --- A. files: size, encoding, BOM, named; the batch refused whole ----------------------------------------


def big_form(participants: int) -> dict[str, Any]:
    form: dict[str, Any] = json.loads(VALID.read_text(encoding="utf-8"))
    form["participants"] = [{"civilite": "Mme", "first_name": f"Prénom{i}", "last_name": f"NOM{i}",
                             "email": f"participant.{i}@valdemarne.fr"} for i in range(participants)]
    return form


def test_a_folder_with_one_form_too_large_for_a_message_sends_nothing_and_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGFLOW_MAX_MESSAGE_BYTES", "4096")
    (tmp_path / "a-small.json").write_text(VALID.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b-large.json").write_text(json.dumps(big_form(60)), encoding="utf-8")
    (tmp_path / "c-small.json").write_text(VALID.read_text(encoding="utf-8"), encoding="utf-8")
    assert run("submit", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert FakePublisher.sent == []
    assert "rien n'a été envoyé / nothing sent" in err
    assert "b-large.json: son message ferait" in err
    assert "over the limit of 4096 bytes (REGFLOW_MAX_MESSAGE_BYTES)" in err
    assert "a-small.json" not in err


def test_the_size_checked_is_the_size_sent(tmp_path: Path) -> None:
    """load_forms measures the envelope CommandClient.send publishes: a form that passes fits."""
    form = big_form(25)
    (tmp_path / "form.json").write_text(json.dumps(form), encoding="utf-8")
    ((path, loaded),) = load_forms([tmp_path / "form.json"], max_message_bytes=100_000)
    measured = producers.commands.submission_size(loaded, "reg-1")
    assert load_forms([path], max_message_bytes=measured, registration_id="reg-1")
    with pytest.raises(FormFileError, match="over the limit"):
        load_forms([path], max_message_bytes=measured - 1, registration_id="reg-1")
    with producers.commands.CommandClient(Settings(max_message_bytes=measured)) as client:
        client.submit_form(loaded, "reg-1")
    assert len(FakePublisher.sent[0].model_dump_json().encode()) <= measured


def test_a_file_far_too_large_is_not_even_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (4 * 1024 * 4 + 1))
    with pytest.raises(FormFileError, match=r"huge.json: file of 16385 bytes, far too large"):
        load_forms([huge], max_message_bytes=1024)


@pytest.mark.parametrize(("content", "fr", "en"), [
    (b"\xef\xbb\xbf" + VALID.read_bytes(), "BOM", "byte-order mark"),
    (VALID.read_text(encoding="utf-8").encode("latin-1"), "n'est pas en UTF-8", "is not UTF-8"),
    (VALID.read_text(encoding="utf-8").encode("utf-16"), "n'est pas en UTF-8", "is not UTF-8"),
])
def test_a_form_with_a_bom_or_in_another_encoding_is_named(
        content: bytes, fr: str, en: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "form.json"
    file.write_bytes(content)
    assert run("submit", str(file)) == 2
    err = capsys.readouterr().err
    assert f"{file}: " in err
    assert fr in err
    assert en in err
    assert "Traceback" not in err
    assert FakePublisher.sent == []


def test_the_api_keeps_its_english_message_for_scripts(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_bytes("{\"session_id\": \"é\"}".encode("latin-1"))
    with pytest.raises(FormFileError) as refused:
        load_forms([tmp_path])
    assert str(refused.value).startswith("nothing sent:\n")
    assert "bad.json: is not UTF-8 (byte 0xe9 at offset 16)" in str(refused.value)
    assert refused.value.bilingual().startswith("rien n'a été envoyé / nothing sent:\n")


@pytest.mark.parametrize(("content", "said"), [
    (b"\xef\xbb\xbf{}", "BOM"),
    (b'{"name": "Conseil g\xe9n\xe9ral"}', "is not UTF-8"),
    (b'{"name": 12, "colour": "blue"}', "not a client block"),
    (None, "No such file"),
])
def test_correct_invoice_names_a_client_file_it_cannot_use(
        content: bytes | None, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "client.json"
    if content is not None:
        file.write_bytes(content)
    assert run("correct-invoice", *VALID_ARGS["correct-invoice"], "--client-json", str(file), "--no-wait") == 2
    err = capsys.readouterr().err
    assert str(file) in err
    assert said in err
    assert "Traceback" not in err
    assert FakePublisher.sent == []


# --- A. what is printed: no terminal control from stored data ---------------------------------------------

HOSTILE = "Mairie\x1b[2J\x1b]0;owned\x07 de\u202e\u2066 Lyon\x00\x9b31m\r\nFAKE LINE\u0085é"


def test_printable_strips_escape_sequences_controls_and_bidi_overrides_and_keeps_the_text() -> None:
    assert printable(HOSTILE) == "Mairie de Lyon  FAKE LINE é"
    assert printable("Conseil départemental — محافظة, 東京\u200d") == "Conseil départemental — محافظة, 東京\u200d"
    assert printable("a\tb") == "a b"
    assert printable("\x1bP1;2|secret\x1b\\ok") == "ok"
    assert printable("\x1b") == ""


def hostile_view() -> dict[str, Any]:
    return {"id": "reg-1", "state": "invoiced", "client": HOSTILE, "public_client": True, "session_id": "s",
            "participants": 1, "service_fait_on": None, "errors": [], "warnings": [],
            "history": [{"at": "2023-09-01T10:00:00+02:00", "from": None, "to": "received", "trigger": "submit",
                         "outcome": "applied", "by": "support\x1b[31m", "reason": "r\u202eeason",
                         "cause_event_id": None}],
            "invoice": None, "invoices": [], "credit_notes": [], "payments": [], "emails": [
                {"id": 1, "kind": "invoice", "to": "x@y.fr\x1b[8m", "subject": "s", "status": "sent", "attempts": 1,
                 "sent_at": None, "error": None}],
            "links": [], "reminders": [], "events_published": []}


def test_show_and_registrations_print_no_terminal_control_from_the_database(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(workflow.persistence.views, "registration_timeline",
                        lambda sessions, registration_id: hostile_view())
    monkeypatch.setattr(workflow.persistence.views, "registration_list", lambda sessions, state=None, session_id=None: [
        {"id": "reg-1", "state": "invoiced", "session_id": "s\x1b[1A", "client": HOSTILE, "public_client": True,
         "participants": 1, "updated_at": "2023-09-01T10:00:00+02:00"}])
    for argv in (["show", "reg-1"], ["registrations"]):
        assert run(*argv) == 0
        out = capsys.readouterr().out
        assert "Mairie de Lyon" in out
        for char in ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u2066", "\r", "\x85"):
            assert char not in out, (argv, repr(char))
        assert "FAKE LINE" not in [line.strip() for line in out.splitlines()], "no forged line"


def test_json_output_escapes_what_a_terminal_would_act_on_and_loses_nothing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(workflow.persistence.views, "registration_timeline",
                        lambda sessions, registration_id: hostile_view())
    assert run("show", "reg-1", "--json") == 0
    out = capsys.readouterr().out
    for char in ("\x1b", "\x9b", "\u202e", "\u2066", "\x85"):
        assert char not in out
    assert json.loads(out)["client"] == HOSTILE
    assert "é" in out, "readable UTF-8 stays readable"


# --- B. a command is answered: 0 accepted, 1 refused, 2 no decision in time --------------------------------


@pytest.mark.parametrize("command", SENDING)
def test_every_command_waits_for_its_decision_and_says_it(
        command: str, decisions: FakeDecisions, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(command, *VALID_ARGS[command]) == 0
    (sent,) = FakePublisher.sent
    assert decisions.calls == [(str(sent.event_id), 30.0)]
    out = capsys.readouterr().out
    assert "accepté" in out
    assert "accepted" in out
    assert out.index("accepté") < out.index("accepted")


@pytest.mark.parametrize("command", SENDING)
def test_a_refusal_is_exit_1_with_the_french_then_the_english_reason(
        command: str, decisions: FakeDecisions, capsys: pytest.CaptureFixture[str]) -> None:
    decisions.outcome = "refused"
    decisions.reason_fr, decisions.reason_en = "Séance inconnue : x.", "Unknown session: x."
    assert run(command, *VALID_ARGS[command]) == 1
    out = capsys.readouterr().out
    assert "Séance inconnue : x." in out
    assert "Unknown session: x." in out
    assert out.index("Séance inconnue") < out.index("Unknown session")


@pytest.mark.parametrize("command", SENDING)
def test_no_decision_in_time_is_exit_2_saying_what_to_look_at(
        command: str, decisions: FakeDecisions, capsys: pytest.CaptureFixture[str]) -> None:
    decisions.outcome = None
    assert run(command, *VALID_ARGS[command], "--wait", "1.5") == 2
    assert decisions.calls[0][1] == 1.5
    err = capsys.readouterr().err
    assert "no decision within 1.5 s" in err
    assert "`regflow status`" in err
    assert "`regflow dead-letters list`" in err


@pytest.mark.parametrize("command", SENDING)
def test_no_wait_fires_and_forgets(command: str, decisions: FakeDecisions, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(command, *VALID_ARGS[command], "--no-wait") == 0
    assert decisions.calls == []
    assert len(FakePublisher.sent) == 1
    assert str(FakePublisher.sent[0].event_id) in capsys.readouterr().out


def test_the_default_timeout_comes_from_the_environment(decisions: FakeDecisions,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGFLOW_COMMAND_WAIT_SECONDS", "7")
    assert run("pay", *VALID_ARGS["pay"]) == 0
    assert decisions.calls[0][1] == 7.0
    assert run("replace-participant", *VALID_ARGS["replace-participant"], "--wait", "0") == 0, "--wait 0: no wait"
    assert len(decisions.calls) == 1


@pytest.mark.parametrize("command", SENDING)
def test_json_prints_the_decision(command: str, decisions: FakeDecisions, capsys: pytest.CaptureFixture[str]) -> None:
    decisions.outcome = "refused"
    decisions.reason_fr, decisions.reason_en = "Non.", "No."
    code = run(command, *VALID_ARGS[command], "--json")
    printed = json.loads(capsys.readouterr().out)
    (sent,) = FakePublisher.sent
    decision = printed["commands"][0] if command == "submit" else printed
    assert code == 1
    assert {k: decision[k] for k in ("command_id", "command_type", "outcome", "reason_fr", "reason_en")} == {
        "command_id": str(sent.event_id), "command_type": sent.type, "outcome": "refused", "reason_fr": "Non.",
        "reason_en": "No."}


def test_json_without_a_decision_says_pending_or_sent(decisions: FakeDecisions,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    decisions.outcome = None
    assert run("hold-session", *VALID_ARGS["hold-session"], "--json", "--wait", "1") == 2
    assert json.loads(capsys.readouterr().out)["outcome"] == "pending"
    assert run("hold-session", *VALID_ARGS["hold-session"], "--json", "--no-wait") == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "sent"


def test_submit_of_several_forms_waits_for_each_and_sums_them_up(
        tmp_path: Path, decisions: FakeDecisions, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a.json", "b.json", "c.json"):
        (tmp_path / name).write_text(VALID.read_text(encoding="utf-8"), encoding="utf-8")

    def wait(sessions: object, command_id: str, timeout_seconds: float, **kw: object) -> CommandDecision | None:
        if [str(e.event_id) for e in FakePublisher.sent].index(command_id) % 3 == 1:  # b.json, each time
            decisions.by_command[command_id] = ("refused", "Séance complète.", "Session full.")
        return decisions(sessions, command_id, timeout_seconds)

    monkeypatch.setattr(workflow.persistence.decisions, "wait_for_decision", wait)
    assert run("submit", str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert len(FakePublisher.sent) == 3
    assert len(decisions.calls) == 3
    assert f"{tmp_path / 'b.json'}: refusé / refused: Séance complète. / Session full." in out
    assert "2 accepté(s), 1 refusé(s), 0 sans décision / 2 accepted, 1 refused, 0 without a decision" in out
    assert run("submit", str(tmp_path), "--json") == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["accepted"], summary["refused"], summary["pending"]) == (2, 1, 0)
    assert [Path(c["file"]).name for c in summary["commands"]] == ["a.json", "b.json", "c.json"]


def test_replace_participant_reads_the_decision_not_the_history_polling(
        decisions: FakeDecisions, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(workflow.persistence.views, "decision_on", lambda sessions, registration_id, event_id: (
        "applied", "participants[1]: M. Paul LEROY replaced by Mme Inès ROY, asked by support:alice\x1b[2J"))
    assert run("replace-participant", *VALID_ARGS["replace-participant"]) == 0
    (sent,) = FakePublisher.sent
    assert decisions.calls == [(str(sent.event_id), 30.0)]
    out = capsys.readouterr().out
    assert "applied: participants[1]: M. Paul LEROY replaced by Mme Inès ROY, asked by support:alice\n" in out
    decisions.outcome, decisions.reason_fr, decisions.reason_en = "refused", "Déjà tenue.", "Already held."
    assert run("replace-participant", *VALID_ARGS["replace-participant"]) == 1
    assert "refused: Already held." in capsys.readouterr().out


# --- C. --help lists the accepted values; the commands that report take --json --------------------------


def subcommands() -> dict[str, click.Command]:
    return dict(cli.commands)


def help_of(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What `regflow NAME --help` prints."""
    capsys.readouterr()
    assert main([name, "--help"]) == 0
    return capsys.readouterr().out


def options_of(command: click.Command) -> set[str]:
    return {option for param in command.params for option in param.opts}


def test_every_option_with_choices_lists_them_in_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    checked = 0
    for name, command in subcommands().items():
        text = help_of(name, capsys)
        for param in command.params:
            if not isinstance(param.type, click.Choice):
                continue
            for choice in param.type.choices:
                assert str(choice) in text, f"regflow {name} --help does not list {choice!r} of {param.name}"
                checked += 1
    assert checked > 20


def test_pay_means_are_the_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    means = get_args(RecordPayment.model_fields["means"].annotation)
    assert means == ("transfer", "cheque", "card", "mandat_administratif", "other")
    (param,) = [p for p in subcommands()["pay"].params if p.name == "means"]
    assert isinstance(param.type, click.Choice)
    assert tuple(param.type.choices) == means
    assert "[transfer|cheque|card|mandat_administratif|other]" in help_of("pay", capsys)


@pytest.mark.parametrize("name", REPORTING)
def test_the_commands_that_report_accept_json(name: str) -> None:
    assert "--json" in options_of(subcommands()[name])


@pytest.mark.parametrize("name", SENDING)
def test_the_commands_that_send_take_wait_and_no_wait(name: str) -> None:
    command = subcommands()[name]
    assert {"--wait", "--no-wait", "--json"} <= options_of(command)
    params = command.make_context(name, [*VALID_ARGS[name], "--wait", "12", "--json"]).params
    assert (params["wait"], params["no_wait"], params["as_json"]) == (12.0, False, True)


@pytest.mark.parametrize(("argv", "code", "said"), [
    (["pay", "--help"], 0, "Usage: regflow pay"),
    (["pay", "-h"], 0, "--payment-id"),
    (["pay", *VALID_ARGS["pay"], "--colour", "blue"], 2, "No such option '--colour'"),
    (["no-such-command"], 2, "No such command"),
    (["hold-session", *VALID_ARGS["hold-session"], "--wait", "5", "--no-wait"], 2,
     "--no-wait: not allowed with --wait"),
    (["payments", "--json", "--csv"], 2, "--csv: not allowed with --json"),
    (["pay", "--amount", "5", "--on", "2023-09-20"], 2, "Missing option '--payment-id'"),
])
def test_help_an_unknown_option_and_options_that_exclude_each_other_are_as_argparse_had_them(
        argv: list[str], code: int, said: str, decisions: FakeDecisions, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*argv) == code
    captured = capsys.readouterr()
    assert said in (captured.out if code == 0 else captured.err)
    assert "Traceback" not in captured.err
    assert FakePublisher.sent == []
    assert decisions.calls == []


def test_validation_error_summary_never_echoes_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        RecordPayment.model_validate({"payment_id": "x" * 5000, "amount": "1", "received_on": "2023-09-20"})
    assert "xxxxxxxxxx" not in validation_summary(refused.value)
