"""Whatever validation accepts is invoiced and mailed; whatever it rejects gets a rejection that is mailed.

Hypothesis generates registration forms around the real catalogue (tests/unit/strategies.py): text of every
script, tricky and refused characters, values at the contract's limits, edge amounts and addresses, 1 to 200
participants. For each form `normalise_form` then `check_form` decide, as the validation consumer does; the
tests follow that decision (`accepted`), whatever the rules are.

Accepted: the invoice is drawn (reportlab), its Factur-X XML is valid against the EN 16931 XSD and embedded
(PDF/A-3), and so is the credit note's; every e-mail the registration causes builds from the templates with the
contexts the notifications consumer gives them, with its attachments (invoice PDF, `.ics`), and serialises as
smtplib sends it (lines of at most 998 octets, one recipient, every value readable again); every row written
fits its database column. Rejected: each message is bounded and holds no refused character, and the rejection
e-mail builds. Pure: no database, no broker, no SMTP server.
"""

from __future__ import annotations

import html
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import facturx
import pytest
from hypothesis import assume, event, given, settings
from icalendar import Calendar
from pypdf import PdfReader
from sqlalchemy import String
from sqlalchemy.orm import Session

from schemas.form import Participant, RegistrationForm
from schemas.limits import refused_character
from schemas.messages import RuleViolation
from tests.unit.strategies import CATALOGUE, Case, examples, registration_cases
from tests.unit.test_form_rules import VALID
from workflow.adapters.calendar_invite import calendar_name
from workflow.adapters.document_store import DocumentKind, DocumentStore, document_name
from workflow.adapters.email_message import build_message, french_date, french_delay, french_time
from workflow.adapters.facturx_xml import cii_xml, facturx_pdf
from workflow.adapters.invoice_pdf import render_pdf
from workflow.adapters.mailroom import Mailroom, idempotency_key
from workflow.bootstrap import seller_of
from workflow.domain.access_links import ACTIVE, REVOKED, new_access_id
from workflow.domain.catalogue import Catalogue
from workflow.domain.form_normalisation import normalise_form, normalise_participant, storable
from workflow.domain.form_rules import check_form, euros
from workflow.domain.identifiers import normalise_email
from workflow.domain.invoice import (
    VAT_EXEMPTION,
    InvoiceDocument,
    credit_note_document,
    invoice_document,
    invoice_number,
    payment_terms,
)
from workflow.domain.payment_rules import due_date
from workflow.persistence.orm import DocumentFileRow, EmailRow, ParticipantAccessRow
from workflow.settings import Settings

pytestmark = pytest.mark.slow  # two minutes of examples: started first on a worker
SETTINGS = Settings(development=True)
SELLER = seller_of(SETTINGS)
NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
SMTP_LINE = 998  # RFC 5321 4.5.3.1.6: octets of a line, CRLF excluded
ICS_LINE = 75  # RFC 5545 3.1: octets of a content line, folded beyond
MAX_MESSAGE = 1_000  # characters of one rule violation's message, whatever the value it quotes
SAMPLED = 2  # participants of a form whose own e-mails (invitation, reminders, move, cancellation) are built


# --- what validation decides ----------------------------------------------------------------------------------


def errors_of(case: Case) -> tuple[RegistrationForm, list[RuleViolation]]:
    """The form as the validation consumer keeps it (normalised, then storable) and the errors that reject it."""
    form = normalise_form(case.form)
    errors = [v for v in check_form(form, case.catalogue, case.today) if v.severity == "error"]
    return storable(form), errors


def accepted(case: Case) -> RegistrationForm | None:
    """The normalised form when validation accepts it, else None (the tests follow `check_form`, whatever
    its rules are)."""
    form, errors = errors_of(case)
    for violation in errors:
        event(f"rejected by {violation.rule}")
    return None if errors else form


def replacement_accepted(case: Case, form: RegistrationForm) -> Participant | None:
    """The replacement support asks for, checked as the validation consumer checks it (the form's participant
    rules, with the newcomer in the first participant's seat); None when refused."""
    newcomer = normalise_participant(Participant.model_validate(case.replacement))
    candidate = form.model_copy(update={"participants": [newcomer, *form.participants[1:]]})
    problems = [e for e in check_form(candidate, case.catalogue, case.today)
                if e.field.startswith("participants[") and e.severity == "error"]
    return None if problems else newcomer


