"""Bank statements imported (issue #20): each file once by its SHA-256 in the report, each line once by the bank's
own reference on its account, whatever file brings it again; what the matching decided and the payments it sends."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.domain.bank_statement import (
    MAX_ACCOUNT_LENGTH,
    MAX_BANK_REFERENCE_LENGTH,
    MAX_PAYER_ID_LENGTH,
    MAX_PAYER_NAME_LENGTH,
    MAX_REMITTANCE_LENGTH,
)
from workflow.persistence.orm.base import Base, Money


class BankImportRow(Base):
    """One file imported: how many lines were new, already known, unreadable or ignored (the report kept)."""

    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(20))
    imported_at: Mapped[datetime]
    imported_by: Mapped[str | None] = mapped_column(String(100))
    lines_new: Mapped[int] = mapped_column(Integer)
    lines_known: Mapped[int] = mapped_column(Integer)
    problems: Mapped[list[Any]]  # [{line, fr, en}]
    ignored: Mapped[dict[str, Any]]  # {why: count}


class BankLineRow(Base):
    """A credit of the statement and its one outcome: matched, proposed (then confirmed or rejected by finance) or
    unmatched, with the rule and why. `allocations` is the split ([{invoice, amount, payment_id}]); `envelopes` the
    `cmd.payment.record` commands built in the transaction that decided them, sent after it (`sent_at`)."""

    __tablename__ = "bank_lines"
    __table_args__ = (UniqueConstraint("account", "bank_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(MAX_ACCOUNT_LENGTH))
    bank_reference: Mapped[str] = mapped_column(String(MAX_BANK_REFERENCE_LENGTH))
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_imports.id"), index=True)
    source_line: Mapped[int] = mapped_column(Integer)
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    payer_name: Mapped[str | None] = mapped_column(String(MAX_PAYER_NAME_LENGTH))
    payer_id: Mapped[str | None] = mapped_column(String(MAX_PAYER_ID_LENGTH))
    remittance: Mapped[str] = mapped_column(String(MAX_REMITTANCE_LENGTH))
    outcome: Mapped[str] = mapped_column(String(12), index=True)  # matched|proposed|unmatched|confirmed|rejected
    rule: Mapped[str] = mapped_column(String(40))
    reason_fr: Mapped[str] = mapped_column(String(500))
    reason_en: Mapped[str] = mapped_column(String(500))
    allocations: Mapped[list[Any]]
    envelopes: Mapped[list[Any]]
    sent_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
