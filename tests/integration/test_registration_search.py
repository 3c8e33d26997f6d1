"""Support's search of registrations (workflow/persistence/views.py `registration_list(search=)`) on PostgreSQL and
on SQLite: it finds values, never the form's keys, case and accents ignored; `%` and `_` are only themselves; a
search is cut at 100 characters; and whatever is typed, the answer is a list, never an error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from workflow.persistence.db import make_engine, session_factory
from workflow.persistence.orm import Base, InvoiceRow, RegistrationRow
from workflow.persistence.views import SEARCH_MAX, registration_list

pytestmark = pytest.mark.integration

AT = datetime.fromisoformat("2023-08-01T08:00:00+00:00")
LONG_CLIENT = "Centre communal d'action sociale de Saint-Rémy-lès-Chevreuse, pôle autonomie et handicap, service " \
              "formation des agents"


def _form(client: str, siret: str, gestionnaire: tuple[str, str, str],
          participants: list[tuple[str, str, str]]) -> dict[str, Any]:
    def one(who: tuple[str, str, str]) -> dict[str, str]:
        return {"email": who[0], "first_name": who[1], "last_name": who[2]}

    return {"training_id": "cpom-handicap", "session_id": "s-1", "client": {"name": client, "siret": siret},
            "gestionnaire": {**one(gestionnaire), "phone": "01 43 99 70 00"},
            "participants": [{"civilite": "Mme", **one(p)} for p in participants]}


def _fill(sessions: sessionmaker[Session]) -> None:
    forms = {"acme": _form("Acme", "73282932000074", ("lea.brunoy@acme.example", "Léa", "BRUNOY"),
                           [("zoe.quillet@acme.example", "Zoé", "QUILLET")]),
             "dep-94": _form(LONG_CLIENT, "22940028800010", ("marc.vaneau@dep94.example", "Marc", "VANEAU"),
                             [("hugo.perrin@dep94.example", "Hugo", "Perrin")])}
    with sessions.begin() as session:
        session.add_all([RegistrationRow(id=rid, state="invoiced", version=1, training_id="cpom-handicap",
                                         session_id="s-1", client_name=form["client"]["name"],
                                         client_is_public=rid == "dep-94", form=form, errors=[], warnings=[],
                                         created_at=AT, updated_at=AT) for rid, form in forms.items()])
        session.flush()
        session.add(InvoiceRow(number="2023-000007", year=2023, sequence=7, issued_on=date(2023, 8, 2), lines=[],
                               total=Decimal("595.00"), document_path=None, registration_id="dep-94", quantity=1,
                               unit_price=Decimal("595.00"), due_on=None, created_at=AT))


@pytest.fixture(scope="module")
def sqlite_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('search') / 'search.db'}")
    Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    _fill(sessions)
    yield sessions
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_sessions")
        return
    engine = make_engine(request.getfixturevalue("database_url"))
    postgres = session_factory(engine)
    _fill(postgres)
    yield postgres
    engine.dispose()


def found(sessions: sessionmaker[Session], words: str) -> list[str]:
    return [r["id"] for r in registration_list(sessions, search=words)]


def test_the_form_s_keys_find_nothing_its_values_find_their_registration(sessions: sessionmaker[Session]) -> None:
    for key in ("email", "first_name", "participants", "gestionnaire", "siret", "civilite", "phone", "client"):
        assert found(sessions, key) == [], key
    assert found(sessions, "zoe.quillet@acme.example") == ["acme"]
    assert found(sessions, "marc vaneau") == ["dep-94"]  # the gestionnaire, first and last name
    assert found(sessions, "229 400 288 00010") == ["dep-94"]  # a SIRET typed in groups
    assert found(sessions, "000007") == ["dep-94"]  # its invoice's number
    assert sorted(found(sessions, "example")) == ["acme", "dep-94"]


def test_case_and_accents_are_ignored_on_both_sides(sessions: sessionmaker[Session]) -> None:
    assert found(sessions, "zoe quillet") == ["acme"]
    assert found(sessions, "ZOÉ") == ["acme"]  # SQLite's own lower() knows only ASCII
    assert found(sessions, "saint-remy-les") == ["dep-94"]
    assert found(sessions, "LÉA") == ["acme"]


def test_percent_and_underscore_are_themselves_and_a_long_search_is_cut(sessions: sessionmaker[Session]) -> None:
    for words in ("100%", "%", "_", "acme_example", "zoe%quillet", "\\"):
        assert found(sessions, words) == [], words
    assert found(sessions, LONG_CLIENT[:SEARCH_MAX] + " and what follows is not read") == ["dep-94"]
    assert sorted(found(sessions, "   ")) == sorted(found(sessions, "")) == ["acme", "dep-94"]  # no search


@pytest.mark.parametrize("words", ["\x00", "zoe\x00quillet", "\ud800", "\x1b[2J", "'; drop table registrations; --"])
def test_what_a_database_would_choke_on_is_only_a_search(sessions: sessionmaker[Session], words: str) -> None:
    assert isinstance(found(sessions, words), list)
    assert found(sessions, "zoe\x00quillet") == ["acme"]  # a control character counts as a space


@settings(max_examples=50, deadline=None)
@given(words=st.text(st.characters(blacklist_categories=()), max_size=SEARCH_MAX))  # surrogates and controls too
def test_any_search_gives_a_list_of_registrations_never_an_error(sqlite_sessions: sessionmaker[Session],
                                                                  words: str) -> None:
    assert set(found(sqlite_sessions, words)) <= {"acme", "dep-94"}
