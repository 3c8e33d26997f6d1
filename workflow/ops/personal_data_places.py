"""Where a person is in the database, found generically: every table of the models, every text and JSON column,
so that a table added later is covered without a line here. A row is looked at when it is linked to the person
(its `registration_id`, `access_id` or `session_id` is one of theirs) or when a text column holds their e-mail
or one of their names (a superset the domain's word-bounded match then narrows); binary columns are never read.
`workflow.domain.personal_data` says whether a value names them and what it becomes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, Table, Text, cast, func, or_, select
from sqlalchemy.orm import Session

from workflow.domain.personal_data import Person, Pseudonym, mentions, scrub
from workflow.persistence.orm import Base, EmailRow, ParticipantAccessRow, RegistrationRow, SessionParticipantRow

NOT_SWEPT = frozenset({"personal_data_requests"})  # written by this work, naming people by pseudonym only
SCOPES = ("registration_id", "access_id", "session_id")


@dataclass(frozen=True)
class Links:
    """The person's registrations, seats and sessions, found by e-mail."""

    registrations: frozenset[str]
    accesses: frozenset[str]
    sessions: frozenset[str]
    seats: dict[str, str]  # access id: its registration

    def registration_of(self, row: Any) -> str | None:
        """The registration a row belongs to: its own column, else its seat's."""
        own = row.get("registration_id") or (row.get("id") if "form" in row else None)  # a registration's own row
        return own or self.seats.get(row.get("access_id") or "")


@dataclass
class Place:
    """One row that names the person: its table, key, the values that name them and what they become."""

    table: str
    key: dict[str, Any]
    registration_id: str | None
    values: dict[str, Any]
    scrubbed: dict[str, Any]


def _like(column: Any, text: str) -> Any:
    """Case-insensitive containment, both sides folded by the database (a superset: `_` and `%` match more)."""
    return cast(column, Text).ilike(f"%{text}%")


def links(session: Session, email: str) -> Links:
    registrations = set(session.scalars(select(RegistrationRow.id).where(_like(RegistrationRow.form, email))))
    registrations |= set(session.scalars(select(SessionParticipantRow.registration_id)
                                         .where(func.lower(SessionParticipantRow.email) == email)))
    registrations |= set(session.scalars(select(EmailRow.registration_id)
                                         .where(func.lower(EmailRow.recipient) == email)))
    seats = session.execute(select(ParticipantAccessRow.id, ParticipantAccessRow.registration_id)
                            .where(func.lower(ParticipantAccessRow.email) == email)).all()
    registrations |= {rid for _, rid in seats}
    sessions = set(session.scalars(select(RegistrationRow.session_id).where(RegistrationRow.id.in_(registrations))
                                   .where(RegistrationRow.session_id.is_not(None))))
    return Links(frozenset(registrations), frozenset(a for a, _ in seats), frozenset(s for s in sessions if s),
                 {a: rid for a, rid in seats})  # noqa: C416 (Rows, not pairs)


def names(session: Session, email: str, found: Links) -> list[tuple[str | None, str | None]]:
    """The names written beside the e-mail: on the forms (participant, gestionnaire) and on the seats."""
    named: list[tuple[str | None, str | None]] = [(first, last) for first, last in session.execute(
        select(ParticipantAccessRow.first_name, ParticipantAccessRow.last_name)
        .where(ParticipantAccessRow.id.in_(found.accesses)))]
    for form in session.scalars(select(RegistrationRow.form).where(RegistrationRow.id.in_(found.registrations))):
        people = [form.get("gestionnaire") or {}, *(form.get("participants") or [])]
        named += [(p.get("first_name"), p.get("last_name")) for p in people
                  if isinstance(p, dict) and str(p.get("email") or "").strip().lower() == email]
    return named


def _columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, (String, JSON))]


def _decoded(value: Any) -> tuple[Any, bool]:
    """A Text column holding a JSON document (the outbox's envelopes) is read as one, and written back as one."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value), True
        except ValueError:
            return value, False
    return value, False


def _encoded(value: Any, was_json: bool) -> Any:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if was_json else value


def _query(table: Table, who: Person, found: Links) -> Any:
    """The rows to look at, read without their binary columns (the PDFs, the scans): those linked to the person,
    and any whose text holds their e-mail or one of their names."""
    columns = [*table.primary_key.columns, *[c for c in _columns(table) if not c.primary_key]]  # scopes: strings
    scoped = [(table.c[name], getattr(found, {"registration_id": "registrations", "access_id": "accesses",
                                              "session_id": "sessions"}[name]))
              for name in SCOPES if name in table.c]
    texts = [c for c in table.columns if isinstance(c.type, String)]
    return select(*columns).where(or_(*[column.in_(values) for column, values in scoped if values],
                                      *[_like(c, t) for c in texts for t in who.texts()]))


def swept_tables() -> list[Table]:
    """The tables that may name a person, the one list the access, the erasure and the purge sweep: every table of
    the models with a text or JSON column, but the requests' own record (NOT_SWEPT)."""
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_SWEPT and _columns(t)]


def places(session: Session, who: Person, alias: Pseudonym, found: Links) -> Iterator[Place]:
    """Every row of every table that still names the person, with what it would become."""
    for table in swept_tables():
        columns = _columns(table)
        for row in session.execute(_query(table, who, found)).mappings():
            read = {c.name: _decoded(row[c.name]) for c in columns}
            values = {name: value for name, (value, _) in read.items()}
            # the row as one record: a seat's first_name/last_name columns beside its email, as a form's object
            after = scrub(values, who, alias)
            named = {name: value for name, value in values.items() if mentions(value, who, alias)}
            changed = {name: _encoded(after[name], read[name][1]) for name in values if after[name] != values[name]}
            if named or changed:
                key = {c.name: row[c.name] for c in table.primary_key.columns}
                yield Place(table.name, key, found.registration_of(row), named, changed)
