"""Late-payment interest claimed from a public buyer once its invoice's principal was paid late (CCP R2192-36):
a receivable of its own, open until paid or waived by finance with a reason."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.persistence.orm.base import Base, Money


class InterestClaimRow(Base):
    """One per invoice (`number` is `INT-<invoice>`). The computation is kept as printed on the letter."""

    __tablename__ = "interest_claims"

    number: Mapped[str] = mapped_column(String(24), primary_key=True)
    invoice_number: Mapped[str] = mapped_column(ForeignKey("invoices.number"), unique=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    client_name: Mapped[str | None] = mapped_column(String(300))
    principal: Mapped[Decimal] = mapped_column(Money)
    due_on: Mapped[date] = mapped_column(Date)  # the invoice's due date
    principal_paid_on: Mapped[date] = mapped_column(Date)
    days_late: Mapped[int] = mapped_column(Integer)
    percent: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    rate_source: Mapped[str] = mapped_column(String(120))
    interest: Mapped[Decimal] = mapped_column(Money)
    indemnity: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    payable_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open | paid | waived
    paid: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date | None] = mapped_column(Date)
    waived_by: Mapped[str | None] = mapped_column(String(100))
    waive_reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
