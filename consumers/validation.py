"""Validation consumer: decides whether a registration form can go on, and confirms it once signed."""

from __future__ import annotations

from consumers.runner import ConsumerApp
from schemas.form import RegistrationForm
from schemas.messages import Envelope, RecordSignature, ReplaceParticipant, RuleViolation, SubmitRegistration
from workflow.domain.catalogue import Catalogue
from workflow.domain.clock import PARIS, Clock
from workflow.domain.decisions import Accepted, Refused
from workflow.domain.errors import GuardRefusedError, UnknownRegistrationError
from workflow.domain.form_normalisation import normalise_form, normalise_participant, storable
from workflow.domain.form_rules import already_registered_warnings, check_form
from workflow.domain.registration import Registration
from workflow.persistence.unit_of_work import UnitOfWork

ACTOR = "validation"


def handle_submit(message: Envelope, command: SubmitRegistration, uow: UnitOfWork, *, clock: Clock,
                  catalogue: Catalogue) -> Accepted | Refused:
    """A new or corrected form: record it, check every rule, reject with all errors or go on. The decision
    is refused when the form breaks a rule (its rejection is recorded and mailed all the same)."""
    registration_id = _registration_id(message)
    now = clock.now()
    checked = normalise_form(command.form)
    errors = check_form(checked, catalogue, now.astimezone(PARIS).date(),
                        _seats_taken(uow, catalogue, checked, registration_id))
    form = storable(checked)  # kept even when it holds what no database can (a lone surrogate): it is rejected
    registration = uow.registrations.get(registration_id, for_update=True)
    if registration is None:
        registration = Registration.receive(registration_id, form, at=now, actor=ACTOR,
                                            cause=message.event_id)
        uow.registrations.add(registration)
    else:
        registration.resubmit(form, at=now, actor=ACTOR, cause=message.event_id)
    if errors:
        registration.reject(errors, at=now, actor=ACTOR, cause=message.event_id)
        return Refused(reason_fr="Formulaire rejeté : " + "; ".join(f"{e.field} : {e.message_fr}" for e in errors[:10]),
                       reason_en="form rejected: " + _describe(errors[:10]), detail=str(registration.state))
    if form.session_id:
        emails = {p.email.lower() for p in form.participants if p.email}
        registered = uow.registrations.emails_registered(form.session_id, excluding=registration_id, among=emails)
        registration.note_warnings(already_registered_warnings(form, registered))
    if form.signature is not None:
        _sign_and_confirm(registration, form, message, clock=clock, catalogue=catalogue)
    return Accepted(detail=str(registration.state))


def handle_sign(message: Envelope, command: RecordSignature, uow: UnitOfWork, *, clock: Clock,
                catalogue: Catalogue) -> Accepted:
    """The stamped scan or the e-signature platform's callback for a form that waited unsigned."""
    registration_id = _registration_id(message)
    registration = uow.registrations.get(registration_id, for_update=True)
    if registration is None:
        raise UnknownRegistrationError(registration_id, "sign")
    form = registration.form.model_copy(update={"signature": command.signature})
    today = clock.now().astimezone(PARIS).date()
    problems = [e for e in check_form(form, catalogue, today) if e.field.startswith("signature")]
    if problems:
        raise GuardRefusedError(registration_id, "sign", _describe(problems),
                                fr="Signature refusée : " + "; ".join(p.message_fr for p in problems))
    _sign_and_confirm(registration, form, message, clock=clock, catalogue=catalogue)
    return Accepted(detail=str(registration.state))


def handle_replace_participant(message: Envelope, command: ReplaceParticipant, uow: UnitOfWork, *, clock: Clock,
                               catalogue: Catalogue) -> None:
    """Support's request: the newcomer is checked with the form's participant rules (required fields,
    civilité, e-mail syntax, not already listed), then takes the seat; notifications does the rest."""
    registration_id = _registration_id(message)
    registration = uow.registrations.get(registration_id, for_update=True)
    if registration is None:
        raise GuardRefusedError(registration_id, "replace_participant", f"no registration {registration_id}",
                                fr=f"Aucune inscription {registration_id} : remplacement refusé.")
    replacement = normalise_participant(command.replacement)
    replaced = command.replaced_email.strip().lower()
    participants = [replacement if (p.email or "").lower() == replaced else p for p in registration.form.participants]
    candidate = registration.form.model_copy(update={"participants": participants})
    today = clock.now().astimezone(PARIS).date()
    problems = [e for e in check_form(candidate, catalogue, today) if e.field.startswith("participants[")]
    if problems:
        raise GuardRefusedError(registration_id, "replace_participant",
                                "the replacement breaks the form's rules: " + _describe(problems),
                                fr="Le remplaçant ne respecte pas les règles du formulaire : "
                                   + "; ".join(p.message_fr for p in problems))
    registration.replace_participant(command.replaced_email, replacement, requested_by=command.requested_by,
                                     requested_at=message.occurred_at, at=clock.now(), actor=ACTOR,
                                     cause=message.event_id)


def _sign_and_confirm(registration: Registration, form: RegistrationForm, message: Envelope, *, clock: Clock,
                      catalogue: Catalogue) -> None:
    assert form.signature is not None
    assert form.session_id is not None
    now = clock.now()
    registration.sign(form.signature, at=now, actor=ACTOR, cause=message.event_id)
    found = catalogue.session(form.session_id)
    assert found is not None  # check_form proved the session exists
    registration.confirm(session_starts_at=catalogue.starts_at(found[1]), at=now, actor=ACTOR,
                         cause=message.event_id)


def _seats_taken(uow: UnitOfWork, catalogue: Catalogue, form: RegistrationForm, registration_id: str
                 ) -> dict[str, int]:
    """The seats other registrations hold in the form's session, when it has a capacity; its row is locked
    until commit, so that two replicas checking two forms at once cannot both take the last seats."""
    found = catalogue.session(form.session_id) if form.session_id else None
    if found is None or found[1].capacity is None:
        return {}
    return {found[1].id: uow.catalogue.seats_taken(found[1].id, excluding=registration_id, lock=True)}


def _registration_id(message: Envelope) -> str:
    if not message.registration_id:
        raise GuardRefusedError("?", message.type, "the envelope has no registration_id")
    return message.registration_id


def _describe(problems: list[RuleViolation]) -> str:
    return "; ".join(f"{p.field}: {p.message_en}" for p in problems)


APP = ConsumerApp(ACTOR, {
    "cmd.registration.submit": handle_submit,
    "cmd.registration.sign": handle_sign,
    "cmd.registration.replace_participant": handle_replace_participant,
})