# --- the invoicing consumer's stages, without its database -------------------------------------------------


def issue_invoice(case: Case, form: RegistrationForm, number: str) -> InvoiceDocument:
    """What consumers/invoicing.py `_document` builds."""
    assert form.client.category is not None
    due_on = due_date(form.client.category, sent_on=case.today, received_on=None, service_fait_on=case.session.date,
                      private_term_days=SETTINGS.private_payment_term_days)
    return invoice_document(number=number, issued_on=case.today, due_on=due_on, seller=SELLER,
                            registration_id=case.registration_id, form=form, catalogue=case.catalogue,
                            training=case.training, session=case.session, agreement_mention=SETTINGS.agreement_mention)


def xml_text(root: ET.Element, path: str) -> str | None:
    found = root.find(path, NS)
    return None if found is None else found.text


def facturx_of(doc: InvoiceDocument) -> bytes:
    """Drawn, its XML valid against the Factur-X EN 16931 XSD, embedded as PDF/A-3, read back the same."""
    pdf = render_pdf(doc)
    assert pdf.startswith(b"%PDF-")
    xml = cii_xml(doc)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = ET.fromstring(xml)
    assert xml_text(root, ".//ram:BuyerTradeParty/ram:Name") == doc.buyer.name, "the buyer's name, as written"
    assert xml_text(root, ".//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:LineOne") == doc.buyer.street
    assert xml_text(root, ".//ram:GrandTotalAmount") == f"{doc.total:.2f}"
    document = facturx_pdf(pdf, xml, title=f"{doc.title} {doc.number}")
    name, embedded = facturx.get_xml_from_pdf(document, check_xsd=True)
    assert (name, embedded) == ("factur-x.xml", xml)
    assert PdfReader(io.BytesIO(document)).pages, "a PDF a reader opens"
    return document


class MemoryDocuments(DocumentStore):
    """The document store, in memory: the same names (`facture-2026-000123.pdf`), no disk."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent/documents"))
        self.files: dict[str, bytes] = {}

    def write(self, name: str, content: bytes) -> Path:
        self.files[name] = content
        return self.folder / name

    def read(self, kind: DocumentKind, number: str) -> bytes:
        return self.files[document_name(kind, number)]


# --- the notifications consumer's e-mails, without its database -----------------------------------------------


def fits_its_columns(row: object) -> None:
    """Every string of a row fits its column (PostgreSQL refuses what SQLite would keep)."""
    table = row.__table__  # type: ignore[attr-defined]
    for column in table.columns:
        value = getattr(row, column.key)
        if isinstance(column.type, String) and column.type.length and isinstance(value, str):
            assert len(value) <= column.type.length, (
                f"{table.name}.{column.key} holds {len(value)} characters, its column {column.type.length}")


def serialised(message: EmailMessage) -> bytes:
    """The bytes smtplib's send_message writes (its BytesGenerator, CRLF line ends)."""
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=message.policy).flatten(message, linesep="\r\n")
    return buffer.getvalue()


class Accesses:
    """What Mailroom asks its database session for when it builds an `.ics`: a participant's access; and for a
    document's PDF, none kept in the database (as before migration 0014): it reads the store's copy."""

    def __init__(self) -> None:
        self.rows: dict[str, ParticipantAccessRow] = {}

    def get(self, model: type[ParticipantAccessRow | DocumentFileRow], key: str) -> ParticipantAccessRow | None:
        if model is DocumentFileRow:
            return None
        assert model is ParticipantAccessRow
        return self.rows.get(key)


def full_name(person: Participant | ParticipantAccessRow) -> str:
    """consumers/notifications.py `_full_name`."""
    return " ".join(p for p in (person.civilite, person.first_name, person.last_name) if p)


