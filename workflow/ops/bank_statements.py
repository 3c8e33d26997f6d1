"""Bank statements imported and matched to invoices (issue #20, point 4): `regflow bank`, the Payments page.

One transaction records the file's new lines, their outcome and, for a matched one, the `cmd.payment.record`
commands (one per invoice of a split), built with an id derived from the bank's reference: a re-run sends the
very same commands, and the payments consumer counts a payment id once. They are sent after that commit
(`to_send`, then `mark_sent`): a broker away leaves them to send, nothing else is lost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID, uuid5

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from schemas.commands import RecordPayment
from schemas.envelope import Envelope
from schemas.form import ClientCategory
from workflow.adapters.bank_csv import parse_csv
from workflow.adapters.camt053 import parse_camt053
from workflow.domain.bank_matching import (
    MATCHED,
    PROPOSED,
    UNMATCHED,
    Allocation,
    InvoiceDue,
    Matching,
    is_treasury,
    match,
)
from workflow.domain.bank_statement import ParsedStatement, StatementLine
from workflow.domain.clock import Clock
from workflow.domain.errors import StatementFileError
from workflow.domain.receivables import OPEN, SETTLED
from workflow.persistence.orm import BankImportRow, BankLineRow, PaymentRow, ReceivableRow, RegistrationRow

CONFIRMED: Final = "confirmed"
REJECTED: Final = "rejected"
FORMATS: Final = ("camt053", "csv")
BANK_ACTOR: Final = "bank-import"
_PAYMENT_IDS: Final = UUID("6f1d3c1e-2a55-4d8e-9a43-0b7c1a2f5e90")  # the namespace of the commands' ids


@dataclass
class ImportReport:
    """What an import did: every new line with its outcome, the lines already known, and what was not read."""

    import_id: int
    file_name: str
    file_sha256: str
    format: str
    file_seen_before: bool
    lines: list[dict[str, Any]] = field(default_factory=list)
    known: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        counted = dict.fromkeys((MATCHED, PROPOSED, UNMATCHED), 0)
        for line in self.lines:
            counted[line["outcome"]] += 1
        return {**counted, "new": len(self.lines), "known": self.known, "problems": len(self.problems),
                "ignored": sum(self.ignored.values())}


def parse_statement(data: bytes, fmt: str | None = None) -> ParsedStatement:
    """By the format given, else by the first bytes: XML is CAMT.053, anything else is read as CSV."""
    if fmt is None:
        fmt = "camt053" if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else "csv"
    if fmt not in FORMATS:
        raise StatementFileError(f"format inconnu {fmt}", f"unknown format {fmt}")
    return parse_camt053(data) if fmt == "camt053" else parse_csv(data)


def payment_id(account: str, bank_reference: str, rank: int) -> str:
    """Finance's payment id of the `rank`-th invoice a bank line pays: the same line always gives the same id."""
    digest = hashlib.sha256(f"{account}\x1f{bank_reference}".encode()).hexdigest()[:10]
    return f"bank:{bank_reference[:40]}:{digest}:{rank}"


def invoices_due(session: Session) -> list[InvoiceDue]:
    """Every receivable, what it still owes once the bank lines not yet recorded as payments are counted."""
    rows = session.execute(select(ReceivableRow, RegistrationRow.form).join(
        RegistrationRow, RegistrationRow.id == ReceivableRow.registration_id)).all()
    recorded = set(session.scalars(select(PaymentRow.payment_id).where(PaymentRow.payment_id.like("bank:%"))))
    in_flight: dict[str, Decimal] = {}
    for line in session.scalars(select(BankLineRow).where(BankLineRow.outcome.in_((MATCHED, CONFIRMED)))):
        for a in line.allocations:
            if a["payment_id"] not in recorded:
                in_flight[a["invoice"]] = in_flight.get(a["invoice"], Decimal("0.00")) + Decimal(a["amount"])
    due = []
    for receivable, form in rows:
        client = (form or {}).get("client") or {}
        outstanding = receivable.total - receivable.paid - in_flight.get(receivable.invoice_number, Decimal("0.00"))
        status = receivable.status if receivable.status != OPEN or outstanding > 0 else SETTLED
        due.append(InvoiceDue(
            number=receivable.invoice_number, issued_on=receivable.sent_on, outstanding=max(outstanding, Decimal(0)),
            status=status, client_name=receivable.client_name, client_siret=client.get("siret"),
            client_is_public=ClientCategory(receivable.client_category).is_public))
    return due


