"""The dashboards' figures, read from the database in one short session each (`workflow.domain.dashboards` computes
them). The back office draws them (`regflow.web.dashboard_pages`); each chart's table and CSV come from the same
rows, so the picture, the table and the file always agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from schemas.form import ClientCategory
from workflow.adapters.mailroom import FAILED, PENDING, SENT
from workflow.domain.catalogue import Catalogue
from workflow.domain.dashboards import OpenReceivable, fill_rate
from workflow.domain.receivables import OPEN
from workflow.persistence.orm import EmailRow, ReceivableRow
from workflow.persistence.repositories.catalogue import SqlCatalogue


def open_receivables(sessions: sessionmaker[Session]) -> list[OpenReceivable]:
    """Every invoice with something left to pay (credited, settled and overpaid ones owe nothing)."""
    with sessions() as session:
        rows = session.execute(select(ReceivableRow.invoice_number, ReceivableRow.client_category,
                                      ReceivableRow.total, ReceivableRow.paid, ReceivableRow.due_on)
                               .where(ReceivableRow.status == OPEN).order_by(ReceivableRow.due_on)).all()
    return [OpenReceivable(number, ClientCategory(category), total - paid, due_on)
            for number, category, total, paid, due_on in rows if total > paid]


@dataclass(frozen=True)
class SessionFill:
    session_id: str
    title: str
    day: date
    state: str
    capacity: int | None
    seats_taken: int

    @property
    def rate(self) -> Decimal | None:
        return fill_rate(self.seats_taken, self.capacity)


def session_fill(sessions: sessionmaker[Session], catalogue: Catalogue, *, from_day: date) -> list[SessionFill]:
    """The sessions from `from_day` on, in date order, with the seats their registrations hold."""
    with sessions() as session:
        seats = SqlCatalogue(session)
        return sorted((SessionFill(s.id, t.title, s.date, str(s.state), s.capacity, seats.seats_taken(s.id))
                       for t in catalogue.trainings for s in t.sessions if s.date >= from_day),
                      key=lambda fill: (fill.day, fill.session_id))


EMAIL_STATUSES = ((SENT, "Envoyés", "Sent"), (PENDING, "En attente", "Pending"), (FAILED, "En échec", "Failed"))


def email_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        counted = dict(session.execute(select(EmailRow.status, func.count()).group_by(EmailRow.status)).all())
    return {status: int(counted.get(status, 0)) for status, _, _ in EMAIL_STATUSES}