@dataclass
class Notifications:
    """The e-mails of one registration, built as the outbox builds them at send time."""

    case: Case
    form: RegistrationForm
    catalogue: Catalogue
    now: datetime
    documents: MemoryDocuments = field(default_factory=MemoryDocuments)
    accesses: Accesses = field(default_factory=Accesses)
    built: int = 0

    def __post_init__(self) -> None:
        self.mailroom = Mailroom(SETTINGS, SELLER, self.catalogue.schedule, catalogue_of=lambda _: self.catalogue)
        self.mailroom.documents = self.documents

    @property
    def gestionnaire_name(self) -> str:
        g = self.form.gestionnaire
        return " ".join(p for p in (g.first_name, g.last_name) if p)

    def session(self, session_id: str) -> dict[str, Any]:
        """consumers/notifications.py `session_context`."""
        found = self.catalogue.session(session_id)
        assert found is not None
        training, session = found
        parts = self.catalogue.schedule.parts
        return {"id": session_id, "title": training.title, "date": french_date(session.date),
                "starts": french_time(parts[0].start), "ends": french_time(parts[-1].end),
                "parts": [f"{french_time(p.start)} à {french_time(p.end)}" for p in parts]}

    def reminders(self) -> list[str]:
        return [french_delay(m) for m in sorted(set(SETTINGS.reminder_offsets_minutes), reverse=True)]

    def grant(self, participant: Participant, session_id: str) -> ParticipantAccessRow:
        """consumers/notifications.py `_grant_access`, without the token's hash."""
        access = ParticipantAccessRow(
            id=new_access_id(), registration_id=self.case.registration_id, session_id=session_id,
            email=(participant.email or "").lower(), civilite=participant.civilite, first_name=participant.first_name,
            last_name=participant.last_name, token_hash="0" * 64, status=ACTIVE, sequence=0, created_at=self.now,
            revoked_at=None, revoked_reason=None)
        fits_its_columns(access)
        self.accesses.rows[access.id] = access
        return access

    def active(self) -> list[ParticipantAccessRow]:
        return [a for a in self.accesses.rows.values() if a.status == ACTIVE]

    @staticmethod
    def sample(accesses: list[ParticipantAccessRow]) -> list[ParticipantAccessRow]:
        """The participants whose own e-mails are built: the first and the last. Every participant is in the
        confirmation and on the invoice; over the examples, the first sees every kind of value."""
        return accesses if len(accesses) <= SAMPLED else [*accesses[:SAMPLED - 1], accesses[-1]]

    def send(self, kind: str, recipient: str | None, occurrence: str, context: dict[str, Any], *,
             attachments: list[dict[str, Any]] | None = None, shows: Iterable[str | None] = ()) -> EmailMessage:
        """Queue (as Mailroom.enqueue writes the row: the context through the JSON column) and build (as
        deliver_due does at send time); then check what a reader of the message gets."""
        assert recipient, f"{kind}: nobody to write to"
        key = idempotency_key(self.case.registration_id, kind, recipient, occurrence)
        stored = json.loads(json.dumps(context, ensure_ascii=False).encode("utf-8"))
        row = EmailRow(idempotency_key=key, registration_id=self.case.registration_id, kind=kind,
                       recipient=recipient.strip(), subject="", template=kind, context=stored,
                       attachments=attachments or [], status="pending", attempts=0, next_attempt_at=self.now,
                       last_error=None, message_id="<>", created_at=self.now, sent_at=None)
        row.subject = self.mailroom.render(row).subject[:300]
        row.message_id = f"<{key.encode().hex()[:32]}@{self.mailroom.domain}>"
        fits_its_columns(row)
        message = self.mailroom.message(cast(Session, self.accesses), row, self.now)
        self.check(message, row, [s for s in shows if s])
        self.built += 1
        return message

    def check(self, message: EmailMessage, row: EmailRow, shows: list[str]) -> None:
        data = serialised(message)
        for line in data.split(b"\r\n"):
            assert len(line) <= SMTP_LINE, f"{row.kind}: a line of {len(line)} octets"
        parsed = message_from_bytes(data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        to = [a.addr_spec for a in parsed["To"].addresses]
        assert to == [row.recipient], f"{row.kind} to {row.recipient!r}: the message goes to {to}"
        assert row.recipient.isascii(), "an address any SMTP server takes (no SMTPUTF8 needed)"
        assert parsed["Subject"] == self.mailroom.render(row).subject
        text_part, html_part = parsed.get_body(("plain",)), parsed.get_body(("html",))
        assert text_part is not None
        assert html_part is not None
        text, page = text_part.get_content(), html.unescape(html_part.get_content())
        for value in shows:
            assert value in text, f"{row.kind}: {value!r} is missing from the text"
            assert value in page, f"{row.kind}: {value!r} is missing from the HTML"
        for spec, part in zip(row.attachments, parsed.iter_attachments(), strict=True):
            content = part.get_payload(decode=True)
            assert isinstance(content, bytes)
            if spec["type"] == "ics":
                assert part.get_content_charset() == "utf-8", "a calendar's names decoded as they were written"
                self.check_ics(content, spec)
            else:
                assert content == self.documents.read(spec["type"], spec["number"])

    def check_ics(self, ics: bytes, spec: dict[str, Any]) -> None:
        """Folded at 75 octets without cutting a character, read back with the attendee's name as written."""
        for line in ics.split(b"\r\n"):
            assert len(line) <= ICS_LINE, f"an .ics line of {len(line)} octets"
            line.decode("utf-8")
        calendar = Calendar.from_ical(ics)
        assert str(calendar["method"]) == spec["method"]
        [vevent] = calendar.walk("VEVENT")
        access = self.accesses.rows[spec["access_id"]]
        name = str(vevent["attendee"].params["cn"])
        expected = calendar_name(full_name(access))
        assert name == expected, f"the attendee {expected!r} read back as {name!r}"
        assert str(vevent["attendee"]) == f"mailto:{access.email}"
        assert int(str(vevent["sequence"])) == spec["sequence"]

    # -- the handlers of consumers/notifications.py, one by one --

    def confirmed(self, price: str, total: str) -> None:
        names = [full_name(p) for p in self.form.participants]
        self.send("confirmation", self.form.gestionnaire.email, "1", {
            "gestionnaire_name": self.gestionnaire_name, "client_name": self.form.client.name,
            "registration_id": self.case.registration_id, "session": self.session(self.case.session.id),
            "participants": names, "unit_price": price, "total": total,
            "vat_note": VAT_EXEMPTION if self.case.training.vat == "exempt" else "TTC",
            "reminders": self.reminders()}, shows=[self.gestionnaire_name, self.form.client.name, *names])
        for access in self.sample([self.grant(p, self.case.session.id) for p in self.form.participants]):
            self.invite(access)

    def invite(self, access: ParticipantAccessRow) -> None:
        self.send("invitation", access.email, access.id, {
            "participant_name": full_name(access), "client_name": self.form.client.name,
            "session": self.session(access.session_id), "access_id": access.id, "reminders": self.reminders()},
            attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                          "method": "REQUEST", "sequence": access.sequence}],
            shows=[full_name(access), self.form.client.name])

    def invoiced(self, doc: InvoiceDocument, pdf: bytes, replaces: str | None = None) -> None:
        """The invoice e-mail, its PDF from the document store."""
        self.documents.write(document_name("invoice", doc.number), pdf)
        self.send("invoice", self.form.gestionnaire.email, doc.number, {
            "gestionnaire_name": self.gestionnaire_name, "client_name": self.form.client.name,
            "invoice_number": doc.number, "issued_on": french_date(doc.issued_on), "total": euros(doc.total),
            "is_agreement": self.case.training.invoice_is_training_agreement,
            "payment_terms": payment_terms(self.form, doc.due_on, self.case.session.date), "replaces": replaces,
            "session": self.session(self.case.session.id)},
            attachments=[{"type": "invoice", "number": doc.number}], shows=[self.gestionnaire_name])

    def credited(self, credit: InvoiceDocument, pdf: bytes) -> None:
        assert credit.credited_invoice is not None
        self.documents.write(document_name("credit_note", credit.number), pdf)
        self.send("credit_note", self.form.gestionnaire.email, credit.number, {
            "gestionnaire_name": self.gestionnaire_name, "credit_note_number": credit.number,
            "invoice_number": credit.credited_invoice, "total": euros(credit.total), "reason": credit.reason},
            attachments=[{"type": "credit_note", "number": credit.number}], shows=[self.gestionnaire_name])

    def reminded(self) -> None:
        """Every reminder to the first participant; the last one to the others."""
        offsets = sorted(set(SETTINGS.reminder_offsets_minutes), reverse=True)
        for index, access in enumerate(self.sample(self.active())):
            for offset in offsets if index == 0 else offsets[-1:]:
                self.send("reminder", access.email, f"{access.session_id}@{offset}m", {
                    "participant_name": full_name(access), "session": self.session(access.session_id),
                    "access_id": access.id, "delay": french_delay(offset)}, shows=[full_name(access)])

    def replaced(self, newcomer: Participant, requested_by: str) -> None:
        replaced = self.form.participants[0]
        replacement_name = full_name(newcomer)
        session = self.session(self.case.session.id)
        for access in [a for a in self.active() if a.email == (replaced.email or "").lower()]:
            access.status, access.revoked_at, access.sequence = REVOKED, self.now, access.sequence + 1
            access.revoked_reason = f"replaced by {replacement_name} <{newcomer.email}>, asked by {requested_by}"
            self.send("access_revoked", access.email, access.id, {
                "participant_name": full_name(access), "client_name": self.form.client.name,
                "replacement_name": replacement_name, "session": session},
                attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                              "method": "CANCEL", "sequence": access.sequence}],
                shows=[full_name(access), replacement_name])
        self.invite(self.grant(newcomer, self.case.session.id))
        self.send("participant_replaced", self.form.gestionnaire.email, "event-1", {
            "gestionnaire_name": self.gestionnaire_name, "replaced_name": full_name(replaced),
            "replacement_name": replacement_name, "replacement_email": newcomer.email, "requested_by": requested_by,
            "requested_on": french_date(self.now.date()), "session": session},
            shows=[self.gestionnaire_name, replacement_name, full_name(replaced)])

    def moved(self, to_session_id: str, reason: str) -> None:
        previous = french_date(self.case.session.date)
        session = self.session(to_session_id)
        for access in self.sample(self.active()):
            access.session_id, access.sequence = to_session_id, access.sequence + 1
            self.send("session_moved", access.email, f"{access.id}:{to_session_id}", {
                "participant_name": full_name(access), "session": session, "previous_date": previous,
                "reason": reason, "access_id": access.id},
                attachments=[{"type": "ics", "access_id": access.id, "session_id": to_session_id,
                              "method": "REQUEST", "sequence": access.sequence}], shows=[full_name(access)])
        self.send("session_moved", self.form.gestionnaire.email, to_session_id, {
            "participant_name": self.gestionnaire_name, "session": session, "previous_date": previous,
            "reason": reason, "access_id": None}, shows=[self.gestionnaire_name])

    def cancelled(self, reason: str) -> None:
        session = self.session(self.case.session.id)
        for access in self.sample(self.active()):
            access.status, access.sequence = REVOKED, access.sequence + 1
            self.send("session_cancelled", access.email, access.id, {
                "name": full_name(access), "session": session, "reason": reason, "for_participant": True},
                attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                              "method": "CANCEL", "sequence": access.sequence}], shows=[full_name(access)])
        self.send("session_cancelled", self.form.gestionnaire.email, self.case.session.id, {
            "name": self.gestionnaire_name, "session": session, "reason": reason, "for_participant": False},
            shows=[self.gestionnaire_name])

    def rejected(self, errors: Sequence[RuleViolation]) -> EmailMessage:
        return self.send("rejection", self.form.gestionnaire.email, "event-1", {
            "gestionnaire_name": self.gestionnaire_name, "registration_id": self.case.registration_id,
            "errors": [{"field": e.field, "message": e.message_fr} for e in errors]})