def _after(invoices: list[InvoiceDue], allocations: tuple[Allocation, ...]) -> list[InvoiceDue]:
    """The invoices once a line's split is counted: a later line of the same file cannot pay them twice."""
    paid = {a.invoice_number: a.amount for a in allocations}
    out = []
    for i in invoices:
        left = max(i.outstanding - paid.get(i.number, Decimal("0.00")), Decimal("0.00"))
        out.append(replace(i, outstanding=left, status=i.status if left > 0 else SETTLED) if i.number in paid else i)
    return out


def _envelopes(row: BankLineRow, now: datetime, by: str) -> list[dict[str, Any]]:
    built = []
    for a in row.allocations:
        command = RecordPayment(payment_id=a["payment_id"], invoice_number=a["invoice"], amount=Decimal(a["amount"]),
                                received_on=row.booked_on, payer=row.payer_name, requested_by=by,
                                means="mandat_administratif" if is_treasury(row.payer_name) else "transfer")
        event_id = uuid5(_PAYMENT_IDS, a["payment_id"])
        built.append(Envelope(event_id=event_id, type="cmd.payment.record", occurred_at=now, correlation_id=event_id,
                              producer="finance", payload=command.model_dump(mode="json")).model_dump(mode="json"))
    return built


def _row(line: StatementLine, matching: Matching, import_id: int, now: datetime) -> BankLineRow:
    credit = line.credit
    row = BankLineRow(
        account=line.account, bank_reference=credit.bank_reference, import_id=import_id, source_line=line.source_line,
        booked_on=credit.booked_on, amount=credit.amount, payer_name=credit.payer_name, payer_id=credit.payer_id,
        remittance=credit.remittance, outcome=matching.outcome, rule=matching.rule, reason_fr=matching.reason_fr[:500],
        reason_en=matching.reason_en[:500], allocations=[
            {"invoice": a.invoice_number, "amount": str(a.amount),
             "payment_id": payment_id(line.account, credit.bank_reference, rank)}
            for rank, a in enumerate(matching.allocations, 1)],
        envelopes=[], sent_at=None, decided_by=None, decided_at=None, created_at=now)
    if matching.outcome == MATCHED:
        row.envelopes = _envelopes(row, now, BANK_ACTOR)
    return row


def import_statement(sessions: sessionmaker[Session], clock: Clock, data: bytes, *, file_name: str,
                     fmt: str | None = None, by: str | None = None) -> ImportReport:
    """Parse (a refused file: StatementFileError, nothing recorded), then record the new lines with their outcome in
    one transaction. The same line in a later file, or twice in one, is counted once (the bank's key)."""
    parsed = parse_statement(data, fmt)
    try:
        return _record(sessions, clock, parsed, hashlib.sha256(data).hexdigest(), file_name=file_name, by=by)
    except IntegrityError:  # another import recorded some of these lines since we looked: ours rolled back
        raise StatementFileError("une autre importation a enregistré les mêmes lignes au même moment : relancez",
                                 "another import recorded the same lines at the same time: run it again") from None


def _record(sessions: sessionmaker[Session], clock: Clock, parsed: ParsedStatement, sha: str, *, file_name: str,
            by: str | None) -> ImportReport:
    now = clock.now()
    with sessions.begin() as session:
        seen = session.scalars(select(BankImportRow.id).where(BankImportRow.file_sha256 == sha)).first() is not None
        accounts = {ln.account for ln in parsed.lines}
        known = {(a, r) for a, r in session.execute(select(BankLineRow.account, BankLineRow.bank_reference).where(
            BankLineRow.account.in_(accounts)))}
        batch = BankImportRow(file_sha256=sha, file_name=file_name[:255], format=parsed.format, imported_at=now,
                              imported_by=by, lines_new=0, lines_known=0,
                              problems=[{"line": p.source_line, "fr": p.fr, "en": p.en} for p in parsed.problems],
                              ignored=parsed.ignored)
        session.add(batch)
        session.flush()
        report = ImportReport(batch.id, file_name, sha, parsed.format, seen, problems=batch.problems,
                              ignored=parsed.ignored)
        invoices = invoices_due(session)
        for line in parsed.lines:
            key = (line.account, line.credit.bank_reference)
            if key in known:
                report.known += 1
                continue
            known.add(key)
            matching = match(line.credit, invoices)
            if matching.outcome == MATCHED:
                invoices = _after(invoices, matching.allocations)
            row = _row(line, matching, batch.id, now)
            session.add(row)
            session.flush()
            report.lines.append(line_view(row))
        batch.lines_new, batch.lines_known = len(report.lines), report.known
    return report


