"""The registration aggregate: guards, audit history and events, with no database."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest

from schemas.form import Participant, RegistrationForm, Signature, SignatureMethod
from schemas.messages import InvoiceIssued, ParticipantReplaced, RuleViolation
from workflow.domain.clock import PARIS
from workflow.domain.errors import GuardRefusedError, IllegalTransitionError
from workflow.domain.machine import State
from workflow.domain.registration import Registration

FORM = RegistrationForm.model_validate(json.loads(
    (Path(__file__).parent.parent / "forms" / "valid" / "handicap-departement.json").read_text()))
AT = datetime(2023, 9, 1, 10, tzinfo=PARIS)
STARTS = datetime(2023, 9, 15, 9, 30, tzinfo=PARIS)
SIGNATURE = Signature(place="Créteil", signed_on=date(2023, 8, 28), signatory="Sophie MARTIN",
                      method=SignatureMethod.STAMP)


def received() -> Registration:
    return Registration.receive("r-1", FORM, at=AT, actor="validation", cause=uuid4())


def invoiced() -> Registration:
    registration = received()
    registration.sign(SIGNATURE, at=AT, actor="validation", cause=None)
    registration.confirm(session_starts_at=STARTS, at=AT, actor="validation", cause=None)
    issued = InvoiceIssued(invoice_number="2023-000001", issued_on=date(2023, 9, 1), total=Decimal("1190.00"))
    registration.invoice(issued, at=AT, actor="invoicing", cause=None)
    return registration


def test_a_new_form_is_received_with_one_history_line_and_one_event() -> None:
    registration = received()
    assert registration.state == State.RECEIVED
    assert [(h.from_state, h.to_state, h.trigger) for h in registration.new_history] == [
        (None, State.RECEIVED, "submit")]
    assert [e.type for e in registration.events] == ["registration.received"]


def test_a_rejection_keeps_every_error_and_publishes_them() -> None:
    registration = received()
    errors = [RuleViolation(rule="required", field="gestionnaire.phone", message_fr="x", message_en="y"),
              RuleViolation(rule="siret_format", field="client.siret", message_fr="x", message_en="y")]
    registration.reject(errors, at=AT, actor="validation", cause=None)
    assert registration.state == State.REJECTED
    rejected = registration.events[-1]
    assert rejected.type == "registration.rejected"
    assert [e.field for e in rejected.payload.errors] == ["gestionnaire.phone", "client.siret"]  # type: ignore[attr-defined]
    assert registration.new_history[-1].reason == "gestionnaire.phone: required; client.siret: siret_format"


def test_a_corrected_form_reenters_validation_and_history_keeps_both() -> None:
    registration = received()
    registration.reject([RuleViolation(rule="r", field="f", message_fr="x", message_en="y")],
                        at=AT, actor="validation", cause=None)
    registration.resubmit(FORM, at=AT, actor="validation", cause=None)
    assert registration.state == State.RECEIVED
    assert registration.errors == []
    assert [h.trigger for h in registration.new_history] == ["submit", "reject", "resubmit"]


def test_a_form_with_errors_cannot_be_signed() -> None:
    registration = received()
    registration.errors = [RuleViolation(rule="r", field="f", message_fr="x", message_en="y")]
    with pytest.raises(GuardRefusedError, match="unresolved errors"):
        registration.sign(SIGNATURE, at=AT, actor="validation", cause=None)
    assert registration.state == State.RECEIVED


def test_a_registration_cannot_be_confirmed_once_its_session_has_started() -> None:
    registration = received()
    registration.sign(SIGNATURE, at=AT, actor="validation", cause=None)
    with pytest.raises(GuardRefusedError, match="session started"):
        registration.confirm(session_starts_at=STARTS, at=STARTS + timedelta(minutes=1), actor="v",
                             cause=None)
    assert registration.state == State.SIGNED


def test_service_fait_is_refused_on_another_date_than_planned() -> None:
    registration = invoiced()
    with pytest.raises(GuardRefusedError, match="not the planned date"):
        registration.hold_session(date(2023, 9, 16), planned_on=date(2023, 9, 15), at=AT, actor="p",
                                  cause=None)
    assert registration.state == State.INVOICED
    assert registration.service_fait_on is None


def test_paid_when_held_then_settled() -> None:
    registration = invoiced()
    registration.hold_session(date(2023, 9, 15), planned_on=date(2023, 9, 15), at=AT, actor="p", cause=None)
    registration.settle("2023-000001", at=AT, actor="p", cause=None)
    assert registration.state == State.PAID
    assert registration.service_fait_on == date(2023, 9, 15)


def test_paid_when_settled_before_the_session_then_held() -> None:
    registration = invoiced()
    registration.settle("2023-000001", at=AT, actor="p", cause=None)
    assert registration.state == State.SETTLED
    registration.hold_session(date(2023, 9, 15), planned_on=date(2023, 9, 15), at=AT, actor="p", cause=None)
    assert registration.state == State.PAID
    assert [e.type for e in registration.events] == [
        "registration.received", "registration.signed", "registration.confirmed",
        "registration.invoiced", "invoice.issued", "registration.settled", "registration.paid"]


def test_service_fait_recorded_by_a_person_names_them_and_the_consumer_that_applied_it() -> None:
    registration = invoiced()
    registration.hold_session(date(2023, 9, 15), planned_on=date(2023, 9, 15), at=AT, actor="payments", cause=None,
                              requested_by="olga")
    entry = registration.new_history[-1]
    assert (entry.trigger, entry.actor, entry.reason) == (
        "hold_session", "olga", "service fait 2023-09-15 (applied by payments)")


def test_a_payment_recorded_by_a_person_names_them_when_it_settles_the_invoice() -> None:
    registration = invoiced()
    registration.settle("2023-000001", at=AT, actor="payments", cause=None, requested_by="fanny")
    entry = registration.new_history[-1]
    assert (entry.trigger, entry.actor, entry.reason, entry.to_state) == (
        "settle", "fanny", "2023-000001 (applied by payments)", State.SETTLED)


def test_without_a_person_the_consumer_stays_the_actor_of_service_fait_and_settlement() -> None:
    registration = invoiced()
    registration.hold_session(date(2023, 9, 15), planned_on=date(2023, 9, 15), at=AT, actor="payments", cause=None)
    registration.settle("2023-000001", at=AT, actor="payments", cause=None)
    assert [(h.trigger, h.actor, h.reason) for h in registration.new_history[-2:]] == [
        ("hold_session", "payments", "service fait 2023-09-15"), ("settle", "payments", "2023-000001")]


def test_a_confirmed_registration_is_final_it_cannot_be_rejected() -> None:
    registration = invoiced()
    with pytest.raises(IllegalTransitionError):
        registration.reject([], at=AT, actor="validation", cause=None)
    with pytest.raises(IllegalTransitionError):
        registration.resubmit(FORM, at=AT, actor="validation", cause=None)


def test_a_moved_registration_keeps_its_state_and_says_where_it_went() -> None:
    registration = invoiced()
    registration.move_session("cpom-handicap-2023-10-20", "intervenant malade", at=AT, actor="payments", cause=None)
    assert (registration.state, registration.session_id) == (State.INVOICED, "cpom-handicap-2023-10-20")
    moved = registration.events[-1]
    assert moved.type == "registration.moved"
    assert moved.payload.from_session_id == "cpom-handicap-2023-09-15"  # type: ignore[attr-defined]
    assert registration.new_history[-1].trigger == "move_session"


def test_a_paid_registration_cannot_be_moved_or_reinvoiced() -> None:
    registration = invoiced()
    registration.hold_session(date(2023, 9, 15), planned_on=date(2023, 9, 15), at=AT, actor="p", cause=None)
    registration.settle("2023-000001", at=AT, actor="p", cause=None)
    with pytest.raises(IllegalTransitionError):
        registration.move_session("x", "y", at=AT, actor="p", cause=None)


# --- replacing a participant -----------------------------------------------------------------------------

INES = Participant(civilite="Mme", first_name="Inès", last_name="ROY", email="ines.roy@valdemarne.fr")
ASKED = datetime(2023, 9, 4, 9, tzinfo=PARIS)


def test_a_participant_of_an_invoiced_registration_is_replaced_and_the_history_says_who_asked() -> None:
    registration = invoiced()
    registration.replace_participant("Paul.Leroy@valdemarne.fr", INES, requested_by="support:alice",
                                     requested_at=ASKED, at=AT, actor="validation", cause=None)
    assert registration.state == State.INVOICED
    assert [p.email for p in registration.form.participants] == [
        "claire.durand@valdemarne.fr", "ines.roy@valdemarne.fr"]
    entry = registration.new_history[-1]
    assert (entry.trigger, entry.actor, entry.from_state, entry.to_state) == (
        "replace_participant", "support:alice", State.INVOICED, State.INVOICED)
    assert entry.reason is not None
    assert "M. Paul LEROY <paul.leroy@valdemarne.fr> replaced by Mme Inès ROY <ines.roy@valdemarne.fr>" in entry.reason
    assert ASKED.isoformat() in entry.reason
    event = registration.events[-1]
    assert event.type == "registration.participant_replaced"
    assert isinstance(event.payload, ParticipantReplaced)
    assert (event.payload.index, event.payload.replaced.email, event.payload.requested_by) == (
        1, "paul.leroy@valdemarne.fr", "support:alice")


def test_replacing_someone_who_is_not_a_participant_is_refused_with_the_participants_listed() -> None:
    registration = invoiced()
    with pytest.raises(GuardRefusedError, match=r"nobody@x\.fr is not a participant.*claire\.durand"):
        registration.replace_participant("nobody@x.fr", INES, requested_by="support", requested_at=ASKED, at=AT,
                                         actor="validation", cause=None)
    assert registration.form == invoiced().form


def test_a_participant_cannot_be_replaced_once_the_session_was_held() -> None:
    registration = invoiced()
    registration.hold_session(date(2023, 9, 15), planned_on=date(2023, 9, 15), at=AT, actor="payments", cause=None)
    with pytest.raises(GuardRefusedError, match="already held"):
        registration.replace_participant("paul.leroy@valdemarne.fr", INES, requested_by="support",
                                         requested_at=ASKED, at=AT, actor="validation", cause=None)


def test_a_participant_cannot_be_replaced_before_the_registration_is_confirmed() -> None:
    with pytest.raises(IllegalTransitionError):
        received().replace_participant("paul.leroy@valdemarne.fr", INES, requested_by="support",
                                       requested_at=ASKED, at=AT, actor="validation", cause=None)


def test_a_participant_cannot_be_replaced_by_themself() -> None:
    same = INES.model_copy(update={"email": "paul.leroy@valdemarne.fr"})
    with pytest.raises(GuardRefusedError, match="login e-mail of the participant it replaces"):
        invoiced().replace_participant("paul.leroy@valdemarne.fr", same, requested_by="support",
                                       requested_at=ASKED, at=AT, actor="validation", cause=None)
