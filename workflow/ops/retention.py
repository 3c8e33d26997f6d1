"""The retention report's items, read from the database, then dated by `workflow.domain.retention`
(`regflow retention report`): the accounting documents one by one, the certificates, and per session each kind of
record that supports them. Instants are read as the day they were in Paris."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.payment_rules import paris_date
from workflow.domain.retention import Item, Kind, Paid, accounting_item, evidence_item, paid
from workflow.persistence.orm import (
    AttendanceLineRow,
    AttendanceMarkRow,
    CertificateRow,
    CreditNoteRow,
    InvoiceRow,
    JoinRecordRow,
    ParticipantAccessRow,
    PaymentRow,
    ReceivableRow,
    SessionRecordRow,
    SignedSheetRow,
)


def _accounting(session: Session) -> list[Item]:
    documents = [(Kind.INVOICE, select(InvoiceRow.number, InvoiceRow.issued_on)),
                 (Kind.CREDIT_NOTE, select(CreditNoteRow.number, CreditNoteRow.issued_on)),
                 (Kind.PAYMENT, select(PaymentRow.payment_id, PaymentRow.received_on))]
    return [accounting_item(kind, identifier, dated)
            for kind, query in documents for identifier, dated in session.execute(query)]


def _payments(session: Session) -> dict[str, Paid]:
    """Per registration: its invoices' receivables (None: not opened yet) and the payments matched to them."""
    statuses: defaultdict[str, list[str | None]] = defaultdict(list)
    for registration_id, status in session.execute(
            select(InvoiceRow.registration_id, ReceivableRow.status)
            .outerjoin(ReceivableRow, ReceivableRow.invoice_number == InvoiceRow.number)):
        statuses[registration_id].append(status)
    received: defaultdict[str, list[date]] = defaultdict(list)
    for registration_id, on in session.execute(
            select(InvoiceRow.registration_id, PaymentRow.received_on)
            .join(PaymentRow, PaymentRow.invoice_number == InvoiceRow.number).where(PaymentRow.matched)):
        received[registration_id].append(on)
    return {rid: paid(rid, found, received[rid]) for rid, found in statuses.items()}


def _day(value: date | datetime) -> date:
    return paris_date(value) if isinstance(value, datetime) else value


def _per_session(session: Session) -> dict[Kind, dict[str, tuple[date, int]]]:
    """Per kind of record, per session: the day of its latest record (Paris) and how many there are."""
    grouped: list[tuple[Kind, Any, Any]] = [
        (Kind.SIGNED_SHEET, SignedSheetRow.session_id, SignedSheetRow.signed_at),
        (Kind.SERVICE_FAIT, SessionRecordRow.session_id, SessionRecordRow.recorded_at),
        (Kind.ATTENDANCE_MARKS, AttendanceMarkRow.session_id, AttendanceMarkRow.corrected_at),
        (Kind.ATTENDANCE_LINES, AttendanceLineRow.session_id, AttendanceLineRow.imported_at),
        (Kind.JOIN_RECORDS, JoinRecordRow.session_id, JoinRecordRow.joined_at)]
    found: dict[Kind, dict[str, tuple[date, int]]] = {}
    for kind, session_id, at in grouped:
        rows = session.execute(select(session_id, func.max(at), func.count()).group_by(session_id))
        found[kind] = {sid: (_day(latest), count) for sid, latest, count in rows}
    return found


def _concerned(session: Session) -> defaultdict[str, set[str]]:
    """The registrations a session's records support: those holding a seat not revoked, and those certified."""
    concerned: defaultdict[str, set[str]] = defaultdict(set)
    for query in (select(ParticipantAccessRow.session_id, ParticipantAccessRow.registration_id)
                  .where(ParticipantAccessRow.status == "active"),
                  select(CertificateRow.session_id, CertificateRow.registration_id)):
        for session_id, registration_id in session.execute(query):
            concerned[session_id].add(registration_id)
    return concerned


def _unknown(registration_id: str) -> Paid:
    return Paid(registration_id, in_full=False, last_payment_on=None)  # not invoiced (yet): nothing paid


def _evidence(session: Session, payments: dict[str, Paid]) -> Iterable[Item]:
    def of(registration_ids: Iterable[str]) -> list[Paid]:
        return [payments.get(rid) or _unknown(rid) for rid in registration_ids]

    for number, registration_id, issued_on in session.execute(
            select(CertificateRow.number, CertificateRow.registration_id, CertificateRow.issued_on)):
        yield evidence_item(Kind.CERTIFICATE, number, issued_on, of([registration_id]))
    concerned = _concerned(session)
    per_session = _per_session(session)
    latest: dict[str, date] = {}
    for kind, sessions in per_session.items():
        for session_id, (dated, count) in sessions.items():
            latest[session_id] = max(dated, latest.get(session_id, dated))
            yield evidence_item(kind, session_id, dated, of(concerned[session_id]), count=count)
    for session_id in per_session[Kind.SERVICE_FAIT]:  # a held session's, drawn from its records: as long as they
        yield evidence_item(Kind.EVIDENCE_PACK, session_id, latest[session_id], of(concerned[session_id]))


def retention_items(sessions: sessionmaker[Session]) -> list[Item]:
    """Every document the report covers, dated (sorted and filtered by `workflow.domain.retention.report`)."""
    with sessions() as session:
        payments = _payments(session)
        return [*_accounting(session), *_evidence(session, payments)]
