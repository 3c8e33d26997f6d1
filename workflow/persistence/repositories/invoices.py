"""Invoices and credit notes: issued once, never edited, numbered in one gap-free yearly sequence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workflow.persistence.orm import CreditNoteRow, InvoiceCounterRow, InvoiceRow


class SqlInvoices:
    def __init__(self, session: Session) -> None:
        self._session = session

    def next_number(self, year: int) -> int:
        """Allocate the next number of the year's sequence, gap-free.

        One upsert: the year's row created at 1, or incremented (`ON CONFLICT … DO UPDATE … RETURNING`), which holds
        its row lock until this transaction ends: concurrent invoicers queue behind it, and a rollback gives the
        number back (unlike a database sequence). Two invoicers starting a new year at once: the second waits on
        the first's row, then increments it.
        """
        dialect = self._session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(InvoiceCounterRow).values(year=year, last_number=1)
        allocated = self._session.execute(statement.on_conflict_do_update(
            index_elements=["year"], set_={"last_number": InvoiceCounterRow.last_number + 1})
            .returning(InvoiceCounterRow.last_number)).scalar_one()
        return int(allocated)

    def add(self, invoice: InvoiceRow) -> None:
        self._session.add(invoice)

    def get(self, number: str) -> InvoiceRow | None:
        return self._session.scalars(select(InvoiceRow).where(InvoiceRow.number == number)).one_or_none()

    def current_of(self, registration_id: str) -> InvoiceRow | None:
        credited = select(CreditNoteRow.invoice_number)
        return self._session.scalars(
            select(InvoiceRow).where(InvoiceRow.registration_id == registration_id,
                                     InvoiceRow.number.not_in(credited))
            .order_by(InvoiceRow.id.desc())).first()


class SqlCreditNotes:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, credit_note: CreditNoteRow) -> None:
        self._session.add(credit_note)

    def get(self, number: str) -> CreditNoteRow | None:
        return self._session.scalars(select(CreditNoteRow).where(CreditNoteRow.number == number)).one_or_none()

    def is_credited(self, invoice_number: str) -> bool:
        return self._session.scalars(select(CreditNoteRow.id).where(
            CreditNoteRow.invoice_number == invoice_number)).first() is not None

    def last_credited_invoice(self, registration_id: str) -> str | None:
        return self._session.scalars(select(CreditNoteRow.invoice_number).where(
            CreditNoteRow.registration_id == registration_id).order_by(CreditNoteRow.id.desc())).first()
