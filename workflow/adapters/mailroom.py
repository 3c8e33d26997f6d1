"""The e-mail outbox: e-mails are written pending in the transaction of the event that asks for them,
then claimed in batches by the notifications consumer, sent one by one, each marked sent in its own transaction.

Once and only once, as far as e-mail allows:
- the idempotency key (registration, kind, recipient, occurrence) is unique: a redelivered event, or
  the same reminder processed twice, finds the row and adds nothing;
- a row is claimed with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite serialises writers) and
  a lease committed before the SMTP conversation, so two replicas never send the same row;
- right after the SMTP server accepted the message the row is marked sent; if the database is away at
  that moment the sender insists (its lease keeps the others off), so a database outage sends nothing
  twice. A process killed between the server's "250 OK" and that commit leaves the row pending: once
  the lease expires it is sent again, with the same Message-ID. That window, milliseconds wide, is the
  duplication that remains (SMTP has no way to ask whether a message was already accepted).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any

import structlog
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from schemas.messages import EmailFailed, EmailSent
from workflow.adapters.calendar_invite import Invite, invitation_ics
from workflow.adapters.document_store import DocumentKind, DocumentStore, document_name
from workflow.adapters.email_message import Attachment, MailTemplates, Rendered, build_message, message_id_for
from workflow.adapters.smtp import MailDeliveryError, SmtpMailer
from workflow.domain.access_links import join_link, token_for
from workflow.domain.catalogue import Catalogue, Schedule, SessionDate, Training
from workflow.domain.clock import Clock
from workflow.domain.identifiers import normalise_email
from workflow.domain.invoice import Seller
from workflow.ops.faults import crash_point
from workflow.persistence.orm import Base, DocumentFileRow, EmailRow, ParticipantAccessRow
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

log = structlog.get_logger("mail")

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
ACTOR = "notifications"


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float = 6 * 3600) -> timedelta:
    """Exponential backoff after the n-th failed attempt: base, 2 x base, 4 x base... capped at 6 hours."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), cap_seconds))


IDEMPOTENCY_KEY_MAX = 300  # the column


def idempotency_key(registration_id: str, kind: str, recipient: str, occurrence: str) -> str:
    """(registration, kind, recipient, occurrence), readable; a longer one keeps its start and a SHA-256 of
    the whole, so it always fits its column and stays unique."""
    key = f"{registration_id}:{kind}:{recipient.strip().lower()}:{occurrence}"
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    return f"{key[:IDEMPOTENCY_KEY_MAX - 66]}:{hashlib.sha256(key.encode('utf-8', 'replace')).hexdigest()}"


