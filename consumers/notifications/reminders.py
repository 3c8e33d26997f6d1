"""Reminders before a session: planned on confirmation, cancelled or moved with it, turned into e-mails when due.

A table rather than delayed messages: see `consumers.notifications`.
"""

from __future__ import annotations

from consumers.notifications.contexts import full_name, session_context
from workflow.adapters.email_message import french_delay
from workflow.adapters.mailroom import Mailroom
from workflow.domain.catalogue import Catalogue
from workflow.domain.registration import Registration
from workflow.domain.reminders import CANCELLED, SCHEDULED, SENT, SKIPPED, decide_reminder, plan_reminders
from workflow.persistence.orm import ReminderRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings


def schedule_reminders(uow: UnitOfWork, catalogue: Catalogue, settings: Settings, registration: Registration) -> None:
    """One reminder per offset before the registration's session; one already planned is kept as it is."""
    session_id = registration.session_id or ""
    found = catalogue.session(session_id)
    if found is None:
        return
    now = uow.clock.now()
    existing = uow.reminders.offsets_planned(registration.id, session_id)
    for planned in plan_reminders(catalogue.starts_at(found[1]), settings.reminder_offsets_minutes, now):
        if planned.offset_minutes in existing:
            continue
        uow.reminders.add(ReminderRow(
            registration_id=registration.id, session_id=session_id, offset_minutes=planned.offset_minutes,
            due_at=planned.due_at, status=planned.status, reason=planned.reason,
            done_at=None if planned.status == SCHEDULED else now))


def cancel_reminders(uow: UnitOfWork, registration_id: str, reason: str) -> None:
    for reminder in uow.reminders.scheduled_of(registration_id):
        reminder.status = CANCELLED
        reminder.reason = reason
        reminder.done_at = uow.clock.now()


def queue_due_reminders(uow: UnitOfWork, catalogue: Catalogue, mail: Mailroom, *, limit: int) -> int:
    """The reminders due now as e-mails to the participants holding an access now, in a unit of work the
    caller commits; a reminder that no longer makes sense is skipped with its reason."""
    queued = 0
    now = uow.clock.now()
    for reminder in uow.reminders.due(now, limit):
        registration = uow.registrations.get(reminder.registration_id)
        found = catalogue.session(reminder.session_id)
        if registration is None or found is None:
            reminder.status, reminder.reason = SKIPPED, "registration or session not found"
            reminder.done_at = now
            continue
        decision = decide_reminder(now=now, due_at=reminder.due_at, starts_at=catalogue.starts_at(found[1]),
                                   registration_state=registration.state,
                                   registration_session_id=registration.session_id,
                                   reminder_session_id=reminder.session_id)
        reminder.status = SENT if decision.send else SKIPPED
        reminder.reason = decision.reason
        reminder.done_at = now
        if not decision.send:
            continue
        session = session_context(catalogue, reminder.session_id)
        for access in uow.accesses.active_of(registration.id):
            queued += mail.enqueue(
                uow, registration_id=registration.id, kind="reminder", recipient=access.email,
                occurrence=f"{reminder.session_id}@{reminder.offset_minutes}m", context={
                    "participant_name": full_name(access), "session": session, "access_id": access.id,
                    "delay": french_delay(reminder.offset_minutes)})
    return queued
