"""The rights of access and erasure, and the scheduled pseudonymisation (`regflow personal-data`, the back office's
"Données personnelles"): each reads where the person is (`workflow.ops.personal_data_places`), asks
`workflow.domain.personal_data` what may go and what is kept, and records the request, by pseudonym, in
`personal_data_requests`. An erasure is one transaction: everything or nothing. Issued PDFs are never touched (the
document store's files and the deposited copies), so totals, numbers and the BPF's counts do not move."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog
from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.clock import Clock
from workflow.domain.payment_rules import paris_date
from workflow.domain.personal_data import (
    ACCOUNTING_KEPT,
    EVIDENCE_KEPT,
    IN_PROGRESS_KEPT,
    SETTLED_STATES,
    WITHIN_RETENTION,
    Person,
    Pseudonym,
    Reason,
    fragments,
    is_pseudonym,
    past_retention,
    person,
    pseudonym,
    scrub,
)
from workflow.ops.personal_data_places import Links, Place, links, names, places, swept_tables
from workflow.persistence.orm import (
    Base,
    CertificateRow,
    CreditNoteRow,
    InvoiceRow,
    ParticipantAccessRow,
    PaymentRow,
    PersonalDataRequestRow,
    RegistrationRow,
    SessionParticipantRow,
    SignatureScanRow,
    SurveyRow,
)

log = structlog.get_logger("personal_data")
Keep = Callable[[str, str], Reason | None]  # (registration id, its state): why it is kept, None when erasable


@dataclass(frozen=True)
class Kept:
    what: str  # invoice | credit_note | certificate | a table's name
    identifier: str
    reason: Reason


@dataclass
class Erasure:
    subject: str
    pseudonymised: Counter[str] = field(default_factory=Counter)  # table: rows rewritten
    deleted: Counter[str] = field(default_factory=Counter)  # what: rows deleted or cleared
    kept: list[Kept] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {"pseudonymised": dict(self.pseudonymised), "deleted": {k: n for k, n in self.deleted.items() if n},
                "kept": [{"what": k.what, "identifier": k.identifier, "reason": k.reason.key} for k in self.kept]}


def personal_data_tables() -> list[str]:
    """The tables that may name a person, by name: what an access, an erasure and the purge sweep, a table added
    to the models included (workflow.ops.personal_data_places finds them)."""
    return [t.name for t in swept_tables()]


def _who(session: Session, email: str, secret: str) -> tuple[Person, Pseudonym, Links]:
    found = links(session, email)
    return person(email, names(session, email, found)), pseudonym(email, secret), found


def _record(session: Session, kind: str, subject: str | None, *, actor: str, clock: Clock, reason: str | None,
            counts: dict[str, Any]) -> None:
    session.add(PersonalDataRequestRow(kind=kind, subject=subject, actor=actor, at=clock.now(), reason=reason,
                                       counts=counts))


def in_progress(_registration_id: str, state: str) -> Reason | None:
    """The right to erasure's limit: a registration still running or not paid is kept until it is settled."""
    return None if state in SETTLED_STATES else IN_PROGRESS_KEPT


def _documents(session: Session, found: Links) -> list[Kept]:
    """The issued documents that name the person: kept as issued (their PDFs are never rewritten)."""
    kept = [Kept("invoice", n, ACCOUNTING_KEPT) for n in session.scalars(
        select(InvoiceRow.number).where(InvoiceRow.registration_id.in_(found.registrations)).order_by(InvoiceRow.number))]
    kept += [Kept("credit_note", n, ACCOUNTING_KEPT) for n in session.scalars(
        select(CreditNoteRow.number).where(CreditNoteRow.registration_id.in_(found.registrations))
        .order_by(CreditNoteRow.number))]
    kept += [Kept("certificate", n, EVIDENCE_KEPT) for n in session.scalars(
        select(CertificateRow.number).where(CertificateRow.access_id.in_(found.accesses))
        .order_by(CertificateRow.number))]
    return kept