def sample_pdf() -> bytes:
    """One real Factur-X invoice, attached to the e-mails (what an attachment holds does not change how the
    message is built; test_whatever_validation_accepts... draws every accepted form's)."""
    form = RegistrationForm.model_validate(VALID)
    found = CATALOGUE.session(str(form.session_id))
    assert found is not None
    training, session = found
    doc = invoice_document(number="2023-000001", issued_on=date(2023, 9, 1), due_on=date(2023, 10, 1), seller=SELLER,
                           registration_id="r-1", form=form, catalogue=CATALOGUE, training=training, session=session,
                           agreement_mention=SETTINGS.agreement_mention)
    return facturx_of(doc)


SAMPLE_PDF = sample_pdf()


def moment(case: Case) -> datetime:
    return datetime.combine(case.today, day_time(10, 0), tzinfo=case.catalogue.schedule.zone)


# --- the invariants ---------------------------------------------------------------------------------------------


def accepted_form(case: Case) -> RegistrationForm:
    """The test goes on with an accepted form only (and one no known contract gap applies to)."""
    form = accepted(case)
    assume(form is not None)
    assert form is not None
    event(f"{len(form.participants)} participant(s)" if len(form.participants) < 5 else "5+ participants")
    return form


@dataclass(frozen=True)
class Documents:
    """The documents of a registration's life: its invoice; the credit note of a move and the invoice reissued;
    the credit note of a cancellation."""

    invoice: InvoiceDocument
    moved: InvoiceDocument
    reissued: InvoiceDocument
    cancelled: InvoiceDocument
    to_session_id: str


