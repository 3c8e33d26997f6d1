"""The envelope every message travels in: ids, type (its routing key), time, producer; the payload is
checked against the model of its type (`schemas.messages.MESSAGE_TYPES`) on receipt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, field_validator

from schemas.limits import (
    REGISTRATION_ID_MAX,
    REGISTRATION_ID_PATTERN,
    one_line,
)

SCHEMA_VERSION = 1
Line = Annotated[str, AfterValidator(one_line)]  # a command's free text: one line, no refused character
# A message's time: within these bounds, or it is malformed (a year 1 with a +14:00 offset overflows).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MESSAGE_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,3}$"
PRODUCER_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


class Envelope(BaseModel):
    """What travels on the wire. `payload` is checked against the model of `type` on receipt."""

    model_config = {"extra": "forbid", "frozen": True}

    event_id: UUID = Field(default_factory=uuid4, description="Unique id of this message")
    type: str = Field(max_length=60, pattern=MESSAGE_TYPE_PATTERN,
                      description="Message type, also its routing key, e.g. 'registration.confirmed'")
    schema_version: int = Field(default=SCHEMA_VERSION, ge=0, le=1000)
    occurred_at: AwareDatetime = Field(description="When it happened, timezone-aware (UTC), from 2000 to 2100")
    registration_id: str | None = Field(
        default=None, max_length=REGISTRATION_ID_MAX, pattern=REGISTRATION_ID_PATTERN,
        description="Letters, digits, '.', '_' and '-', 64 at most, starting with a letter or a digit")
    correlation_id: UUID = Field(description="Id of the first message of the conversation")
    causation_id: UUID | None = Field(default=None, description="Id of the message that caused this one")
    producer: str = Field(max_length=40, pattern=PRODUCER_PATTERN,
                          description="Who published it: 'intake', 'validation', 'invoicing'...")
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        try:
            utc = value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:  # year 1 at +14:00 is before year 1 in UTC
            raise ValueError(f"occurred_at cannot be expressed in UTC: {exc}") from None
        if not EARLIEST <= utc < LATEST:
            raise ValueError(f"occurred_at must be from {EARLIEST.year} to {LATEST.year}")
        return utc