class Mailroom:
    """Everything about an e-mail but the SMTP connection: queueing, rendering, attachments."""

    def __init__(self, settings: Settings, seller: Seller, schedule: Schedule,
                 templates: MailTemplates | None = None, *,
                 catalogue_of: Callable[[Session], Catalogue] | None = None) -> None:
        self.settings = settings
        self.seller = seller
        # The catalogue as it is when the e-mail is built (a moved date, a new address): read from the database.
        self.catalogue_of = catalogue_of or (lambda session: SqlCatalogue(session).current(schedule))
        self.templates = templates or MailTemplates()
        self.documents = DocumentStore(settings.documents_dir)
        self.sender_address = settings.mail_from or seller.email
        self.domain = self.sender_address.rsplit("@", 1)[-1]

    @property
    def org(self) -> dict[str, str]:
        s = self.seller
        return {"name": s.name, "street": s.street, "postal_code": s.postal_code, "city": s.city,
                "siret": s.siret, "activity_declaration": s.activity_declaration, "email": s.email,
                "phone": s.phone}

    def link_for(self, access_id: str) -> str:
        return join_link(self.settings.join_base_url, token_for(self.settings.require_secret("link_secret"), access_id))

    def enqueue(self, uow: UnitOfWork, *, registration_id: str, kind: str, recipient: str | None, occurrence: str,
                context: dict[str, Any], attachments: list[dict[str, Any]] | None = None,
                template: str | None = None) -> bool:
        """Queue an e-mail once; False if this key was already queued, or there is nobody to write to: no address,
        or not one valid address (a rejected form's; the rejection stays on the registration for support)."""
        if not recipient or normalise_email(recipient.strip()) is None:
            if recipient:
                log.warning("e-mail not queued: not one valid address", kind=kind, registration_id=registration_id)
            return False
        key = idempotency_key(registration_id, kind, recipient, occurrence)
        name = template or kind
        # The whole e-mail rendered, not just its subject: a template that fails does so here, in the handler's
        # transaction (retried, then parked for a person), not later in the sender.
        subject = self.templates.render(name, self._full_context(context)).subject[:300]
        now = uow.clock.now()
        return uow.emails.queue(EmailRow(
            idempotency_key=key, registration_id=registration_id, kind=kind, recipient=recipient.strip(),
            subject=subject, template=name, context=context, attachments=attachments or [], status=PENDING,
            attempts=0, next_attempt_at=now, last_error=None, message_id=message_id_for(key, self.domain),
            created_at=now, sent_at=None))

    def _full_context(self, context: dict[str, Any]) -> dict[str, Any]:
        full = {**context, "org": self.org}
        access_id = context.get("access_id")
        full["link"] = self.link_for(access_id) if access_id else None
        return full

    def render(self, row: EmailRow) -> Rendered:
        return self.templates.render(row.template, self._full_context(row.context))

    def message(self, session: Session, row: EmailRow, now: datetime) -> EmailMessage:
        return build_message(self.render(row), sender_name=self.seller.name, sender_address=self.sender_address,
                             recipient=row.recipient, message_id=row.message_id, sent_at=now,
                             attachments=[self._attachment(session, spec, now) for spec in row.attachments],
                             reply_to=self.seller.email,
                             headers={"X-Regflow-Kind": row.kind, "X-Regflow-Registration": row.registration_id})

    def document(self, session: Session, kind: DocumentKind, number: str) -> bytes:
        """An issued document's PDF by number: the one kept with it in the database (there from its commit on, before
        the store's copy is written), or the store's for a document issued before migration 0014."""
        kept = session.get(DocumentFileRow, document_name(kind, number))
        return kept.content if kept is not None else self.documents.read(kind, number)

    def _attachment(self, session: Session, spec: dict[str, Any], now: datetime) -> Attachment:
        """Documents by number (never from a path): the PDF kept with the issued document in the database, so the
        e-mail never waits for the store's copy (written after the commit); the store for a document issued before
        migration 0014. The `.ics` from the access."""
        if spec["type"] in ("invoice", "credit_note", "certificate", "interest_claim"):
            name = document_name(spec["type"], str(spec["number"]))
            return Attachment(name, self.document(session, spec["type"], str(spec["number"])), "application", "pdf")
        if spec["type"] == "document":  # queued before 0008: the name is checked by the store, the path ignored
            name = str(spec.get("filename", ""))
            return Attachment(name, self.documents.read_named(name), "application", "pdf")
        access = session.get(ParticipantAccessRow, spec["access_id"])
        catalogue = self.catalogue_of(session)
        found = catalogue.session(spec["session_id"])
        if access is None or found is None:
            raise LookupError(f"no access {spec['access_id']} or session {spec['session_id']} for the .ics")
        ics = self.invitation(access, catalogue, found, sequence=int(spec["sequence"]),
                              cancel=spec["method"] == "CANCEL", now=now)
        return Attachment("invitation.ics", ics, "text", "calendar", {"method": spec["method"]})

    def invitation(self, access: ParticipantAccessRow, catalogue: Catalogue, found: tuple[Training, SessionDate],
                   *, sequence: int, cancel: bool, now: datetime) -> bytes:
        """The participant's `.ics` (the e-mail's attachment, and the join service's download)."""
        training, session_date = found
        name = " ".join(p for p in (access.civilite, access.first_name, access.last_name) if p)
        link = None if cancel else self.link_for(access.id)
        return invitation_ics(Invite(
            uid=f"{hashlib.sha256(access.id.encode()).hexdigest()[:32]}@{self.domain}",
            sequence=sequence, method="CANCEL" if cancel else "REQUEST",
            starts=catalogue.starts_at(session_date), ends=catalogue.ends_at(session_date),
            summary=training.title,
            description=f"{training.title} - journée d'étude en visioconférence ({self.seller.name})."
                        + (f"\nLien personnel : {link}" if link else ""),
            link=link, organizer_name=self.seller.name, organizer_email=self.sender_address,
            attendee_name=name, attendee_email=access.email, stamp=now))


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


CLAIM_BATCH = 20  # e-mails claimed (and built) in one transaction: one claim per e-mail cost two round trips each


@dataclass(frozen=True)
class Claimed:
    email_id: int
    key: str
    message: EmailMessage | MailDeliveryError
    lease_until: datetime