def documents_of(case: Case, form: RegistrationForm) -> Documents:
    year, sequence = case.today.year, case.invoice_sequence
    invoice = issue_invoice(case, form, invoice_number(year, sequence))
    others = [s.id for s in case.training.sessions if s.id != case.session.id]
    to_session = others[0] if others else case.session.id
    moved = credit_note_document(invoice, number=invoice_number(year, sequence + 1),
                                 issued_on=case.today + timedelta(days=1),
                                 reason=f"session déplacée au {to_session} ({case.reason})")  # consumers/invoicing.py
    reissued = issue_invoice(case, form, invoice_number(year, sequence + 2))
    cancelled = credit_note_document(reissued, number=invoice_number(year, sequence + 3),
                                     issued_on=case.today + timedelta(days=2), reason=case.reason)
    return Documents(invoice, moved, reissued, cancelled, to_session)


@settings(max_examples=examples(0.6))  # 60 by default, about 30 s (every EN 16931 rule checked on each)
@given(registration_cases())
def test_whatever_validation_accepts_is_invoiced_and_credited_with_valid_facturx(case: Case) -> None:
    form = accepted_form(case)
    documents = documents_of(case, form)
    assert documents.invoice.total == case.training.price_per_participant * len(form.participants)
    assert documents.invoice.total == form.declared_total
    facturx_of(documents.invoice)
    facturx_of(documents.moved)  # its reason holds the command's whole: the cancellation's is the same text


