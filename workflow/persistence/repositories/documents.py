"""Issued PDFs kept in the database and the deposits they owe: what `consumers.deposits` acts on after commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.persistence.orm import DepositRow, DocumentFileRow


class SqlDocumentFiles:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, document: DocumentFileRow) -> None:
        self._session.add(document)

    def get(self, name: str) -> DocumentFileRow | None:
        return self._session.get(DocumentFileRow, name)


class SqlDeposits:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, deposit: DepositRow) -> None:
        self._session.add(deposit)

    def get(self, document_number: str, *, for_update: bool = False) -> DepositRow | None:
        query = select(DepositRow).where(DepositRow.document_number == document_number)
        if for_update and self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()  # two copies of a deposit queue here: the second finds it accepted
        return self._session.scalars(query).one_or_none()

    def numbers_in(self, statuses: Sequence[str], *, unless_platform: Sequence[str] = (), limit: int = 500
                   ) -> list[str]:
        """The numbers of the invoices and credit notes in these statuses (oldest first), but those whose platform
        status is one of `unless_platform`: what the platform poll goes through, each then in its own unit of work."""
        query = (select(DepositRow.document_number)
                 .where(DepositRow.status.in_(list(statuses)), DepositRow.kind.in_(["invoice", "credit_note"]))
                 .order_by(DepositRow.created_at, DepositRow.document_number).limit(limit))
        if unless_platform:
            query = query.where((DepositRow.platform_status.is_(None))
                                | DepositRow.platform_status.not_in(list(unless_platform)))
        return list(self._session.scalars(query))

    def claim(self, document_number: str) -> DepositRow | None:
        """The deposit locked for this transaction, or None when another process holds it (it is dealing with it:
        SKIP LOCKED, so replicas of the poll and the consumer never send one twice nor wait on each other)."""
        query = select(DepositRow).where(DepositRow.document_number == document_number)
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self._session.scalars(query).one_or_none()
