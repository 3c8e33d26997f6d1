"""The notifications consumer's handlers, in memory: which e-mail goes to whom, the personal accesses, the
reminders."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from consumers import notifications
from consumers.notifications.reminders import queue_due_reminders
from schemas.form import Participant
from schemas.messages import (
    CreditNoteIssued,
    InvoiceIssued,
    ParticipantReplaced,
    RegistrationMoved,
    RegistrationRejected,
    RegistrationTransitioned,
    RuleViolation,
)
from tests.unit.fakes import CATALOGUE, SETTINGS, Office, seed_form
from workflow.adapters.mailroom import Mailroom
from workflow.bootstrap import seller_of
from workflow.domain.access_links import ACTIVE, REVOKED, token_for, token_hash
from workflow.domain.clock import PARIS
from workflow.domain.errors import InconsistentMessageError
from workflow.domain.machine import State
from workflow.domain.reminders import CANCELLED, SCHEDULED, SENT, SKIPPED
from workflow.persistence.orm import CreditNoteRow, InvoiceRow

GESTIONNAIRE = "formation@valdemarne.fr"
CLAIRE, PAUL = "claire.durand@valdemarne.fr", "paul.leroy@valdemarne.fr"
HANDICAP = "cpom-handicap-2023-09-15"  # starts Friday 15 September 2023 at 09:30, Paris
MARCH, OCTOBER = "cpom-aide-domicile-2024-03-21", "cpom-aide-domicile-2024-10-11"


@pytest.fixture
def office() -> Office:
    office = Office(notifications.ACTOR)
    office.given("r-1", State.CONFIRMED)
    return office


def confirmed(office: Office, registration_id: str = "r-1") -> None:
    office.handle(notifications.handle_confirmed, "registration.confirmed", RegistrationTransitioned(
        from_state="signed", to_state="confirmed", trigger="confirm"), registration_id=registration_id)


def cancelled(office: Office, reason: str | None = "formateur malade") -> None:
    office.registration("r-1").state = State.CANCELLED
    office.handle(notifications.handle_cancelled, "registration.cancelled", RegistrationTransitioned(
        from_state="confirmed", to_state="cancelled", trigger="cancel_session", reason=reason), registration_id="r-1")


def moved(office: Office, to_session_id: str = OCTOBER) -> None:
    registration = office.registration("r-1")
    before = registration.session_id or ""
    registration.form = registration.form.model_copy(update={"session_id": to_session_id})
    office.handle(notifications.handle_moved, "registration.moved", RegistrationMoved(
        from_session_id=before, to_session_id=to_session_id, reason="salle indisponible", state=registration.state),
        registration_id="r-1")


def test_a_confirmation_mails_the_gestionnaire_and_invites_each_participant_with_a_personal_link(
        office: Office) -> None:
    confirmed(office)

    assert office.mail.sent_to(GESTIONNAIRE) == ["confirmation"]
    assert office.mail.sent_to(CLAIRE) == ["invitation"]
    assert office.mail.sent_to(PAUL) == ["invitation"]
    [confirmation] = office.mail.of_kind("confirmation")
    assert {k: confirmation.context[k] for k in ("gestionnaire_name", "participants", "unit_price", "total")} == {
        "gestionnaire_name": "Sophie MARTIN", "participants": ["Mme Claire DURAND", "M. Paul LEROY"],
        "unit_price": "595,00 €", "total": "1 190,00 €"}
    assert confirmation.context["session"]["date"] == "vendredi 15 septembre 2023"
    assert confirmation.context["reminders"] == ["3 heures", "15 minutes"]
    accesses = office.uow.accesses.active_of("r-1")
    assert [a.email for a in accesses] == [CLAIRE, PAUL]
    invitation = office.mail.of_kind("invitation")[0]
    access = next(a for a in accesses if a.email == invitation.recipient)
    assert invitation.context["access_id"] == access.id
    assert invitation.attachments == [{"type": "ics", "access_id": access.id, "session_id": HANDICAP,
                                       "method": "REQUEST", "sequence": 0}]
    # only the hash of the link's token is kept
    assert access.token_hash == token_hash(token_for(SETTINGS.require_secret("link_secret"), access.id))


def test_a_confirmation_schedules_the_reminders_before_the_start(office: Office) -> None:
    confirmed(office)

    reminders = office.uow.reminders.rows
    assert [(r.offset_minutes, r.due_at, r.status) for r in reminders] == [
        (180, datetime(2023, 9, 15, 6, 30, tzinfo=PARIS), SCHEDULED),
        (15, datetime(2023, 9, 15, 9, 15, tzinfo=PARIS), SCHEDULED)]


def test_a_reminder_already_due_at_confirmation_is_skipped_not_sent_a_minute_after_the_invitation(
        office: Office) -> None:
    office.at(datetime(2023, 9, 15, 7, tzinfo=PARIS))

    confirmed(office)

    assert [(r.offset_minutes, r.status) for r in office.uow.reminders.rows] == [(180, SKIPPED), (15, SCHEDULED)]


def test_a_confirmation_redelivered_invites_nobody_twice(office: Office) -> None:
    confirmed(office)
    confirmed(office)

    assert len(office.uow.accesses.rows) == 2
    assert len(office.uow.reminders.rows) == 2
    assert [m.kind for m in office.mail.queued] == ["confirmation", "invitation", "invitation"]


def test_a_rejection_lists_the_errors_to_the_gestionnaire(office: Office) -> None:
    errors = [RuleViolation(rule="total_matches", field="declared_total", message_fr="Le montant est faux.",
                            message_en="wrong total")]

    office.handle(notifications.handle_rejected, "registration.rejected", RegistrationRejected(
        from_state="received", to_state="rejected", trigger="reject", errors=errors), registration_id="r-1")

    [rejection] = office.mail.queued
    assert (rejection.kind, rejection.recipient) == ("rejection", GESTIONNAIRE)
    assert rejection.context["errors"] == [{"field": "declared_total", "message": "Le montant est faux."}]


def test_a_rejection_of_a_form_without_one_valid_address_is_not_mailed(office: Office) -> None:
    office.given("r-2", State.REJECTED, seed_form("handicap-departement.json", gestionnaire={"email": "nobody@"}))

    office.handle(notifications.handle_rejected, "registration.rejected", RegistrationRejected(
        from_state="received", to_state="rejected", trigger="reject", errors=[]), registration_id="r-2")

    assert office.mail.queued == []


def invoice(office: Office, number: str = "2023-000001", registration_id: str = "r-1") -> InvoiceIssued:
    office.uow.invoices.add(InvoiceRow(
        number=number, year=2023, sequence=int(number[-6:]), registration_id=registration_id,
        issued_on=date(2023, 9, 1), lines=[], quantity=2, unit_price=Decimal("595.00"), total=Decimal("1190.00"),
        due_on=date(2023, 10, 15), document_path=None, created_at=office.clock.now()))
    return InvoiceIssued(invoice_number=number, issued_on=date(2023, 9, 1), total=Decimal("1190.00"),
                         due_on=date(2023, 10, 15))


def credit_note(office: Office, number: str, invoice_number: str) -> CreditNoteIssued:
    office.uow.credit_notes.add(CreditNoteRow(
        number=number, year=2023, sequence=int(number[-6:]), invoice_number=invoice_number, registration_id="r-1",
        issued_on=date(2023, 9, 1), total=Decimal("1190.00"), lines=[], reason="raison sociale erronée",
        document_path=None, created_at=office.clock.now()))
    return CreditNoteIssued(credit_note_number=number, invoice_number=invoice_number, issued_on=date(2023, 9, 1),
                            total=Decimal("1190.00"), reason="raison sociale erronée")


def test_the_invoice_goes_to_the_gestionnaire_as_the_training_agreement_with_its_pdf(office: Office) -> None:
    office.handle(notifications.handle_invoice_issued, "invoice.issued", invoice(office), registration_id="r-1")

    [mail] = office.mail.queued
    assert (mail.kind, mail.recipient, mail.attachments) == (
        "invoice", GESTIONNAIRE, [{"type": "invoice", "number": "2023-000001"}])
    assert {k: mail.context[k] for k in ("invoice_number", "total", "is_agreement", "replaces")} == {
        "invoice_number": "2023-000001", "total": "1 190,00 €", "is_agreement": True, "replaces": None}
    assert "15/10/2023" in mail.context["payment_terms"]


def test_a_replacing_invoice_says_which_one_it_replaces(office: Office) -> None:
    invoice(office)
    credit_note(office, "2023-000002", "2023-000001")

    office.handle(notifications.handle_invoice_issued, "invoice.issued", invoice(office, "2023-000003"),
                  registration_id="r-1")

    assert office.mail.queued[0].context["replaces"] == "2023-000001"


def test_an_invoice_event_regflow_did_not_issue_for_this_registration_is_inconsistent(office: Office) -> None:
    office.given("r-2", State.INVOICED)
    issued = invoice(office, registration_id="r-2")

    with pytest.raises(InconsistentMessageError):
        office.handle(notifications.handle_invoice_issued, "invoice.issued", issued, registration_id="r-1")
    assert office.mail.queued == []


def test_the_credit_note_goes_to_the_gestionnaire_with_its_pdf(office: Office) -> None:
    invoice(office)

    office.handle(notifications.handle_credit_note_issued, "credit_note.issued",
                  credit_note(office, "2023-000002", "2023-000001"), registration_id="r-1")

    [mail] = office.mail.queued
    assert (mail.kind, mail.recipient, mail.attachments) == (
        "credit_note", GESTIONNAIRE, [{"type": "credit_note", "number": "2023-000002"}])
    assert (mail.context["invoice_number"], mail.context["total"], mail.context["reason"]) == (
        "2023-000001", "1 190,00 €", "raison sociale erronée")


def test_an_unknown_credit_note_is_inconsistent(office: Office) -> None:
    with pytest.raises(InconsistentMessageError):
        office.handle(notifications.handle_credit_note_issued, "credit_note.issued", CreditNoteIssued(
            credit_note_number="2023-000009", invoice_number="2023-000001", issued_on=date(2023, 9, 1),
            total=Decimal("1.00"), reason="?"), registration_id="r-1")


NEWCOMER = Participant(civilite="Mme", first_name="Anne", last_name="PETIT", email="anne.petit@valdemarne.fr")


def test_a_replaced_participants_link_is_revoked_and_the_newcomer_invited(office: Office) -> None:
    confirmed(office)
    paul = next(a for a in office.uow.accesses.rows if a.email == PAUL)
    replaced = office.registration("r-1").form.participants[1]

    office.handle(notifications.handle_participant_replaced, "registration.participant_replaced", ParticipantReplaced(
        index=1, replaced=replaced, replacement=NEWCOMER, requested_by="support@regflow.test",
        requested_at=office.clock.now(), session_id=HANDICAP, state="confirmed"), registration_id="r-1")

    assert (paul.status, paul.sequence, paul.revoked_at) == (REVOKED, 1, office.clock.now())
    assert paul.revoked_reason == "replaced by Mme Anne PETIT <anne.petit@valdemarne.fr>, asked by support@regflow.test"
    assert office.mail.sent_to(PAUL) == ["invitation", "access_revoked"]
    [revoked] = office.mail.of_kind("access_revoked")
    assert revoked.attachments[0]["method"] == "CANCEL"
    assert revoked.attachments[0]["sequence"] == 1
    assert office.mail.sent_to(NEWCOMER.email or "") == ["invitation"]
    assert office.mail.sent_to(GESTIONNAIRE) == ["confirmation", "participant_replaced"]
    assert {(a.email, a.status) for a in office.uow.accesses.active_of("r-1")} == {
        (CLAIRE, ACTIVE), (NEWCOMER.email, ACTIVE)}


def test_a_moved_session_keeps_the_links_tells_everyone_and_moves_the_reminders(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, seed_form("aide-domicile-departement-october.json", session_id=MARCH))
    confirmed(office)
    office.mail.queued.clear()

    moved(office, OCTOBER)

    accesses = office.uow.accesses.active_of("r-1")
    assert [(a.session_id, a.sequence) for a in accesses] == [(OCTOBER, 1)] * 3
    assert sorted(m.recipient for m in office.mail.of_kind("session_moved")) == sorted(
        ["autonomie.formation@gironde.fr", "e.garnier@gironde.fr", "t.roux@gironde.fr", "i.faure@gironde.fr"])
    participant_mail = next(m for m in office.mail.queued if m.recipient == "e.garnier@gironde.fr")
    assert participant_mail.context["previous_date"] == "jeudi 21 mars 2024"
    assert participant_mail.context["session"]["date"] == "vendredi 11 octobre 2024"
    assert participant_mail.attachments[0]["method"] == "REQUEST"
    assert participant_mail.attachments[0]["sequence"] == 1
    assert [(r.session_id, r.status) for r in office.uow.reminders.rows] == [
        (MARCH, CANCELLED), (MARCH, CANCELLED), (OCTOBER, SCHEDULED), (OCTOBER, SCHEDULED)]


def test_a_registration_moved_before_its_confirmation_is_told_nothing(office: Office) -> None:
    office.given("r-1", State.RECEIVED, seed_form("aide-domicile-departement-october.json", session_id=MARCH))

    moved(office, OCTOBER)

    assert office.mail.queued == []
    assert office.uow.reminders.rows == []


def test_a_cancelled_session_revokes_the_links_cancels_the_reminders_and_tells_everyone(office: Office) -> None:
    confirmed(office)
    office.mail.queued.clear()

    cancelled(office)

    assert office.uow.accesses.active_of("r-1") == []
    assert {a.revoked_reason for a in office.uow.accesses.rows} == {"session cancelled: formateur malade"}
    assert [r.status for r in office.uow.reminders.rows] == [CANCELLED, CANCELLED]
    assert office.mail.sent_to(CLAIRE) == office.mail.sent_to(PAUL) == ["session_cancelled"]
    assert office.mail.sent_to(GESTIONNAIRE) == ["session_cancelled"]
    to_claire = next(m for m in office.mail.queued if m.recipient == CLAIRE)
    assert (to_claire.context["reason"], to_claire.context["for_participant"]) == ("formateur malade", True)
    assert to_claire.attachments[0]["method"] == "CANCEL"


def test_a_cancellation_without_a_reason_says_the_session_is_cancelled(office: Office) -> None:
    cancelled(office, reason=None)

    [mail] = office.mail.queued
    assert (mail.recipient, mail.context["reason"]) == (GESTIONNAIRE, "annulation de la session")


# --- reminders due ---------------------------------------------------------------------------------------------


def due_reminders(office: Office, at: datetime) -> int:
    office.at(at)
    with office.uow:
        queued = queue_due_reminders(office.uow, CATALOGUE, office.mail, limit=200)  # type: ignore[arg-type]
        office.uow.commit()
    return queued


def test_a_due_reminder_goes_to_every_participant_holding_an_access_now(office: Office) -> None:
    confirmed(office)
    office.mail.queued.clear()

    assert due_reminders(office, datetime(2023, 9, 15, 6, 29, tzinfo=PARIS)) == 0  # not yet
    assert due_reminders(office, datetime(2023, 9, 15, 6, 30, tzinfo=PARIS)) == 2

    assert office.mail.sent_to(CLAIRE) == office.mail.sent_to(PAUL) == ["reminder"]
    assert office.mail.queued[0].context["delay"] == "3 heures"
    assert [r.status for r in office.uow.reminders.rows] == [SENT, SCHEDULED]


def test_a_reminder_processed_late_is_still_sent_before_the_start(office: Office) -> None:
    confirmed(office)

    assert due_reminders(office, datetime(2023, 9, 15, 9, 20, tzinfo=PARIS)) == 4  # both reminders, two participants
    first = office.uow.reminders.rows[0]
    assert (first.status, first.reason) == (SENT, f"sent late: due at {first.due_at.isoformat()}")


def test_a_reminder_processed_once_the_session_started_is_skipped(office: Office) -> None:
    confirmed(office)

    assert due_reminders(office, datetime(2023, 9, 15, 9, 31, tzinfo=PARIS)) == 0
    assert [r.status for r in office.uow.reminders.rows] == [SKIPPED, SKIPPED]
    assert (office.uow.reminders.rows[0].reason or "").startswith("the session had started")


def test_no_reminder_for_a_registration_cancelled_since(office: Office) -> None:
    confirmed(office)
    office.registration("r-1").state = State.CANCELLED  # the cancellation's event not handled yet

    assert due_reminders(office, datetime(2023, 9, 15, 9, 15, tzinfo=PARIS)) == 0
    assert [r.status for r in office.uow.reminders.rows] == [SKIPPED, SKIPPED]
    assert office.uow.reminders.rows[0].reason == "the registration is cancelled"


def test_a_reminder_for_a_registration_gone_is_skipped(office: Office) -> None:
    confirmed(office)
    del office.uow.registrations.stored["r-1"]

    due_reminders(office, datetime(2023, 9, 15, 9, 15, tzinfo=PARIS))

    assert {r.reason for r in office.uow.reminders.rows} == {"registration or session not found"}


def test_the_real_mailroom_queues_each_mail_once_in_the_outbox_with_its_subject() -> None:
    office = Office(notifications.ACTOR, mail=Mailroom(SETTINGS, seller_of(SETTINGS), CATALOGUE.schedule))  # type: ignore[arg-type]
    office.given("r-1", State.CONFIRMED)

    confirmed(office)
    confirmed(office)

    outbox = office.uow.emails.rows
    assert [(e.kind, e.recipient, e.status) for e in outbox] == [
        ("confirmation", GESTIONNAIRE, "pending"), ("invitation", CLAIRE, "pending"), ("invitation", PAUL, "pending")]
    assert outbox[0].subject.startswith("Confirmation d'inscription : ")
    assert outbox[1].subject.endswith("vendredi 15 septembre 2023 à 9h30")
