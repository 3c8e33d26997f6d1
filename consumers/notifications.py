"""Notifications consumer: every e-mail the documents promise, queued once, sent by SMTP, reminders.

On events it queues e-mails in the outbox (`workflow.adapters.mailroom`) and keeps the participants' personal
accesses and the reminders table; every `REGFLOW_MAIL_POLL_SECONDS` it turns due reminders into
e-mails and sends the pending ones.
- registration.confirmed: confirmation to the gestionnaire; to each participant an invitation with a
  personal link and an `.ics`; reminders scheduled (default 3 hours and 15 minutes before the start);
- invoice.issued / credit_note.issued: the PDF to the gestionnaire;
- registration.rejected: the list of errors to the gestionnaire;
- registration.participant_replaced: the old link revoked, the newcomer invited, both told, and the
  gestionnaire too;
- registration.moved: new date to everyone (same link, updated `.ics`), reminders moved;
- registration.cancelled: links revoked, reminders cancelled, everyone told (`.ics` CANCEL).

Why a table for reminders rather than delayed messages: a reminder must be cancelled when the session is
cancelled or moved and must follow a substitution; a row can be updated, a message in flight cannot.
RabbitMQ also has no built-in delayed delivery (the plugin is not installed everywhere, and per-message
TTLs expire in queue order, not due order). The table survives restarts of the consumer and the broker.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from consumers.runner import ConsumerApp
from schemas.form import Participant
from schemas.limits import quoted
from schemas.messages import (
    CreditNoteIssued,
    Envelope,
    InvoiceIssued,
    ParticipantReplaced,
    RegistrationMoved,
    RegistrationRejected,
    RegistrationTransitioned,
)
from workflow.adapters.email_message import french_date, french_delay, french_time
from workflow.adapters.mailroom import deliver_due
from workflow.bootstrap import Deps
from workflow.domain.access_links import ACTIVE, REVOKED, new_access_id, token_for, token_hash
from workflow.domain.errors import DependencyNotReadyError, InconsistentMessageError
from workflow.domain.form_rules import euros
from workflow.domain.invoice import VAT_EXEMPTION, payment_terms
from workflow.domain.registration import Registration
from workflow.domain.reminders import CANCELLED, SCHEDULED, SENT, SKIPPED, decide_reminder, plan_reminders
from workflow.persistence.orm import CreditNoteRow, InvoiceRow, ParticipantAccessRow, ReminderRow
from workflow.persistence.unit_of_work import UnitOfWork

ACTOR = "notifications"


def _registration(message: Envelope, uow: UnitOfWork) -> Registration:
    registration = uow.registrations.get(message.registration_id or "")
    if registration is None:
        raise DependencyNotReadyError(f"registration {message.registration_id} not visible yet")
    return registration


def _full_name(person: Participant | ParticipantAccessRow) -> str:
    return " ".join(p for p in (person.civilite, person.first_name, person.last_name) if p)


def _gestionnaire_name(registration: Registration) -> str:
    g = registration.form.gestionnaire
    return " ".join(p for p in (g.first_name, g.last_name) if p)


def session_context(deps: Deps, session_id: str) -> dict[str, Any]:
    found = deps.catalogue.session(session_id)
    if found is None:
        raise DependencyNotReadyError(f"session {session_id} is not in this process's catalogue")
    training, session = found
    parts = deps.catalogue.schedule.parts
    return {"id": session_id, "title": training.title, "date": french_date(session.date),
            "starts": french_time(parts[0].start), "ends": french_time(parts[-1].end),
            "parts": [f"{french_time(p.start)} à {french_time(p.end)}" for p in parts]}


def _reminder_delays(deps: Deps) -> list[str]:
    return [french_delay(m) for m in sorted(set(deps.settings.reminder_offsets_minutes), reverse=True)]


def _active_accesses(uow: UnitOfWork, registration_id: str) -> list[ParticipantAccessRow]:
    return list(uow.session.scalars(select(ParticipantAccessRow).where(
        ParticipantAccessRow.registration_id == registration_id, ParticipantAccessRow.status == ACTIVE)
        .order_by(ParticipantAccessRow.created_at, ParticipantAccessRow.email)))


def _grant_access(uow: UnitOfWork, deps: Deps, registration: Registration, participant: Participant
                  ) -> ParticipantAccessRow:
    access_id = new_access_id()
    access = ParticipantAccessRow(
        id=access_id, registration_id=registration.id, session_id=registration.session_id or "",
        email=(participant.email or "").lower(), civilite=participant.civilite, first_name=participant.first_name,
        last_name=participant.last_name,
        token_hash=token_hash(token_for(deps.settings.require_secret("link_secret"), access_id)),
        status=ACTIVE, sequence=0, created_at=uow.clock.now(), revoked_at=None, revoked_reason=None)
    uow.session.add(access)
    return access


def _revoke(uow: UnitOfWork, access: ParticipantAccessRow, reason: str) -> None:
    access.status = REVOKED
    access.revoked_at = uow.clock.now()
    access.revoked_reason = reason
    access.sequence += 1


def _invite(uow: UnitOfWork, deps: Deps, registration: Registration, access: ParticipantAccessRow) -> None:
    deps.mail.enqueue(uow, registration_id=registration.id, kind="invitation", recipient=access.email,
                      occurrence=access.id, context={
                          "participant_name": _full_name(access), "client_name": registration.form.client.name,
                          "session": session_context(deps, access.session_id), "access_id": access.id,
                          "reminders": _reminder_delays(deps)},
                      attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                                    "method": "REQUEST", "sequence": access.sequence}])


def _schedule_reminders(uow: UnitOfWork, deps: Deps, registration: Registration) -> None:
    session_id = registration.session_id or ""
    found = deps.catalogue.session(session_id)
    if found is None:
        return
    now = uow.clock.now()
    existing = set(uow.session.scalars(select(ReminderRow.offset_minutes).where(
        ReminderRow.registration_id == registration.id, ReminderRow.session_id == session_id)))
    for planned in plan_reminders(deps.catalogue.starts_at(found[1]), deps.settings.reminder_offsets_minutes, now):
        if planned.offset_minutes in existing:
            continue
        uow.session.add(ReminderRow(
            registration_id=registration.id, session_id=session_id, offset_minutes=planned.offset_minutes,
            due_at=planned.due_at, status=planned.status, reason=planned.reason,
            done_at=None if planned.status == SCHEDULED else now))


def _cancel_reminders(uow: UnitOfWork, registration_id: str, reason: str) -> None:
    for reminder in uow.session.scalars(select(ReminderRow).where(
            ReminderRow.registration_id == registration_id, ReminderRow.status == SCHEDULED)):
        reminder.status = CANCELLED
        reminder.reason = reason
        reminder.done_at = uow.clock.now()


# --- handlers ---------------------------------------------------------------------------------------


def handle_confirmed(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, deps: Deps) -> None:
    """Confirmation to the gestionnaire; an invitation with a personal link to each participant."""
    registration = _registration(message, uow)
    form = registration.form
    session_id = registration.session_id or ""
    found = deps.catalogue.session(session_id)
    price = found[0].price_per_participant if found else None
    names = [_full_name(p) for p in form.participants]
    deps.mail.enqueue(uow, registration_id=registration.id, kind="confirmation", recipient=form.gestionnaire.email,
                      occurrence="1", context={
                          "gestionnaire_name": _gestionnaire_name(registration), "client_name": form.client.name,
                          "registration_id": registration.id, "session": session_context(deps, session_id),
                          "participants": names, "unit_price": euros(price) if price is not None else "?",
                          "total": euros(price * len(names)) if price is not None else "?",
                          "vat_note": VAT_EXEMPTION if found and found[0].vat == "exempt" else "TTC",
                          "reminders": _reminder_delays(deps)})
    if not _active_accesses(uow, registration.id):
        for participant in form.participants:
            _invite(uow, deps, registration, _grant_access(uow, deps, registration, participant))
    _schedule_reminders(uow, deps, registration)


def handle_rejected(message: Envelope, event: RegistrationRejected, uow: UnitOfWork, deps: Deps) -> None:
    registration = _registration(message, uow)
    deps.mail.enqueue(uow, registration_id=registration.id, kind="rejection",
                      recipient=registration.form.gestionnaire.email, occurrence=str(message.event_id), context={
                          "gestionnaire_name": _gestionnaire_name(registration), "registration_id": registration.id,
                          "errors": [{"field": e.field, "message": e.message_fr} for e in event.errors]})


def handle_invoice_issued(message: Envelope, event: InvoiceIssued, uow: UnitOfWork, deps: Deps) -> None:
    """The invoice PDF (Factur-X) to the person who registered; it stands as the training agreement. What the
    e-mail says and attaches comes from the invoice issued in the database, not from the event."""
    registration = _registration(message, uow)
    invoice = uow.session.scalars(select(InvoiceRow).where(
        InvoiceRow.number == event.invoice_number, InvoiceRow.registration_id == registration.id)).first()
    if invoice is None:
        raise InconsistentMessageError(f"no invoice {event.invoice_number} issued for {registration.id}")
    found = deps.catalogue.session(registration.session_id or "")
    terms = (payment_terms(registration.form, invoice.due_on, found[1].date) if found and invoice.due_on
             else "Payable selon les conditions indiquées sur la facture.")
    replaces = uow.session.scalars(select(CreditNoteRow.invoice_number).where(
        CreditNoteRow.registration_id == registration.id).order_by(CreditNoteRow.id.desc())).first()
    deps.mail.enqueue(uow, registration_id=registration.id, kind="invoice",
                      recipient=registration.form.gestionnaire.email, occurrence=invoice.number, context={
                          "gestionnaire_name": _gestionnaire_name(registration),
                          "client_name": registration.form.client.name, "invoice_number": invoice.number,
                          "issued_on": french_date(invoice.issued_on), "total": euros(invoice.total),
                          "is_agreement": bool(found and found[0].invoice_is_training_agreement),
                          "payment_terms": terms, "replaces": replaces,
                          "session": session_context(deps, registration.session_id or "")},
                      attachments=[{"type": "invoice", "number": invoice.number}])


def handle_credit_note_issued(message: Envelope, event: CreditNoteIssued, uow: UnitOfWork, deps: Deps) -> None:
    """The credit note to the gestionnaire, from the credit note issued in the database."""
    registration = _registration(message, uow)
    credit = uow.session.scalars(select(CreditNoteRow).where(
        CreditNoteRow.number == event.credit_note_number, CreditNoteRow.registration_id == registration.id)).first()
    if credit is None:
        raise InconsistentMessageError(f"no credit note {event.credit_note_number} issued for {registration.id}")
    deps.mail.enqueue(uow, registration_id=registration.id, kind="credit_note",
                      recipient=registration.form.gestionnaire.email, occurrence=credit.number, context={
                          "gestionnaire_name": _gestionnaire_name(registration),
                          "credit_note_number": credit.number, "invoice_number": credit.invoice_number,
                          "total": euros(credit.total), "reason": credit.reason},
                      attachments=[{"type": "credit_note", "number": credit.number}])


def handle_participant_replaced(message: Envelope, event: ParticipantReplaced, uow: UnitOfWork, deps: Deps) -> None:
    """The replaced participant's link stops working; the newcomer gets an invitation (and the reminders
    still to come, which go to whoever holds an active access when they are due)."""
    registration = _registration(message, uow)
    old_email = (event.replaced.email or "").lower()
    revoked = [a for a in _active_accesses(uow, registration.id) if a.email == old_email]
    replacement_name = _full_name(event.replacement)
    session = session_context(deps, registration.session_id or "")
    for access in revoked:  # the newcomer's data only quoted, bounded: the revocation never depends on it
        _revoke(uow, access, f"replaced by {quoted(replacement_name, 200)} <{quoted(event.replacement.email, 254)}>, "
                             f"asked by {quoted(event.requested_by, 100)}")
        deps.mail.enqueue(uow, registration_id=registration.id, kind="access_revoked", recipient=access.email,
                          occurrence=access.id, context={
                              "participant_name": _full_name(access), "client_name": registration.form.client.name,
                              "replacement_name": replacement_name, "session": session},
                          attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                                        "method": "CANCEL", "sequence": access.sequence}])
    _invite(uow, deps, registration, _grant_access(uow, deps, registration, event.replacement))
    deps.mail.enqueue(uow, registration_id=registration.id, kind="participant_replaced",
                      recipient=registration.form.gestionnaire.email, occurrence=str(message.event_id), context={
                          "gestionnaire_name": _gestionnaire_name(registration),
                          "replaced_name": _full_name(event.replaced), "replacement_name": replacement_name,
                          "replacement_email": event.replacement.email, "requested_by": event.requested_by,
                          "requested_on": french_date(event.requested_at.astimezone(deps.catalogue.schedule.zone)
                                                      .date()),
                          "session": session})


def handle_moved(message: Envelope, event: RegistrationMoved, uow: UnitOfWork, deps: Deps) -> None:
    """Same links, new date: every participant told with an updated `.ics`; reminders follow the date."""
    registration = _registration(message, uow)
    found = deps.catalogue.session(event.from_session_id)
    previous = french_date(found[1].date) if found else event.from_session_id
    _cancel_reminders(uow, registration.id, f"the session moved to {event.to_session_id}")
    accesses = _active_accesses(uow, registration.id)
    session = session_context(deps, event.to_session_id)
    for access in accesses:
        access.session_id = event.to_session_id
        access.sequence += 1
        deps.mail.enqueue(uow, registration_id=registration.id, kind="session_moved", recipient=access.email,
                          occurrence=f"{access.id}:{event.to_session_id}", context={
                              "participant_name": _full_name(access), "session": session, "previous_date": previous,
                              "reason": event.reason, "access_id": access.id},
                          attachments=[{"type": "ics", "access_id": access.id, "session_id": event.to_session_id,
                                        "method": "REQUEST", "sequence": access.sequence}])
    if accesses:  # confirmed before the move: the gestionnaire is told, reminders are set for the new date
        deps.mail.enqueue(uow, registration_id=registration.id, kind="session_moved",
                          recipient=registration.form.gestionnaire.email, occurrence=event.to_session_id, context={
                              "participant_name": _gestionnaire_name(registration), "session": session,
                              "previous_date": previous, "reason": event.reason, "access_id": None})
        _schedule_reminders(uow, deps, registration)


def handle_cancelled(message: Envelope, event: RegistrationTransitioned, uow: UnitOfWork, deps: Deps) -> None:
    """The session will not be held: links revoked, reminders cancelled, everyone told."""
    registration = _registration(message, uow)
    reason = event.reason or "annulation de la session"
    session = session_context(deps, registration.session_id or "")
    _cancel_reminders(uow, registration.id, f"the session was cancelled: {reason}")
    for access in _active_accesses(uow, registration.id):
        _revoke(uow, access, f"session cancelled: {reason}")
        deps.mail.enqueue(uow, registration_id=registration.id, kind="session_cancelled", recipient=access.email,
                          occurrence=access.id, context={
                              "name": _full_name(access), "session": session, "reason": reason,
                              "for_participant": True},
                          attachments=[{"type": "ics", "access_id": access.id, "session_id": access.session_id,
                                        "method": "CANCEL", "sequence": access.sequence}])
    deps.mail.enqueue(uow, registration_id=registration.id, kind="session_cancelled",
                      recipient=registration.form.gestionnaire.email, occurrence=registration.session_id or "",
                      context={"name": _gestionnaire_name(registration), "session": session, "reason": reason,
                               "for_participant": False})


# --- every tick ---------------------------------------------------------------------------------------


def send_due_reminders(deps: Deps, *, limit: int = 200) -> int:
    """Turn the reminders that are due into e-mails to the participants holding an access now."""
    queued = 0
    with UnitOfWork(deps.sessions, deps.clock, actor=ACTOR) as uow:
        now = uow.clock.now()
        query = (select(ReminderRow).where(ReminderRow.status == SCHEDULED, ReminderRow.due_at <= now)
                 .order_by(ReminderRow.due_at, ReminderRow.id).limit(limit))
        if uow.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for reminder in uow.session.scalars(query):
            registration = uow.registrations.get(reminder.registration_id)
            found = deps.catalogue.session(reminder.session_id)
            if registration is None or found is None:
                reminder.status, reminder.reason = SKIPPED, "registration or session not found"
                reminder.done_at = now
                continue
            decision = decide_reminder(now=now, due_at=reminder.due_at, starts_at=deps.catalogue.starts_at(found[1]),
                                       registration_state=registration.state,
                                       registration_session_id=registration.session_id,
                                       reminder_session_id=reminder.session_id)
            reminder.status = SENT if decision.send else SKIPPED
            reminder.reason = decision.reason
            reminder.done_at = now
            if not decision.send:
                continue
            session = session_context(deps, reminder.session_id)
            for access in _active_accesses(uow, registration.id):
                queued += deps.mail.enqueue(
                    uow, registration_id=registration.id, kind="reminder", recipient=access.email,
                    occurrence=f"{reminder.session_id}@{reminder.offset_minutes}m", context={
                        "participant_name": _full_name(access), "session": session, "access_id": access.id,
                        "delay": french_delay(reminder.offset_minutes)})
        uow.commit()
    return queued


def tick(deps: Deps, budget_seconds: float = 2.0) -> None:
    """Reminders due, then e-mails in batches until none is due or the budget is spent (the consumer
    then goes back to its queue: messages waiting are not held up by a long backlog of e-mails)."""
    send_due_reminders(deps)
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        report = deliver_due(deps.sessions, deps.clock, deps.mail)
        if not report.sent or report.retried or report.failed:
            return


APP = ConsumerApp(ACTOR, {
    "registration.confirmed": handle_confirmed,
    "registration.rejected": handle_rejected,
    "invoice.issued": handle_invoice_issued,
    "credit_note.issued": handle_credit_note_issued,
    "registration.participant_replaced": handle_participant_replaced,
    "registration.moved": handle_moved,
    "registration.cancelled": handle_cancelled,
}, periodic=tick, period_setting="mail_poll_seconds", secrets=("link_secret",))