def _delete_own(session: Session, who: Person, found: Links, erasable: set[str], done: Erasure) -> None:
    """What has no use once pseudonymised: the scans of forms the person signed or sent as gestionnaire (an image
    of their signature), and their comments on the survey (free text; the ratings stay for the figures)."""
    forms = session.execute(select(RegistrationRow.id, RegistrationRow.form)
                            .where(RegistrationRow.id.in_(erasable))).all()
    theirs = [rid for rid, form in forms
              if str((form.get("gestionnaire") or {}).get("email") or "").strip().lower() == who.email]
    if theirs:
        done.deleted["signature_scans"] += _count(session.execute(
            delete(SignatureScanRow).where(SignatureScanRow.registration_id.in_(theirs))))
    seats = [a for a in found.accesses if found.seats.get(a) in erasable]
    if seats:
        done.deleted["surveys.comment"] += _count(session.execute(
            update(SurveyRow).where(SurveyRow.access_id.in_(seats), SurveyRow.comment.is_not(None))
            .values(comment=None)))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _rewrite(session: Session, place: Place) -> None:
    table = Base.metadata.tables[place.table]
    values: dict[str, Any] = dict(place.scrubbed)
    if "version" in table.c:  # a writer holding the old version retries on the new one (optimistic lock)
        values["version"] = table.c.version + 1
    session.execute(update(table).where(and_(*[table.c[k] == v for k, v in place.key.items()])).values(**values))


def _erase_in(session: Session, email: str, secret: str, keep: Keep) -> tuple[Erasure, Person, Pseudonym]:
    who, alias, found = _who(session, email, secret)
    done = Erasure(alias.subject, kept=_documents(session, found))
    states: dict[str, str] = {rid: state for rid, state in session.execute(  # noqa: C416 (Rows)
        select(RegistrationRow.id, RegistrationRow.state).where(RegistrationRow.id.in_(found.registrations)))}
    kept = {rid: why for rid, state in states.items() if (why := keep(rid, state)) is not None}
    done.kept += [Kept("registration", rid, why) for rid, why in sorted(kept.items())]
    _delete_own(session, who, found, set(states) - set(kept), done)
    for place in list(places(session, who, alias, found)):
        if place.registration_id in kept or (place.registration_id is None and kept):
            continue  # the person is still named on what is kept: so are the records around it
        if place.scrubbed:
            _rewrite(session, place)
            done.pseudonymised[place.table] += 1
    return done, who, alias


def erase(sessions: sessionmaker[Session], clock: Clock, secret: str, email: str, *, reason: str, actor: str
          ) -> Erasure:
    """The right to erasure (RGPD art. 17), in one transaction: every place erasable is pseudonymised, what the law
    keeps is said with why; the request is recorded by pseudonym (the reason too is scrubbed of the person)."""
    with sessions.begin() as session:
        done, who, alias = _erase_in(session, email, secret, in_progress)
        _record(session, "erase", alias.subject, actor=actor, clock=clock, reason=scrub(reason, who, alias),
                counts=done.counts())
    log.info("personal_data.erased", subject=done.subject, actor=actor, rows=sum(done.pseudonymised.values()),
             kept=len(done.kept))
    return done


def _held(session: Session, clock: Clock, secret: str, email: str) -> dict[str, Any]:
    who, alias, found = _who(session, email, secret)
    found_places = list(places(session, who, alias, found))
    records = [{"table": p.table, "key": p.key, "registration_id": p.registration_id,
                "columns": {c: fragments(v, who, alias) for c, v in p.values.items()}} for p in found_places]
    documents = [{"kind": k.what, "number": k.identifier, "kept_because": k.reason.fr, "article": k.reason.article}
                 for k in _documents(session, found)]
    states = {rid: state for rid, state in session.execute(  # noqa: C416 (Rows)
        select(RegistrationRow.id, RegistrationRow.state).where(RegistrationRow.id.in_(found.registrations)))}
    return {"email": email, "pseudonym": alias.subject, "exported_at": clock.now().isoformat(),
            "registrations": [{"id": rid, "state": states[rid], "kept_because": why.fr if why else None}
                              for rid in sorted(states) for why in [in_progress(rid, states[rid])]],
            "tables": sorted({p.table for p in found_places}), "records": records, "documents": documents}


