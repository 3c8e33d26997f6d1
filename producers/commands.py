"""The Python API that the upstream intake, support, operations and finance use to send commands.

    with CommandClient(Settings()) as client:
        envelope = client.submit_form(form)            # returns once the broker confirmed it
        client.record_signature(envelope.registration_id, signature)

Every command is checked against its schema before it is sent (a bad one raises, nothing is sent),
published persistent and mandatory, and confirmed by the broker.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Self
from uuid import uuid4

from pydantic import ValidationError

from schemas.form import ClientOrganisation, Contract, Participant, RegistrationForm, Signature
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
from workflow.broker import Publisher
from workflow.clock import Clock, clock_from_spec
from workflow.settings import Settings
from workflow.topology import ALL, Topology


class FormFileError(ValueError):
    """One or more files are not registration forms; nothing was sent."""


def load_forms(paths: list[Path]) -> list[tuple[Path, RegistrationForm]]:
    """Every form of the given files and folders (*.json), checked against the schema before anything
    is sent: one bad file and the whole batch is refused, with each problem named."""
    files = [f for p in paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    forms, problems = [], []
    for file in files:
        try:
            forms.append((file, RegistrationForm.model_validate_json(file.read_text(encoding="utf-8"))))
        except OSError as exc:
            problems.append(f"{file}: cannot be read: {exc.strerror}")
        except ValidationError as exc:
            details = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
            problems.append(f"{file}: not a registration form: {details}")
    if not files:
        problems.append(f"no form found in {', '.join(map(str, paths))}")
    if problems:
        raise FormFileError("nothing sent:\n" + "\n".join(problems))
    return forms


class MessageTooLargeError(ValueError):
    """A command over `max_message_bytes`: refused at the source rather than parked by a consumer."""


class CommandClient:
    def __init__(self, settings: Settings, *, producer: str = "intake", clock: Clock | None = None) -> None:
        scope = "intake" if settings.broker_declare == "own" else ALL
        self._publisher = Publisher(settings.broker_url, Topology(settings.namespace, scope=scope))
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
        event_id = uuid4()
        envelope = Envelope(
            event_id=event_id, type=message_type, occurred_at=self._clock.now(),
            registration_id=registration_id, correlation_id=event_id, producer=self.producer,
            payload=payload.model_dump(mode="json"))
        size = len(envelope.model_dump_json().encode())
        if size > self._max_bytes:  # the consumers would park it: say so before sending
            raise MessageTooLargeError(f"{message_type} of {size} bytes is over the limit of {self._max_bytes} "
                                       f"bytes (REGFLOW_MAX_MESSAGE_BYTES): nothing sent")
        self._publisher.publish(envelope, mandatory=True)
        return envelope

    def submit_form(self, form: RegistrationForm, registration_id: str | None = None) -> Envelope:
        """A new form (a new id is made when none is given) or a corrected one (same id)."""
        return self.send("cmd.registration.submit", SubmitRegistration(form=form),
                         registration_id or str(uuid4()))

    def record_signature(self, registration_id: str, signature: Signature) -> Envelope:
        return self.send("cmd.registration.sign", RecordSignature(signature=signature), registration_id)

    def hold_session(self, session_id: str, held_on: date, absent_emails: list[str] | None = None, *,
                     requested_by: str | None = None) -> Envelope:
        """`requested_by`: who in operations records it, named in each registration's history."""
        return self.send("cmd.session.hold", HoldSession(
            session_id=session_id, held_on=held_on, absent_emails=absent_emails or [],
            requested_by=requested_by), None)

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