@settings(max_examples=examples(0.4))  # 40 by default, about 30 s: some twenty e-mails each
@given(registration_cases())
def test_every_email_an_accepted_registration_causes_builds_and_reads_back(case: Case) -> None:
    form = accepted_form(case)
    documents = documents_of(case, form)
    mail = Notifications(case, form, case.catalogue, moment(case))
    price = case.training.price_per_participant
    mail.confirmed(euros(price), euros(price * len(form.participants)))
    mail.invoiced(documents.invoice, SAMPLE_PDF)
    mail.reminded()

    newcomer = replacement_accepted(case, form)
    event("replacement accepted" if newcomer else "replacement refused")
    if newcomer is not None:
        mail.replaced(newcomer, case.requested_by)

    mail.credited(documents.moved, SAMPLE_PDF)
    mail.moved(documents.to_session_id, case.reason)
    mail.invoiced(documents.reissued, SAMPLE_PDF, replaces=documents.invoice.number)
    mail.credited(documents.cancelled, SAMPLE_PDF)
    mail.cancelled(case.reason)
    assert mail.built >= 8 + 4 * min(len(form.participants), SAMPLED)


@settings(max_examples=examples(1))  # 100 by default, about 6 s
@given(registration_cases(hostility=4))
def test_what_validation_rejects_gets_bounded_messages_and_a_rejection_that_builds(case: Case) -> None:
    form, errors = errors_of(case)
    assume(errors)
    for violation in errors:
        event(f"rejected by {violation.rule}")
        for message in (violation.message_fr, violation.message_en):
            assert len(message) < MAX_MESSAGE, f"{violation.rule}: a message of {len(message)} characters"
            assert refused_character(message) is None, f"{violation.rule} quotes a refused character back"
    if normalise_email(form.gestionnaire.email or "") != form.gestionnaire.email:
        event("gestionnaire's address refused: no rejection can reach it")  # Mailroom.enqueue queues none
        return
    rejection = serialised(Notifications(case, form, case.catalogue, moment(case)).rejected(errors))
    assert len(rejection) < 200_000
    text = message_from_bytes(rejection, policy=policy.default).get_body(("plain",))
    assert isinstance(text, EmailMessage)
    body = text.get_content().replace("\r\n", "").replace("\n", "")
    assert refused_character(body) is None, "no control character mailed back"


