"""The catalogue operations manage: trainings and their sessions (seeded once from catalogue.json)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.limits import CATALOGUE_ID_MAX, JOIN_URL_MAX, TRAINING_NAME_MAX, TRAINING_TITLE_MAX
from workflow.persistence.orm.base import Base, Money

Day = date  # the column named `date` hides the type inside the class


class TrainingRow(Base):
    __tablename__ = "trainings"

    id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), primary_key=True)
    title: Mapped[str] = mapped_column(String(TRAINING_TITLE_MAX))
    format: Mapped[str] = mapped_column(String(TRAINING_NAME_MAX))
    objective: Mapped[str] = mapped_column(Text)
    audience: Mapped[list[Any]]
    speaker: Mapped[str] = mapped_column(String(TRAINING_NAME_MAX))
    price_per_participant: Mapped[Decimal] = mapped_column(Money)
    vat: Mapped[str] = mapped_column(String(20))
    invoice_is_training_agreement: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TrainingSessionRow(Base):
    """A date of a training. `version` grows with every change: the `session.updated` event carries it."""

    __tablename__ = "training_sessions"

    id: Mapped[str] = mapped_column(String(CATALOGUE_ID_MAX), primary_key=True)
    training_id: Mapped[str] = mapped_column(ForeignKey("trainings.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    capacity: Mapped[int | None] = mapped_column(Integer)
    registration_deadline: Mapped[Day | None] = mapped_column(Date)
    join_url: Mapped[str | None] = mapped_column(String(JOIN_URL_MAX))
    trainer: Mapped[str | None] = mapped_column(String(TRAINING_NAME_MAX))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
