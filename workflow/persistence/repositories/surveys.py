"""The satisfaction surveys as stored: one per (session, seat present), from the invitation to the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.persistence.orm import SurveyRow


class SqlSurveys:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, survey: SurveyRow) -> None:
        self._session.add(survey)

    def of_seat(self, session_id: str, access_id: str) -> SurveyRow | None:
        return self._session.scalars(select(SurveyRow).where(
            SurveyRow.session_id == session_id, SurveyRow.access_id == access_id)).one_or_none()

    def reminders_due(self, now: datetime, limit: int) -> list[SurveyRow]:
        """Unanswered, not yet reminded, whose delay has passed: locked, so two consumers never remind twice."""
        return list(self._session.scalars(select(SurveyRow).where(
            SurveyRow.answered_at.is_(None), SurveyRow.reminded_at.is_(None), SurveyRow.remind_at <= now)
            .order_by(SurveyRow.remind_at, SurveyRow.id).limit(limit).with_for_update(skip_locked=True)))