# --- the edges, one by one --------------------------------------------------------------------------------------


def case_of(data: dict[str, Any]) -> Case:
    """A Case around a form given as JSON, to the sample form's session, validated on 1 September 2023."""
    form = RegistrationForm.model_validate(data)
    found = CATALOGUE.session(str(form.session_id))
    assert found is not None
    return Case(form=form, registration_id="r" * 64, catalogue=CATALOGUE, training=found[0], session=found[1],
                today=date(2023, 9, 1), invoice_sequence=999_999_996,
                replacement={"civilite": "Mme", "first_name": "Inès", "last_name": "ROY", "email": "i.roy@x.fr"},
                reason="‱" * 500, requested_by="‱" * 100)


def longest(glyph: str, participants: int) -> dict[str, Any]:
    """Every field at its contract length in one glyph, `participants` participants with the longest addresses."""
    def address(index: int) -> str:
        local = f"p{index:03d}".ljust(64, "a")
        return f"{local}@{'b' * 63}.{'c' * 63}.{'d' * 58}.fr"  # 64 + 1 + 189 = 254 characters

    data: dict[str, Any] = json.loads(json.dumps(VALID))
    data["client"].update({
        "name": glyph * 200, "siret": "22940028800010", "chorus_service_code": glyph * 100,
        "chorus_commitment_number": glyph * 50,
        "address": {"street": glyph * 200, "complement": glyph * 200, "postal_code": "94054", "city": glyph * 100}})
    data["gestionnaire"].update({"email": address(999), "first_name": glyph * 100, "last_name": glyph * 100,
                                 "service": glyph * 200, "phone": "+33 (0)1 43 99 70 00"})
    data["participants"] = [{"civilite": "Mme", "first_name": glyph * 100, "last_name": glyph * 100,
                             "email": address(i)} for i in range(participants)]
    data["declared_participant_count"] = participants
    data["declared_total"] = str(595 * participants)
    data["signature"].update({"place": glyph * 100, "signatory": glyph * 200, "method": "electronic",
                              "electronic_reference": glyph * 200})
    assert len(address(0)) == 254
    return data


def test_the_longest_form_in_the_widest_glyph_is_invoiced_and_confirmed() -> None:
    """200 participants, every field at its limit, in DejaVu Sans's widest glyph (U+2031, 1.7 em): the parties'
    block runs over a page and the invoice still draws; the confirmation lists them all."""
    case = case_of(longest("‱", 200))
    form = accepted(case)
    assert form is not None, errors_of(case)[1][:3]
    documents = documents_of(case, form)
    reader = PdfReader(io.BytesIO(facturx_of(documents.invoice)))
    assert len(reader.pages) >= 3
    facturx_of(documents.moved)
    mail = Notifications(case, form, case.catalogue, moment(case))
    price = case.training.price_per_participant
    mail.confirmed(euros(price), euros(price * 200))
    mail.invoiced(documents.invoice, SAMPLE_PDF)


