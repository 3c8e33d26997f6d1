"""Invoices and credit notes (issued, never changed), their numbering, receivables and payments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from workflow.persistence.orm.base import Base, Money


class InvoiceCounterRow(Base):
    """Last number issued per year. Incremented under a row lock in the invoice's transaction, so a
    rolled-back invoice gives its number back: no gap (CGI annexe II art. 242 nonies A)."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class IssuedDocument:
    """What an invoice and a credit note share: a number of the yearly sequence, lines, a PDF."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    lines: Mapped[list[Any]]  # [{description, quantity, unit_price, total}], as printed
    total: Mapped[Decimal] = mapped_column(Money)
    document_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class InvoiceRow(IssuedDocument, Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    registration_id: Mapped[str] = mapped_column(ForeignKey("registrations.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    due_on: Mapped[date | None] = mapped_column(Date)


class CreditNoteRow(IssuedDocument, Base):
    """An avoir: its own number in the same yearly sequence, referencing the invoice it cancels."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    invoice_number: Mapped[str] = mapped_column(ForeignKey("invoices.number"), unique=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)


class ReceivableRow(Base):
    """Finance's view of an invoice: what is due, when, what was paid. Mutable, unlike the invoice."""

    __tablename__ = "receivables"

    invoice_number: Mapped[str] = mapped_column(ForeignKey("invoices.number"), primary_key=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    client_name: Mapped[str | None] = mapped_column(String(300))
    client_category: Mapped[str] = mapped_column(String(40))
    total: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)
    sent_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date)
    service_fait_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # open | settled | overpaid | credited
    overdue_notified_period: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime]


class PaymentRow(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(String(100), unique=True)  # finance's ref: counted once
    invoice_number: Mapped[str | None] = mapped_column(String(20), index=True)
    matched: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[Decimal] = mapped_column(Money)
    received_on: Mapped[date] = mapped_column(Date)
    payer: Mapped[str | None] = mapped_column(String(300))
    means: Mapped[str] = mapped_column(String(30))
    anomalies: Mapped[list[Any]]  # e.g. unknown_invoice, before_service_fait, overpayment, invoice_credited
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str | None] = mapped_column(String(100))  # the finance officer; None: not said


@event.listens_for(InvoiceRow, "before_update")
@event.listens_for(CreditNoteRow, "before_update")
def _issued_documents_are_immutable(mapper: Any, connection: Any, target: Any) -> None:
    """An issued invoice or credit note is never changed: it is corrected by a credit note (CGI)."""
    raise ValueError(f"{type(target).__name__} {target.number} is issued and cannot be modified")