def deliver_due(sessions: sessionmaker[Session], clock: Clock, mailroom: Mailroom, *,
                limit: int = 50) -> DeliveryReport:
    """Send the pending e-mails that are due, oldest first: claim a batch, then send and record them one e-mail at
    a time (each recorded right after the server's answer, so a crash repeats at most the one in flight).

    A transient failure stops the batch (the server is likely down for the others too) and is retried
    later. No database transaction is held open across the SMTP conversation: a database cut while the
    server answers cannot undo the record of an e-mail the server accepted (see `_record`). An e-mail
    whose lease is half spent before its turn is not sent on it: the rest of the batch is released and
    claimed again, so a slow server never lets a lease run out mid-conversation.
    """
    report = DeliveryReport()
    settings = mailroom.settings
    margin = timedelta(seconds=settings.mail_lease_seconds / 2)
    with SmtpMailer(settings) as mailer:
        while (done := len(report.sent) + len(report.retried) + len(report.failed)) < limit:
            batch = _claim_due(sessions, clock, mailroom, settings.mail_lease_seconds, min(CLAIM_BATCH, limit - done))
            if not batch:
                break
            for position, claimed in enumerate(batch):
                if position and datetime.now(UTC) > claimed.lease_until - margin:
                    _release(sessions, batch[position:])  # claimed again, with a fresh lease
                    break
                if not _deliver(sessions, clock, mailer, settings=settings, claimed=claimed, report=report):
                    _release(sessions, batch[position + 1:])
                    return report
    return report


def _deliver(sessions: sessionmaker[Session], clock: Clock, mailer: SmtpMailer, *, settings: Settings,
             claimed: Claimed, report: DeliveryReport) -> bool:
    """Send one claimed e-mail and record the answer; False when a transient failure stops the batch."""
    failure: MailDeliveryError | None
    if isinstance(claimed.message, MailDeliveryError):
        failure = claimed.message
    else:
        try:
            mailer.send(claimed.message)
            failure = None
        except MailDeliveryError as exc:
            failure = exc
    if failure is None:
        crash_point("notifications.after_smtp_before_commit")
        _record(sessions, clock, claimed.email_id, _mark_sent)
        report.sent.append(claimed.key)
        return True
    row_status = _record(sessions, clock, claimed.email_id, partial(_failed_attempt, error=failure,
                                                                    settings=settings, clock=clock))
    (report.failed if row_status == FAILED else report.retried).append(claimed.key)
    return failure.permanent


def _claim_due(sessions: sessionmaker[Session], clock: Clock, mailroom: Mailroom, lease_seconds: float,
               count: int) -> list[Claimed]:
    """Claim up to `count` due e-mails for `lease_seconds` of wall-clock time and build their messages.

    The lease is committed before the SMTP conversation starts, so another replica skips the rows while
    this one sends them. A sender that dies mid-way lets the leases expire and the e-mails go again.
    """
    with UnitOfWork(sessions, clock, actor=ACTOR) as uow:
        now, wall_now = clock.now(), datetime.now(UTC)
        query = (select(EmailRow)
                 .where(EmailRow.status == PENDING, EmailRow.next_attempt_at <= now,
                        or_(EmailRow.lease_until.is_(None), EmailRow.lease_until < wall_now))
                 .order_by(EmailRow.next_attempt_at, EmailRow.id).limit(count))
        if uow.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        lease_until = wall_now + timedelta(seconds=lease_seconds)
        batch = []
        for row in uow.session.scalars(query).all():
            built: EmailMessage | MailDeliveryError
            try:
                built = mailroom.message(uow.session, row, now)
            except (OSError, LookupError) as exc:  # a PDF not written yet: it may come
                built = MailDeliveryError(f"cannot build the message: {type(exc).__name__}: {exc}", permanent=False)
            except ValueError as exc:  # a recipient a header would misread, a value no message can carry: never
                built = MailDeliveryError(f"cannot build the message: {type(exc).__name__}: {exc}", permanent=True)
            row.lease_until = lease_until
            batch.append(Claimed(row.id, row.idempotency_key, built, lease_until))
        uow.commit()
    return batch


def _release(sessions: sessionmaker[Session], unsent: list[Claimed]) -> None:
    """Give back the leases of claimed e-mails not sent on this round (still ours: the lease is unchanged)."""
    if not unsent:
        return
    with sessions() as session:
        for claimed in unsent:
            session.execute(update(EmailRow).where(EmailRow.id == claimed.email_id, EmailRow.status == PENDING,
                                                   EmailRow.lease_until == claimed.lease_until)
                            .values(lease_until=None))
        session.commit()


