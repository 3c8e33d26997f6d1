"""Receivables, payments and the sessions held: finance's side of an invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.domain.receivables import CREDITED, OPEN
from workflow.persistence.orm import InterestClaimRow, PaymentRow, ReceivableRow, SessionRecordRow


class SqlReceivables:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, invoice_number: str) -> ReceivableRow | None:
        return self._session.get(ReceivableRow, invoice_number)

    def add(self, receivable: ReceivableRow) -> None:
        self._session.add(receivable)

    def uncredited_of(self, registration_id: str) -> list[ReceivableRow]:
        return list(self._session.scalars(select(ReceivableRow).where(
            ReceivableRow.registration_id == registration_id, ReceivableRow.status != CREDITED)))

    def overdue(self, today: date, period: str) -> list[ReceivableRow]:
        """Claimed with SKIP LOCKED on PostgreSQL: replicas checking at the same moment share the rows."""
        query = select(ReceivableRow).where(
            ReceivableRow.status == OPEN, ReceivableRow.due_on < today,
            (ReceivableRow.overdue_notified_period.is_(None)) | (ReceivableRow.overdue_notified_period != period))
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self._session.scalars(query.order_by(ReceivableRow.due_on)))


class SqlPayments:
    def __init__(self, session: Session) -> None:
        self._session = session

    def is_recorded(self, payment_id: str) -> bool:
        query = select(PaymentRow.id).where(PaymentRow.payment_id == payment_id)
        return self._session.scalars(query).first() is not None

    def add(self, payment: PaymentRow) -> None:
        self._session.add(payment)

    def received_for(self, invoice_number: str) -> list[tuple[Decimal, date]]:
        query = select(PaymentRow.amount, PaymentRow.received_on).where(
            PaymentRow.invoice_number == invoice_number, PaymentRow.matched.is_(True))
        return [(amount, received_on) for amount, received_on in self._session.execute(query)]


class SqlInterestClaims:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, number: str, *, for_update: bool = False) -> InterestClaimRow | None:
        return self._session.get(InterestClaimRow, number, with_for_update=for_update or None)

    def of_invoice(self, invoice_number: str) -> InterestClaimRow | None:
        query = select(InterestClaimRow).where(InterestClaimRow.invoice_number == invoice_number)
        return self._session.scalars(query).one_or_none()

    def add(self, claim: InterestClaimRow) -> None:
        self._session.add(claim)


class SqlSessionRecords:
    def __init__(self, session: Session) -> None:
        self._session = session

    def held_on(self, session_id: str) -> date | None:
        record = self._session.get(SessionRecordRow, session_id)
        return record.held_on if record else None

    def add(self, record: SessionRecordRow) -> None:
        self._session.add(record)
