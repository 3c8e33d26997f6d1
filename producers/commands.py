"""The Python API that the upstream intake, support, operations and finance use to send commands.

    with CommandClient(Settings()) as client:
        envelope = client.submit_form(form)            # returns once the broker confirmed it
        client.record_signature(envelope.registration_id, signature)

Every command is checked against its schema before it is sent (a bad one raises, nothing is sent),
published persistent and mandatory, and confirmed by the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Self
from uuid import uuid4

import pika.exceptions
from pydantic import ValidationError

from schemas.form import ClientOrganisation, Contract, Participant, RegistrationForm, Signature
from schemas.limits import has_surrogate
from schemas.messages import (
    CancelSession,
    CorrectInvoice,
    Envelope,
    HoldSession,
    MoveSession,
    RecordPayment,
    RecordSignature,
    ReplaceParticipant,
    SubmitRegistration,
)
from workflow.adapters.clocks import clock_from_spec
from workflow.domain.clock import Clock
from workflow.messaging.broker import Publisher
from workflow.messaging.topology import ALL, Topology
from workflow.settings import Settings


@dataclass(frozen=True)
class FileProblem:
    """Why one file is refused: in French and in English, then what exactly (a schema error, a size...)."""

    file: Path
    fr: str
    en: str
    detail: str = ""

    def line(self, *, english_only: bool = False) -> str:
        said = self.en if english_only else f"{self.fr} / {self.en}"
        return f"{self.file}: {said}" + (f": {self.detail}" if self.detail else "")


class FormFileError(ValueError):
    """One or more files are not registration forms (or would not fit in a message); nothing was sent.
    `str()` is the English list; `bilingual()` says it in French, then English, for a person."""

    def __init__(self, problems: list[FileProblem], *, paths: list[Path] | None = None) -> None:
        self.problems = problems
        self.paths = paths or []
        super().__init__("nothing sent:\n" + "\n".join(self._lines(english_only=True)))

    def _lines(self, *, english_only: bool) -> list[str]:
        lines = [p.line(english_only=english_only) for p in self.problems]
        if not self.problems:
            where = ", ".join(map(str, self.paths))
            lines.append(f"no form found in {where}" if english_only
                         else f"aucun formulaire dans {where} / no form found in {where}")
        return lines

    def bilingual(self) -> str:
        return "rien n'a été envoyé / nothing sent:\n" + "\n".join(self._lines(english_only=False))


class MessageTooLargeError(ValueError):
    """A command over `max_message_bytes`: refused at the source rather than parked by a consumer."""


# What sending a command may fail with, as a page or an entry point says "not sent, try again" for it: the broker
# away or refusing, or a message over the limit (refused before it is sent)
NOT_SENT: tuple[type[Exception], ...] = (pika.exceptions.AMQPError, OSError, MessageTooLargeError)


UTF8_BOM = b"\xef\xbb\xbf"
# A file this many times over the message limit is not even read: its form could never fit in a message.
UNREAD_FACTOR = 4


def build_envelope(message_type: str, payload: Contract, registration_id: str | None, *, producer: str,
                   occurred_at: datetime) -> Envelope:
    """The envelope `CommandClient.send` publishes (its own id is also the conversation's)."""
    event_id = uuid4()
    return Envelope(event_id=event_id, type=message_type, occurred_at=occurred_at, registration_id=registration_id,
                    correlation_id=event_id, producer=producer, payload=payload.model_dump(mode="json"))


class NotUnicodeTextError(ValueError):
    """A value holds a lone surrogate: JSON can escape one, UTF-8 cannot carry it; nothing is sent."""


def envelope_size(envelope: Envelope) -> int:
    """The bytes on the wire: what a consumer measures against REGFLOW_MAX_MESSAGE_BYTES."""
    return len(envelope_bytes(envelope))


def envelope_bytes(envelope: Envelope) -> bytes:
    """The message's body; a NotUnicodeTextError when a value cannot be written as UTF-8."""
    if has_surrogate(envelope.payload):
        raise NotUnicodeTextError("une valeur contient un caractère qui n'est pas du texte Unicode (substitut "
                                  "isolé) : rien n'a été envoyé / a value holds a lone surrogate, not Unicode text: "
                                  "nothing sent")
    return envelope.model_dump_json().encode()


def submission_size(form: RegistrationForm, registration_id: str | None = None, *, producer: str = "intake") -> int:
    """The size of the `cmd.registration.submit` message that would carry `form` (a time with microseconds
    and a 36-character id when none is given: the longest the envelope's fixed fields get)."""
    occurred_at = datetime.now(UTC).replace(microsecond=999_999)
    return envelope_size(build_envelope("cmd.registration.submit", SubmitRegistration(form=form),
                                        registration_id or str(uuid4()), producer=producer, occurred_at=occurred_at))


def too_large_message(message_type: str, size: int, limit: int) -> str:
    return (f"{message_type} de {size} octets, au-delà de la limite de {limit} octets : rien n'a été envoyé / "
            f"{message_type} of {size} bytes is over the limit of {limit} bytes (REGFLOW_MAX_MESSAGE_BYTES): "
            f"nothing sent")


class TextFileError(ValueError):
    """A file that is not UTF-8 text as expected (a BOM, another encoding, far too large)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(f"{fr} / {en}")
        self.fr = fr
        self.en = en


def read_utf8_text(file: Path, *, max_bytes: int | None = None) -> str:
    """A text file's content, UTF-8 without a byte-order mark; anything else is a TextFileError naming the
    problem. `max_bytes`: refuse a larger file without reading it. OSError when it cannot be read."""
    size = file.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise TextFileError(f"fichier de {size} octets, bien trop gros (limite {max_bytes})",
                            f"file of {size} bytes, far too large (limit {max_bytes})")
    data = file.read_bytes()
    if data.startswith(UTF8_BOM):
        raise TextFileError("commence par une marque d'ordre d'octets (BOM) UTF-8 : enregistrez-le en UTF-8 sans BOM",
                            "starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without BOM")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextFileError(f"n'est pas en UTF-8 (octet 0x{data[exc.start]:02x} à la position {exc.start}) : "
                            "enregistrez-le en UTF-8",
                            f"is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
                            "save it as UTF-8") from None


def load_forms(paths: list[Path], *, max_message_bytes: int | None = None, registration_id: str | None = None
               ) -> list[tuple[Path, RegistrationForm]]:
    """Every form of the given files and folders (*.json), checked before anything is sent: UTF-8 text, the
    schema, and the size of the message that would carry it (`max_message_bytes`, REGFLOW_MAX_MESSAGE_BYTES
    when None). One bad file and the whole batch is refused, with each problem named."""
    limit = Settings().max_message_bytes if max_message_bytes is None else max_message_bytes
    files = [f for p in paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    forms: list[tuple[Path, RegistrationForm]] = []
    problems: list[FileProblem] = []
    for file in files:
        try:
            form = RegistrationForm.model_validate_json(read_utf8_text(file, max_bytes=limit * UNREAD_FACTOR))
        except OSError as exc:
            problems.append(FileProblem(file, "illisible", "cannot be read", str(exc.strerror)))
            continue
        except ValidationError as exc:
            details = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
            problems.append(FileProblem(file, "pas un formulaire d'inscription", "not a registration form", details))
            continue
        except TextFileError as exc:  # not UTF-8, a BOM, far too large
            problems.append(FileProblem(file, exc.fr, exc.en))
            continue
        size = submission_size(form, registration_id)
        if size > limit:
            problems.append(FileProblem(
                file, f"son message ferait {size} octets, au-delà de la limite de {limit} octets",
                f"its message would be {size} bytes, over the limit of {limit} bytes (REGFLOW_MAX_MESSAGE_BYTES)"))
            continue
        forms.append((file, form))
    if problems or not files:
        raise FormFileError(problems, paths=paths)
    return forms


class CommandClient:
    def __init__(self, settings: Settings, *, producer: str = "intake", clock: Clock | None = None,
                 role: str | None = None) -> None:
        """`role`: the command line's broker user (intake, support, finance, operations), whose topic permissions
        allow exactly its commands (`REGFLOW_BROKER_URL_<ROLE>`, else `REGFLOW_BROKER_URL`)."""
        scope = "intake" if settings.broker_declare == "own" else ALL
        topology = Topology(settings.namespace, scope=scope, queue_type=settings.queue_type)
        self._publisher = Publisher(settings.broker_url_for(role), topology)
        self._clock = clock or clock_from_spec(settings.clock)
        self.producer = producer
        self._max_bytes = settings.max_message_bytes

    def __enter__(self) -> Self:
        self._publisher.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._publisher.__exit__(exc_type, exc, tb)

    def send(self, message_type: str, payload: Contract, registration_id: str | None) -> Envelope:
        """Publish a command; its `event_id` is the command id its decision is recorded under."""
        envelope = build_envelope(message_type, payload, registration_id, producer=self.producer,
                                  occurred_at=self._clock.now())
        self.publish(envelope)
        return envelope

    def publish(self, envelope: Envelope) -> None:
        """Publish an envelope built before: the HTTP intake API stores it, commits, then publishes it, and a retry
        publishes the very same one again (same event id: the consumer's inbox drops the duplicate)."""
        size = envelope_size(envelope)
        if size > self._max_bytes:  # the consumers would park it: say so before sending
            raise MessageTooLargeError(too_large_message(envelope.type, size, self._max_bytes))
        self._publisher.publish(envelope, mandatory=True)

    def submit_form(self, form: RegistrationForm, registration_id: str | None = None) -> Envelope:
        """A new form (a new id is made when none is given) or a corrected one (same id)."""
        return self.send("cmd.registration.submit", SubmitRegistration(form=form),
                         registration_id or str(uuid4()))

    def record_signature(self, registration_id: str, signature: Signature) -> Envelope:
        return self.send("cmd.registration.sign", RecordSignature(signature=signature), registration_id)

    def hold_session(self, session_id: str, held_on: date, absent_emails: list[str] | None = None, *,
                     requested_by: str | None = None, reason: str | None = None) -> Envelope:
        """`requested_by`: who records it, named in each registration's history; `reason`: why, when the
        trainer has not signed the attendance sheet (the payments consumer refuses it without one)."""
        return self.send("cmd.session.hold", HoldSession(
            session_id=session_id, held_on=held_on, absent_emails=absent_emails or [],
            requested_by=requested_by, reason=reason), None)

    def cancel_session(self, session_id: str, reason: str) -> Envelope:
        return self.send("cmd.session.cancel", CancelSession(session_id=session_id, reason=reason), None)

    def move_session(self, session_id: str, to_session_id: str, reason: str) -> Envelope:
        return self.send("cmd.session.move", MoveSession(session_id=session_id, to_session_id=to_session_id,
                                                         reason=reason), None)

    def correct_invoice(self, invoice_number: str, reason: str, client: ClientOrganisation | None = None
                        ) -> Envelope:
        return self.send("cmd.invoice.correct", CorrectInvoice(invoice_number=invoice_number, reason=reason,
                                                               client=client), None)

    def replace_participant(self, registration_id: str, replaced_email: str, replacement: Participant, *,
                            requested_by: str) -> Envelope:
        return self.send("cmd.registration.replace_participant", ReplaceParticipant(
            replaced_email=replaced_email, replacement=replacement, requested_by=requested_by), registration_id)

    def record_payment(self, *, payment_id: str, invoice_number: str | None, amount: Decimal,
                       received_on: date, payer: str | None = None, means: str = "transfer",
                       requested_by: str | None = None) -> Envelope:
        """`requested_by`: who in finance records it, named in the history when it settles the invoice."""
        payment = RecordPayment.model_validate({
            "payment_id": payment_id, "invoice_number": invoice_number, "amount": amount,
            "received_on": received_on, "payer": payer, "means": means, "requested_by": requested_by})
        return self.send("cmd.payment.record", payment, None)
