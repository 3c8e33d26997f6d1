"""Finance's desk for late-payment interest claims: the list, a payment recorded, a waiver with its reason, the
letter. Used by `regflow interest-claims` and the back office; each change is one transaction with its
`interest_claim.closed` in the outbox when it closes the claim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schemas.limits import MAX_ACTOR_LENGTH
from schemas.messages import InterestClaimClosed
from workflow.adapters.document_store import document_name
from workflow.domain.clock import Clock
from workflow.domain.errors import InterestClaimError
from workflow.domain.interest_claim import OPEN, PAID, WAIVED, checked_waive_reason, status_after_payment
from workflow.domain.payment_rules import paris_date
from workflow.persistence.orm import DocumentFileRow, InterestClaimRow
from workflow.persistence.unit_of_work import UnitOfWork

ACTOR = "finance"
COLUMNS = ("number", "invoice", "client", "status", "due_on", "principal_paid_on", "days_late", "percent",
           "rate_source", "interest", "indemnity", "total", "paid", "outstanding", "payable_by", "days_overdue",
           "waived_by", "waive_reason", "closed_at")
STATUS_FR = {OPEN: "ouverte", PAID: "payée", WAIVED: "abandonnée"}


def claim_view(claim: InterestClaimRow, today: date) -> dict[str, Any]:
    outstanding = max(claim.total - claim.paid, Decimal("0.00")) if claim.status == OPEN else Decimal("0.00")
    return {"number": claim.number, "invoice": claim.invoice_number, "client": claim.client_name,
            "status": claim.status, "status_fr": STATUS_FR.get(claim.status, claim.status),
            "due_on": claim.due_on.isoformat(), "principal_paid_on": claim.principal_paid_on.isoformat(),
            "days_late": claim.days_late, "percent": str(claim.percent), "rate_source": claim.rate_source,
            "interest": str(claim.interest), "indemnity": str(claim.indemnity), "total": str(claim.total),
            "paid": str(claim.paid), "outstanding": str(outstanding), "payable_by": claim.payable_by.isoformat(),
            "days_overdue": max((today - claim.payable_by).days, 0) if claim.status == OPEN else 0,
            "waived_by": claim.waived_by, "waive_reason": claim.waive_reason,
            "closed_at": claim.closed_at.isoformat() if claim.closed_at else None}


def _unknown(number: str) -> InterestClaimError:
    return InterestClaimError(f"no interest claim {number[:40]}", fr=f"aucune demande d'intérêts {number[:40]}")


@dataclass(frozen=True)
class InterestClaimDesk:
    sessions: sessionmaker[Session]
    clock: Clock

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.clock, actor=ACTOR)

    def listing(self, *, open_only: bool = False) -> list[dict[str, Any]]:
        today = paris_date(self.clock.now())
        with self.sessions() as session:
            query = select(InterestClaimRow).order_by(InterestClaimRow.payable_by, InterestClaimRow.number)
            if open_only:
                query = query.where(InterestClaimRow.status == OPEN)
            return [claim_view(c, today) for c in session.scalars(query)]

    def pay(self, number: str, amount: Decimal, *, paid_on: date, by: str | None) -> dict[str, Any]:
        """A payment of the claim; more than what is still owed is refused (recorded twice, most likely)."""
        if amount <= 0:
            raise InterestClaimError("the amount must be above 0", fr="le montant doit être supérieur à 0")
        now = self.clock.now()
        with self._uow() as uow:
            claim = self._open_claim(uow, number)
            owed = claim.total - claim.paid
            if amount > owed:
                raise InterestClaimError(f"{number}: {amount} EUR is more than the {owed} EUR still owed",
                                         fr=f"{number} : {amount} EUR dépasse les {owed} EUR encore dus")
            claim.paid += amount
            claim.paid_on = paid_on
            claim.status = status_after_payment(claim.total, claim.paid)
            claim.updated_at = now
            if claim.status == PAID:
                claim.closed_at = now
                uow.publish("interest_claim.closed", InterestClaimClosed(
                    number=claim.number, invoice_number=claim.invoice_number, outcome=PAID, paid=claim.paid, by=by),
                    claim.registration_id)
            uow.commit()
            return claim_view(claim, paris_date(now))

    def waive(self, number: str, *, reason: str, by: str) -> dict[str, Any]:
        """Finance gives up the claim (a goodwill gesture, a buyer's dispute settled): who, when and why kept."""
        reason = checked_waive_reason(reason)
        if not 0 < len(by.strip()) <= MAX_ACTOR_LENGTH:
            raise InterestClaimError(f"say who waives it (--by, at most {MAX_ACTOR_LENGTH} characters)",
                                     fr=f"indiquez qui y renonce (--by, {MAX_ACTOR_LENGTH} caractères au plus)")
        now = self.clock.now()
        with self._uow() as uow:
            claim = self._open_claim(uow, number)
            claim.status, claim.waived_by, claim.waive_reason = WAIVED, by.strip(), reason
            claim.closed_at = claim.updated_at = now
            uow.publish("interest_claim.closed", InterestClaimClosed(
                number=claim.number, invoice_number=claim.invoice_number, outcome=WAIVED, paid=claim.paid,
                by=claim.waived_by, reason=reason), claim.registration_id)
            uow.commit()
            return claim_view(claim, paris_date(now))

    def letter(self, number: str) -> bytes:
        """The claim's PDF as issued (kept in the database with it)."""
        with self.sessions() as session:
            try:
                kept = session.get(DocumentFileRow, document_name("interest_claim", number))
            except LookupError:
                kept = None
            if kept is None:
                raise _unknown(number)
            return kept.content

    @staticmethod
    def _open_claim(uow: UnitOfWork, number: str) -> InterestClaimRow:
        claim = uow.interest_claims.get(number, for_update=True)
        if claim is None:
            raise _unknown(number)
        if claim.status != OPEN:
            raise InterestClaimError(f"{number} is already {claim.status}",
                                     fr=f"{number} est déjà {STATUS_FR.get(claim.status, claim.status)}")
        return claim
