"""Issued PDFs kept in the database and the deposits they owe: what `consumers.deposits` acts on after commit."""

from __future__ import annotations

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