def held(sessions: sessionmaker[Session], clock: Clock, secret: str, email: str) -> dict[str, Any]:
    """What `export` gives, read only (support's search on the page, before an export or an erasure)."""
    with sessions() as session:
        return _held(session, clock, secret, email)


def export(sessions: sessionmaker[Session], clock: Clock, secret: str, email: str, *, actor: str) -> dict[str, Any]:
    """The right of access (RGPD art. 15): every record that names the person, with where it is (table, key), and
    only what of it is about them; the documents issued in their name; the request recorded by pseudonym."""
    with sessions.begin() as session:
        found = _held(session, clock, secret, email)
        _record(session, "export", found["pseudonym"], actor=actor, clock=clock, reason=None,
                counts={"records": len(found["records"]), "tables": found["tables"]})
    log.info("personal_data.exported", subject=found["pseudonym"], actor=actor, records=len(found["records"]))
    return found


def _last_activity(session: Session) -> dict[str, tuple[str, date]]:
    """Per registration: its state and the day of its last payment (its last change when nothing was paid)."""
    paid: dict[str, date] = {}
    for rid, on in session.execute(select(InvoiceRow.registration_id, PaymentRow.received_on)
                                   .join(PaymentRow, PaymentRow.invoice_number == InvoiceRow.number)
                                   .where(PaymentRow.matched)):
        paid[rid] = max(on, paid.get(rid, on))
    return {rid: (state, paid.get(rid) or paris_date(at)) for rid, state, at in session.execute(
        select(RegistrationRow.id, RegistrationRow.state, RegistrationRow.updated_at))}


def _people(session: Session, registrations: set[str]) -> set[str]:
    """The e-mails named on those registrations: participants, seats, gestionnaires (pseudonyms aside)."""
    found = set(session.scalars(select(SessionParticipantRow.email)
                                .where(SessionParticipantRow.registration_id.in_(registrations))))
    found |= set(session.scalars(select(ParticipantAccessRow.email)
                                 .where(ParticipantAccessRow.registration_id.in_(registrations))))
    for form in session.scalars(select(RegistrationRow.form).where(RegistrationRow.id.in_(registrations))):
        found.add(str((form.get("gestionnaire") or {}).get("email") or ""))
    return {e.strip().lower() for e in found if e.strip() and not is_pseudonym(e)}


@dataclass(frozen=True)
class Purge:
    as_of: date
    registrations: tuple[str, ...]  # past the retention time
    subjects: tuple[str, ...]  # the people pseudonymised (or to be, on a dry run), by pseudonym
    rows: int


def purge(sessions: sessionmaker[Session], clock: Clock, secret: str, as_of: date, months: int, *,
          dry_run: bool = False, actor: str = "purge") -> Purge:
    """The scheduled pseudonymisation (RGPD art. 5-1-e): everyone named on a registration settled `months` ago or
    more. A person also on a more recent one keeps it as it is (it is pseudonymised when its own time comes).
    One transaction per person, so a run stopped half-way leaves each person done or not; a dry run writes
    nothing. Recorded as one request, listing the pseudonyms."""
    with sessions() as session:
        activity = _last_activity(session)
        past = {rid for rid, (state, last) in activity.items() if past_retention(state, last, as_of, months)}
        people = sorted(_people(session, past))

    def keep(rid: str, state: str) -> Reason | None:
        return in_progress(rid, state) or (None if rid in past else WITHIN_RETENTION)

    subjects, rows = [], 0
    for email in people:
        with sessions.begin() as session:
            done, _, _ = _erase_in(session, email, secret, keep)
            if dry_run:
                session.rollback()
        subjects.append(done.subject)
        rows += sum(done.pseudonymised.values())
    if not dry_run:
        with sessions.begin() as session:
            _record(session, "purge", None, actor=actor, clock=clock, reason=f"au {as_of.isoformat()}, {months} mois",
                    counts={"registrations": len(past), "subjects": subjects, "rows": rows})
    log.info("personal_data.purged", as_of=as_of.isoformat(), dry_run=dry_run, people=len(subjects), rows=rows)
    return Purge(as_of, tuple(sorted(past)), tuple(subjects), rows)
