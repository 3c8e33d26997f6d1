"""The catalogue's limits, from the shape to the column: whatever a training or a session accepts fits its table,
prints on one line (an invoice, an e-mail subject, the `.ics`) and, for the room, is an address a 302 can give."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import String

from workflow.domain.catalogue import SessionDate, SessionState, Training
from workflow.persistence.orm import TrainingRow, TrainingSessionRow

TEXT = st.text(st.characters(codec="utf-8"), max_size=600)


def column_length(table: Any, name: str) -> int | None:
    kind = table.__table__.c[name].type
    return kind.length if isinstance(kind, String) else None


@settings(max_examples=300, deadline=None)
@given(title=TEXT, speaker=TEXT, audience=st.lists(TEXT, max_size=3), objective=TEXT)
def test_an_accepted_training_fits_its_columns_and_its_names_are_one_printable_line(
        title: str, speaker: str, audience: list[str], objective: str) -> None:
    try:
        training = Training(id="t-1", title=title, format="Journée de formation à distance", objective=objective,
                            audience=audience, speaker=speaker, price_per_participant=Decimal("595.00"),
                            vat="exempt", invoice_is_training_agreement=False, sessions=[])
    except ValidationError:
        return
    for name in ("title", "format", "speaker"):
        value = getattr(training, name)
        limit = column_length(TrainingRow, name)
        assert limit is not None
        assert len(value) <= limit
        assert value == value.strip()
        assert value
        assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F and c not in "\u2028\u2029" for c in value)
    assert all(item and "\n" not in item for item in training.audience)


@settings(max_examples=300, deadline=None)
@given(url=st.one_of(TEXT, st.builds(lambda host, path: f"https://{host}/{path}", TEXT, TEXT)), trainer=TEXT,
       capacity=st.integers(-5, 20000))
def test_an_accepted_session_fits_its_columns_and_its_room_is_an_http_address(
        url: str, trainer: str, capacity: int) -> None:
    try:
        session = SessionDate(id="s-1", date=date(2027, 1, 15), join_url=url, trainer=trainer, capacity=capacity)
    except ValidationError:
        return
    assert session.join_url is not None
    assert session.trainer is not None
    assert len(session.join_url) <= (column_length(TrainingSessionRow, "join_url") or 0)
    assert len(session.trainer) <= (column_length(TrainingSessionRow, "trainer") or 0)
    parts = urlsplit(session.join_url)
    assert parts.scheme in ("http", "https")
    assert parts.hostname
    assert not any(c.isspace() or ord(c) < 0x20 for c in session.join_url)  # safe in a Location header
    assert 1 <= (session.capacity or 0) <= 10000
    assert session.state is SessionState.OPEN


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x.org/", "https://", "https:///path", "//x.org/a",
                                 "https://x.org/a b", "https://x.org/\r\nSet-Cookie: a=b", "data:text/html,hi"])
def test_a_room_that_is_not_an_http_address_with_a_host_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="must be an http"):
        SessionDate(id="s-1", date=date(2027, 1, 15), join_url=url)


def test_the_last_registration_day_is_the_deadline_or_the_eve_whichever_comes_first() -> None:
    day = date(2027, 1, 15)
    assert SessionDate(id="s", date=day).last_registration_day == date(2027, 1, 14)
    assert SessionDate(id="s", date=day, registration_deadline=date(2027, 1, 5)).last_registration_day == date(
        2027, 1, 5)
    assert SessionDate(id="s", date=day, registration_deadline=date(2027, 2, 1)).last_registration_day == date(
        2027, 1, 14)