RECORD_RETRY_SECONDS = 30.0  # how long a sender insists on recording an SMTP answer while the database is away


def _record(sessions: sessionmaker[Session], clock: Clock, email_id: int,
            apply: Callable[[UnitOfWork, int], str]) -> str:
    """Record the SMTP server's answer, insisting while the database is unreachable.

    The server has answered: giving up here would let the lease expire and send an accepted e-mail
    again, so a lost database connection is retried for `RECORD_RETRY_SECONDS` (our lease keeps the
    other replicas away meanwhile).
    """
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    while True:
        try:
            with UnitOfWork(sessions, clock, actor=ACTOR) as uow:
                status = apply(uow, email_id)
                uow.commit()
            return status
        except DBAPIError as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database unreachable while recording an SMTP answer, insisting", email_id=email_id,
                        error=str(exc.orig))
            time.sleep(0.5)


_EMAILS = Base.metadata.tables[EmailRow.__tablename__]
# Core, on the table: the ORM's UPDATE … RETURNING costs more than the read and flush it replaces.
# Only a pending row: when a commit that did land is reported lost (the connection cut after the server committed)
# and `_record` applies it again, the row is already sent and no second `email.sent` is published.
_SENT = (update(_EMAILS).where(_EMAILS.c.id == bindparam("email_id"), _EMAILS.c.status == PENDING)
         .values(attempts=_EMAILS.c.attempts + 1, status=SENT, sent_at=bindparam("sent_at"), last_error=None,
                 lease_until=None)
         .returning(_EMAILS.c.kind, _EMAILS.c.recipient, _EMAILS.c.subject, _EMAILS.c.message_id,
                    _EMAILS.c.attempts, _EMAILS.c.registration_id))


def _mark_sent(uow: UnitOfWork, email_id: int) -> str:
    """One `UPDATE … RETURNING` (the row is not read first: four e-mails a registration, each recorded alone)."""
    sent = uow.session.connection().execute(_SENT, {"email_id": email_id, "sent_at": uow.clock.now()}).one_or_none()
    if sent is None:
        return _already_recorded(uow, email_id)
    uow.publish("email.sent", EmailSent(kind=sent.kind, recipient=sent.recipient, subject=sent.subject,
                                        message_id=sent.message_id, attempts=sent.attempts), sent.registration_id)
    log.info("e-mail sent", kind=sent.kind, email_id=email_id, attempts=sent.attempts)
    return SENT


def _failed_attempt(uow: UnitOfWork, email_id: int, *, error: MailDeliveryError, settings: Settings,
                    clock: Clock) -> str:
    row = uow.session.get(EmailRow, email_id)
    if row is None or row.status != PENDING:
        return _already_recorded(uow, email_id)
    now = clock.now()
    row.attempts += 1
    row.last_error = str(error)[:2000]
    row.lease_until = None
    if error.permanent or row.attempts >= settings.mail_max_attempts:
        row.status = FAILED
        uow.publish("email.failed", EmailFailed(kind=row.kind, recipient=row.recipient, subject=row.subject,
                                                attempts=row.attempts, error=row.last_error,
                                                permanent=error.permanent), row.registration_id)
        log.error("e-mail failed, reported", kind=row.kind, email_id=row.id, attempts=row.attempts,
                  error=row.last_error)
    else:
        row.next_attempt_at = now + retry_delay(row.attempts, settings.mail_retry_base_seconds)
        log.warning("e-mail not sent, will retry", kind=row.kind, email_id=row.id, attempts=row.attempts,
                    retry_at=row.next_attempt_at.isoformat(), error=row.last_error)
    return row.status


def _already_recorded(uow: UnitOfWork, email_id: int) -> str:
    """The answer was recorded already (a commit retried after it landed): nothing written, nothing published."""
    status = uow.session.scalar(select(EmailRow.status).where(EmailRow.id == email_id))
    if status is None:
        raise LookupError(f"e-mail {email_id} vanished")
    log.warning("SMTP answer already recorded, not recorded again", email_id=email_id, status=status)
    return str(status)


def retry_failed(sessions: sessionmaker[Session], clock: Clock, ids: list[int] | None = None) -> int:
    """Operations, once the cause is fixed: failed e-mails go back to pending with a fresh budget."""
    with sessions() as session:
        query = update(EmailRow).where(EmailRow.status == FAILED)
        if ids:
            query = query.where(EmailRow.id.in_(ids))
        result = session.execute(query.values(status=PENDING, attempts=0, next_attempt_at=clock.now()))
        session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