def line_view(row: BankLineRow) -> dict[str, Any]:
    return {"id": row.id, "account": row.account, "bank_reference": row.bank_reference, "line": row.source_line,
            "booked_on": row.booked_on.isoformat(), "amount": str(row.amount), "payer": row.payer_name,
            "payer_id": row.payer_id, "remittance": row.remittance, "outcome": row.outcome, "rule": row.rule,
            "reason_fr": row.reason_fr, "reason_en": row.reason_en, "allocations": row.allocations,
            "to_send": bool(row.envelopes) and row.sent_at is None, "decided_by": row.decided_by}


def bank_lines(sessions: sessionmaker[Session], outcome: str | None = None) -> list[dict[str, Any]]:
    """The lines, each share of a split with whether the payments consumer recorded it and its anomalies
    (unknown invoice, overpaid, before service fait, invoice credited), as `regflow payments` shows them."""
    with sessions() as session:
        query = select(BankLineRow).order_by(BankLineRow.booked_on, BankLineRow.id)
        if outcome is not None:
            query = query.where(BankLineRow.outcome == outcome)
        rows = list(session.scalars(query))
        ids = [a["payment_id"] for r in rows for a in r.allocations]
        recorded = {p.payment_id: list(p.anomalies) for p in session.scalars(
            select(PaymentRow).where(PaymentRow.payment_id.in_(ids)))} if ids else {}
        views = [line_view(r) for r in rows]
    for view in views:
        view["allocations"] = [{**a, "recorded": a["payment_id"] in recorded,
                                "anomalies": recorded.get(a["payment_id"], [])} for a in view["allocations"]]
    return views


def to_send(sessions: sessionmaker[Session]) -> list[tuple[int, list[Envelope]]]:
    """The lines whose payments are decided and not yet confirmed sent by the broker, with their commands."""
    with sessions() as session:
        rows = session.scalars(select(BankLineRow).where(BankLineRow.sent_at.is_(None), BankLineRow.outcome.in_(
            (MATCHED, CONFIRMED))).order_by(BankLineRow.id))
        return [(r.id, [Envelope.model_validate(e) for e in r.envelopes]) for r in rows if r.envelopes]


def mark_sent(sessions: sessionmaker[Session], line_id: int, clock: Clock) -> None:
    with sessions.begin() as session:
        row = session.get(BankLineRow, line_id)
        if row is not None and row.sent_at is None:
            row.sent_at = clock.now()


class BankLineDecisionError(ValueError):
    """Only a proposed line is confirmed or rejected; `fr` says why not, for the page."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.fr = fr


def decide(sessions: sessionmaker[Session], clock: Clock, line_id: int, *, confirm: bool, by: str) -> BankLineRow:
    """Finance confirms a proposal (its payments are then built, to send) or rejects it (kept, with who)."""
    with sessions.begin() as session:
        query = select(BankLineRow).where(BankLineRow.id == line_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        row = session.scalars(query).first()
        if row is None:
            raise BankLineDecisionError(f"aucune ligne bancaire {line_id}", f"no bank line {line_id}")
        if row.outcome != PROPOSED:
            raise BankLineDecisionError(f"la ligne {line_id} est « {row.outcome} », pas proposée",
                                        f"line {line_id} is {row.outcome}, not proposed")
        now = clock.now()
        row.outcome, row.decided_by, row.decided_at = (CONFIRMED if confirm else REJECTED), by, now
        if confirm:
            row.envelopes = _envelopes(row, now, by)
        session.flush()
        session.expunge(row)
    return row
