"""The validation consumer's handlers, in memory: a form submitted, signed, a participant replaced."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from consumers import validation
from schemas.form import Participant, Signature
from schemas.messages import RecordSignature, RegistrationRejected, ReplaceParticipant, SubmitRegistration
from tests.unit.fakes import Office, seed_form
from workflow.domain.catalogue import SessionState
from workflow.domain.clock import PARIS
from workflow.domain.decisions import Accepted, Refused
from workflow.domain.errors import GuardRefusedError, UnknownRegistrationError
from workflow.domain.machine import State

SIGNED = "handicap-departement.json"
UNSIGNED = "aide-domicile-association-unsigned.json"


@pytest.fixture
def office() -> Office:
    return Office(validation.ACTOR)


def submit(office: Office, registration_id: str, form: str = SIGNED, **changes: object) -> Accepted | Refused | None:
    command = SubmitRegistration(form=seed_form(form, **changes))
    return office.handle(validation.handle_submit, "cmd.registration.submit", command, registration_id=registration_id)


def test_a_valid_signed_form_is_confirmed_at_once(office: Office) -> None:
    decision = submit(office, "r-1")

    assert decision == Accepted(detail="confirmed")
    assert office.registration("r-1").state == State.CONFIRMED
    assert office.uow.event_types() == ["registration.received", "registration.signed", "registration.confirmed"]
    assert office.uow.committed


def test_a_valid_unsigned_form_waits_for_its_signature(office: Office) -> None:
    decision = submit(office, "r-1", UNSIGNED)

    assert decision == Accepted(detail="received")
    assert office.uow.event_types() == ["registration.received"]


def test_a_form_that_breaks_a_rule_is_rejected_with_every_error_and_the_command_refused(office: Office) -> None:
    decision = submit(office, "r-1", declared_total="1000.00", declared_participant_count=3)

    assert isinstance(decision, Refused)
    assert decision.reason_fr.startswith("Formulaire rejeté : ")
    assert "declared_total" in decision.reason_en
    assert "declared_participant_count" in decision.reason_en
    registration = office.registration("r-1")
    assert registration.state == State.REJECTED
    assert {e.field for e in registration.errors} >= {"declared_total", "declared_participant_count"}
    rejected = office.uow.events("registration.rejected")
    assert len(rejected) == 1
    assert isinstance(rejected[0], RegistrationRejected)
    assert [e.field for e in rejected[0].errors] == [e.field for e in registration.errors]
    assert office.uow.committed, "the rejection is recorded (and mailed) although the command is refused"


def test_a_corrected_form_after_a_rejection_goes_on_and_the_history_keeps_both(office: Office) -> None:
    submit(office, "r-1", declared_total="1.00")
    assert office.registration("r-1").state == State.REJECTED

    decision = submit(office, "r-1")

    assert decision == Accepted(detail="confirmed")
    assert office.registration("r-1").errors == []
    triggers = [h.trigger for h in office.uow.registrations.history["r-1"]]
    assert triggers == ["submit", "reject", "resubmit", "sign", "confirm"]


def test_a_participant_already_registered_by_another_registration_is_a_warning_only(office: Office) -> None:
    submit(office, "first")

    decision = submit(office, "second")

    assert decision == Accepted(detail="confirmed")
    warnings = office.registration("second").warnings
    assert [(w.rule, w.field) for w in warnings] == [
        ("participant_already_registered", "participants[0].email"),
        ("participant_already_registered", "participants[1].email")]


def test_a_rejected_registration_does_not_count_as_already_registered(office: Office) -> None:
    submit(office, "first", declared_total="1.00")

    submit(office, "second")

    assert office.registration("second").warnings == []


def test_a_form_for_a_session_that_has_begun_is_rejected_registrations_are_closed(office: Office) -> None:
    office.at(datetime(2023, 9, 15, 10, tzinfo=PARIS))

    decision = submit(office, "r-1")

    assert isinstance(decision, Refused)
    assert "les inscriptions sont closes" in decision.reason_fr
    assert [(e.rule, e.field) for e in office.registration("r-1").errors] == [("session_open", "session_id")]


def stamp(on: date) -> Signature:
    return Signature(place="Lyon", signed_on=on, signatory="Marc Bernard", method="stamp")


def test_the_signature_of_a_form_that_waited_confirms_it(office: Office) -> None:
    submit(office, "r-1", UNSIGNED)

    decision = office.handle(validation.handle_sign, "cmd.registration.sign", RecordSignature(
        signature=stamp(date(2023, 9, 1))), registration_id="r-1")

    assert decision == Accepted(detail="confirmed")
    registration = office.registration("r-1")
    assert registration.form.signature == stamp(date(2023, 9, 1))
    assert office.uow.event_types()[-2:] == ["registration.signed", "registration.confirmed"]


def test_a_signature_dated_in_the_future_is_refused_in_french(office: Office) -> None:
    submit(office, "r-1", UNSIGNED)

    with pytest.raises(GuardRefusedError) as refused:
        office.handle(validation.handle_sign, "cmd.registration.sign", RecordSignature(
            signature=stamp(date(2023, 9, 2))), registration_id="r-1")

    assert refused.value.reason_fr == "Signature refusée : La date de signature (02/09/2023) est dans le futur."
    assert office.registration("r-1").state == State.RECEIVED


def test_the_signature_of_an_unknown_registration_is_refused(office: Office) -> None:
    with pytest.raises(UnknownRegistrationError):
        office.handle(validation.handle_sign, "cmd.registration.sign", RecordSignature(
            signature=stamp(date(2023, 9, 1))), registration_id="nobody")


NEWCOMER = Participant(civilite="Mme", first_name="Anne", last_name="PETIT", email="Anne.Petit@valdemarne.fr")


def replace(office: Office, registration_id: str, replacement: Participant = NEWCOMER,
            replaced: str = "paul.leroy@valdemarne.fr") -> Accepted | Refused | None:
    return office.handle(validation.handle_replace_participant, "cmd.registration.replace_participant",
                         ReplaceParticipant(replaced_email=replaced, replacement=replacement,
                                            requested_by="support@regflow.test"), registration_id=registration_id)


def test_a_participant_is_replaced_in_the_same_seat(office: Office) -> None:
    office.given("r-1", State.INVOICED)

    replace(office, "r-1")

    participants = office.registration("r-1").form.participants
    assert [p.email for p in participants] == ["claire.durand@valdemarne.fr", "anne.petit@valdemarne.fr"]
    [replaced] = office.uow.events("registration.participant_replaced")
    assert (replaced.index, replaced.replaced.email, replaced.replacement.email) == (
        1, "paul.leroy@valdemarne.fr", "anne.petit@valdemarne.fr")
    assert office.uow.registrations.history["r-1"][-1].actor == "support@regflow.test"
    assert office.uow.decisions == [Accepted()]


def test_a_replacement_that_breaks_the_participant_rules_is_refused_in_french(office: Office) -> None:
    office.given("r-1", State.CONFIRMED)

    with pytest.raises(GuardRefusedError) as refused:
        replace(office, "r-1", Participant(civilite="Mme", first_name="Anne", last_name="PETIT", email="anne@"))

    assert (refused.value.reason_fr or "").startswith("Le remplaçant ne respecte pas les règles du formulaire : ")
    assert office.registration("r-1").form.participants[1].email == "paul.leroy@valdemarne.fr"
    assert office.uow.published == []


def test_no_replacement_once_the_session_was_held(office: Office) -> None:
    office.given("r-1", State.SESSION_HELD)

    with pytest.raises(GuardRefusedError, match="already held"):
        replace(office, "r-1")


def test_a_replacement_for_an_unknown_registration_is_refused(office: Office) -> None:
    with pytest.raises(GuardRefusedError) as refused:
        replace(office, "nobody")

    assert refused.value.reason_fr == "Aucune inscription nobody : remplacement refusé."


# --- the session's seats and state, as operations left them in the catalogue --------------------------------


def with_handicap_session(office: Office, **changes: object) -> None:
    found = office.uow.catalogue.stored.session("cpom-handicap-2023-09-15")
    assert found is not None
    office.uow.catalogue.replace(found[0].id, found[1].model_copy(update=changes))


def test_a_form_that_does_not_fit_the_seats_left_is_rejected_as_session_full(office: Office) -> None:
    with_handicap_session(office, capacity=3)
    assert submit(office, "r-1") == Accepted(detail="confirmed")  # two seats taken, one left

    decision = submit(office, "r-2")

    assert isinstance(decision, Refused)
    assert "est complète : il reste 1 place(s) pour 2 participant(s)" in decision.reason_fr
    assert [e.rule for e in office.registration("r-2").errors] == ["session_full"]


def test_a_rejected_or_resubmitted_registration_does_not_count_its_own_seats(office: Office) -> None:
    with_handicap_session(office, capacity=2)
    assert submit(office, "r-1") == Accepted(detail="confirmed")
    assert isinstance(submit(office, "r-2"), Refused)  # rejected: it holds no seat
    with_handicap_session(office, capacity=4)

    assert submit(office, "r-2") == Accepted(detail="confirmed")  # the same form, now that seats were added


def test_a_form_for_a_cancelled_session_is_rejected_with_the_named_error(office: Office) -> None:
    with_handicap_session(office, state=SessionState.CANCELLED)

    decision = submit(office, "r-1")

    assert isinstance(decision, Refused)
    assert [e.rule for e in office.registration("r-1").errors] == ["session_cancelled"]
