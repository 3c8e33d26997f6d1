"""The BPF's rows, read from the database, then handed to `workflow.domain.bpf` (`regflow bpf`, the back
office's BPF page): invoices and credit notes issued in the year, the sessions held in it, their seats."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.bpf import BpfFigures, HeldSession, Issued, Seat, bpf_figures
from workflow.domain.catalogue import Schedule
from workflow.persistence.orm import (
    CreditNoteRow,
    InvoiceRow,
    ParticipantAccessRow,
    ReceivableRow,
    RegistrationRow,
    SessionRecordRow,
    TrainingRow,
    TrainingSessionRow,
)


def _form_category(form: dict[str, Any] | None) -> str | None:
    client = (form or {}).get("client")
    category = client.get("category") if isinstance(client, dict) else None
    return category if isinstance(category, str) else None


def _documents(session: Session, first: date, last: date) -> list[Issued]:
    """The receivable keeps the category the invoice was issued to (a corrected invoice may have another);
    until the payments consumer opened it, the registration's form says."""
    invoices = session.execute(
        select(InvoiceRow.number, InvoiceRow.issued_on, InvoiceRow.total, ReceivableRow.client_category,
               RegistrationRow.form)
        .outerjoin(ReceivableRow, ReceivableRow.invoice_number == InvoiceRow.number)
        .outerjoin(RegistrationRow, RegistrationRow.id == InvoiceRow.registration_id)
        .where(InvoiceRow.issued_on.between(first, last)))
    credits = session.execute(  # on the line of the invoice it cancels
        select(CreditNoteRow.number, CreditNoteRow.issued_on, CreditNoteRow.total, ReceivableRow.client_category,
               RegistrationRow.form)
        .outerjoin(ReceivableRow, ReceivableRow.invoice_number == CreditNoteRow.invoice_number)
        .outerjoin(RegistrationRow, RegistrationRow.id == CreditNoteRow.registration_id)
        .where(CreditNoteRow.issued_on.between(first, last)))
    return [*(Issued(n, on, total, category or _form_category(form)) for n, on, total, category, form in invoices),
            *(Issued(n, on, total, category or _form_category(form), credit_note=True)
              for n, on, total, category, form in credits)]


def _held(session: Session, first: date, last: date) -> list[HeldSession]:
    rows = session.execute(
        select(SessionRecordRow.session_id, TrainingSessionRow.training_id, SessionRecordRow.held_on,
               TrainingRow.format, TrainingSessionRow.join_url)
        .outerjoin(TrainingSessionRow, TrainingSessionRow.id == SessionRecordRow.session_id)
        .outerjoin(TrainingRow, TrainingRow.id == TrainingSessionRow.training_id)
        .where(SessionRecordRow.held_on.between(first, last)))
    return [HeldSession(*row) for row in rows]


def _seats(session: Session, session_ids: list[str]) -> list[Seat]:
    """The seats service fait gave a presence to (the seats still held then: a replaced participant's was
    revoked before and has none)."""
    rows = session.execute(
        select(ParticipantAccessRow.session_id, ParticipantAccessRow.email, RegistrationRow.form,
               ParticipantAccessRow.presence, ParticipantAccessRow.minutes_followed)
        .outerjoin(RegistrationRow, RegistrationRow.id == ParticipantAccessRow.registration_id)
        .where(ParticipantAccessRow.session_id.in_(session_ids), ParticipantAccessRow.presence.is_not(None)))
    return [Seat(session_id, email, _form_category(form), presence, minutes)
            for session_id, email, form, presence, minutes in rows]


def year_figures(sessions: sessionmaker[Session], schedule: Schedule, year: int) -> BpfFigures:
    """The BPF figures of `year` (checked by `workflow.domain.bpf.bpf_year` first)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    with sessions() as session:
        documents = _documents(session, first, last)
        held = _held(session, first, last)
        seats = _seats(session, [h.session_id for h in held]) if held else []
    day_minutes = int(schedule.training_duration.total_seconds()) // 60
    return bpf_figures(year, documents, held, seats, day_minutes=day_minutes)
