"""The satisfaction survey "à chaud" (Qualiopi indicators 2 and 30): one row per participant present at a
session held, from the invitation to the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schemas.limits import CATALOGUE_ID_MAX, SURVEY_COMMENT_MAX
from workflow.persistence.orm.base import Base

RATINGS = ("overall", "objectives", "content", "speaker", "organisation")


def _rating_checks() -> tuple[CheckConstraint, ...]:
    return tuple(CheckConstraint(f"{name} IS NULL OR ({name} BETWEEN 1 AND 5)", name=f"{name}_1_to_5")
                 for name in RATINGS)


class SurveyRow(Base):
    """A participant's survey: invited after service fait, reminded once at `remind_at` if not answered,
    answered once (the ratings 1 to 5 and the comment are set together, with `answered_at`)."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("session_id", "access_id"), *_rating_checks(),
                      CheckConstraint(f"length(comment) <= {SURVEY_COMMENT_MAX}", name="comment_length"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), index=True)
    training_id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), index=True)
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    access_id: Mapped[str] = mapped_column(String(40))
    invited_at: Mapped[datetime]
    remind_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    overall: Mapped[int | None] = mapped_column(SmallInteger)
    objectives: Mapped[int | None] = mapped_column(SmallInteger)
    content: Mapped[int | None] = mapped_column(SmallInteger)
    speaker: Mapped[int | None] = mapped_column(SmallInteger)
    organisation: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