def test_invoices_embed_their_font_and_show_latin_greek_and_cyrillic_names() -> None:
    """PDF/A-3 (Factur-X) wants every font embedded: DejaVu Sans is, and it shows what Helvetica cannot.
    Needs Debian's fonts-dejavu-core (scripts/bootstrap installs it)."""
    data = json.loads(json.dumps(VALID))
    names = ["Łukasz", "Ærøskøbing", "Ğülşen", "Νικόλαος", "ΠΑΠΑΔΟΠΟΥΛΟΣ", "Анастасия", "ВОЛКОВА", "Nguyễn"]
    data["client"]["name"] = "Département Œuvre – Ελλάδα – Москва"
    data["participants"] = [{"civilite": "Mme", "first_name": first, "last_name": last, "email": f"p{i}@x.fr"}
                            for i, (first, last) in enumerate(zip(names[::2], names[1::2], strict=True))]
    data["declared_participant_count"], data["declared_total"] = 4, "2380.00"
    case = case_of(data)
    form = accepted(case)
    assert form is not None, errors_of(case)[1]
    pdf = facturx_of(issue_invoice(case, form, "2023-000001"))
    reader = PdfReader(io.BytesIO(pdf))
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        resources = cast(dict[str, Any], page["/Resources"])
        for reference in cast(dict[str, Any], resources["/Font"]).values():
            font = reference.get_object()
            descriptor = font.get("/FontDescriptor")
            fonts[str(font["/BaseFont"])] = descriptor is not None and "/FontFile2" in descriptor.get_object()
    assert fonts, "fonts listed"
    assert all(fonts.values()), f"every font embedded: {fonts}"
    assert any("DejaVuSans" in name for name in fonts), f"DejaVu Sans (fonts-dejavu-core) in use: {fonts}"
    text = " ".join(page.extract_text() for page in reader.pages)
    for shown in ["Département Œuvre – Ελλάδα – Москва", *(p.first_name or "" for p in form.participants),
                  *(p.last_name or "" for p in form.participants)]:
        assert shown in text, f"{shown!r} is not in the PDF's text"


def test_a_form_of_200_kb_fields_is_rejected_at_once_with_bounded_messages() -> None:
    """Each text field 200,000 characters long, control characters included: every rule answers quickly, each
    message quotes at most a few dozen characters, the rejection e-mail is small."""
    data = longest("x", 3)
    huge = ("Ab\x1b\u202e" * 50_000)[:200_000]

    def flood(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: v if k in ("training_id", "session_id", "method", "category", "signed_on", "declared_total")
                    else flood(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [flood(item) for item in node]
        return huge if isinstance(node, str) else node

    data = flood(data)
    data["gestionnaire"]["email"] = "formation@valdemarne.fr"
    data["declared_total"] = "1E+100000000"  # formatted in full, a hundred million digits
    case = case_of(data)
    form, errors = errors_of(case)  # formatted in full, the amount would not fit in memory: it is never computed
    assert errors
    for violation in errors:
        for message in (violation.message_fr, violation.message_en):
            assert len(message) < MAX_MESSAGE
            assert refused_character(message) is None
    rejection = serialised(Notifications(case, form, case.catalogue, moment(case)).rejected(errors))
    assert len(rejection) < 200_000


def test_an_address_a_header_would_read_as_another_is_never_sent() -> None:
    """build_message refuses a recipient that the header would give back otherwise: several addresses, a display
    name, an RFC 2047 encoded word (the standard library reads `=?utf-8?q?x?=@example.com` as `x@example.com`)."""
    mailroom = Mailroom(SETTINGS, SELLER, CATALOGUE)
    rendered = mailroom.templates.render("rejection", {"gestionnaire_name": "", "registration_id": "r-1",
                                                       "errors": [], "org": mailroom.org})
    for recipient in ["=?utf-8?q?x?=@example.com", "a@b.fr, c@d.fr", "Jean <jean@x.fr>"]:
        with pytest.raises(ValueError, match="would be read as"):
            build_message(rendered, sender_name=SELLER.name, sender_address=SELLER.email, recipient=recipient,
                          message_id="<1@x>", sent_at=datetime(2023, 9, 1, tzinfo=UTC), attachments=[])


def test_an_attendee_whose_name_ends_with_a_backslash_keeps_the_address_in_the_ics() -> None:
    """icalendar would write `CN=LEROY\\:mailto:…` unquoted and read the name `LEROY:mailto`, the address lost."""
    data = json.loads(json.dumps(VALID))
    data["participants"][0]["last_name"] = "LEROY\\"
    case = case_of(data)
    form = accepted(case)
    assert form is not None
    mail = Notifications(case, form, case.catalogue, moment(case))
    mail.confirmed("595,00 €", "1 190,00 €")  # the invitations' .ics are read back: name and address
    assert mail.built == 3
