"""The online registration form (issue #19), on the public process beside the personal links: `/inscription` lists
the sessions open to registration, `/inscription/<session>` is the brochures' form field by field. Sending it
checks it as the validation consumer will (the schema, then every rule of `check_form` against the catalogue in
the database, its capacity and deadline, on the Paris day of the clock) and shows each message next to its field
(422); a form that passes goes out as `cmd.registration.submit`, unsigned, and the browser is sent (303) to the
gestionnaire's private tracking page, where the pre-filled form waits to be stamped and signed.

Sending twice (a double click, the back button) sends the same registration id: the second is the same form
corrected, never a second registration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from flask import redirect, render_template, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from producers.commands import NOT_SENT, CommandClient
from regflow.api.problems import schema_errors as named_schema_errors
from regflow.join.form_fields import CATEGORIES, CLIENT, GESTIONNAIRE, apply_action, form_data, rows_of
from regflow.join.tracking import tracking_path
from schemas.form import RegistrationForm
from schemas.limits import MAX_PARTICIPANTS
from workflow.domain.catalogue import Catalogue, SessionDate, SessionState, Training
from workflow.domain.clock import PARIS
from workflow.domain.form_normalisation import normalise_form
from workflow.domain.form_rules import check_form, euros
from workflow.persistence.repositories.catalogue import SqlCatalogue

if TYPE_CHECKING:
    from regflow.join import Links

log = structlog.get_logger("join")
FORM_BYTES = 512 * 1024  # 200 participants of four full fields, URL-encoded, with room to spare


@dataclass(frozen=True)
class Offer:
    """A session open to registration and what the form shows of it."""

    training: Training
    session: SessionDate
    seats_left: int | None


@dataclass(frozen=True)
class FormPages:
    links: Links

    def index(self) -> ResponseReturnValue:
        return render_template("inscription_list.html", outcome="inscription_list", offers=self._offers(),
                               contact=self.links.contact, euros=euros)

    def form(self, session_id: str) -> ResponseReturnValue:
        offer = next((o for o in self._offers() if o.session.id == session_id), None)
        if offer is None:
            return render_template("inscription_closed.html", outcome="inscription_closed",
                                   contact=self.links.contact), 404
        sent = request.form
        rows = rows_of(sent)
        submission = _submission(sent.get("submission", ""))
        action = sent.get("action", "") if request.method == "POST" else ""
        if action != "send":
            return self._render(offer, sent, apply_action(rows, action), submission, errors={}, status=200)
        data = form_data(sent, rows, training_id=offer.training.id, session_id=offer.session.id,
                         price=offer.training.price_per_participant)
        try:
            form = RegistrationForm.model_validate(data)
        except ValidationError as exc:
            return self._render(offer, sent, rows, submission, errors=schema_errors(exc), status=422)
        errors = self._rule_errors(form)
        if errors:
            log.info("online form refused", session_id=session_id, fields=sorted(errors))
            return self._render(offer, sent, rows, submission, errors=errors, status=422)
        try:
            with CommandClient(self.links.mailroom.settings, role="public", clock=self.links.clock) as client:
                client.submit_form(form, submission)
        except NOT_SENT as exc:
            log.warning("online form not sent: broker unavailable", error=type(exc).__name__)
            return self._render(offer, sent, rows, submission, status=503, errors={"_": (
                "Le formulaire n'a pas pu être transmis (service momentanément indisponible) : rien n'est perdu "
                "sur cette page, renvoyez-le dans un instant.",
                "The form could not be sent (service unavailable): send it again in a moment.")})
        log.info("online form sent", session_id=session_id, participants=len(form.participants))
        return redirect(tracking_path(self.links.secret, submission), 303)

    def _offers(self) -> list[Offer]:
        """Open sessions, their deadline not passed and a seat left, soonest first."""
        today = self.links.clock.now().astimezone(PARIS).date()
        with self.links.sessions() as session:
            repository = SqlCatalogue(session)
            catalogue = repository.current(self.links.schedule)
            offers = []
            for training in catalogue.trainings:
                for one in training.sessions:
                    if one.state is not SessionState.OPEN or today > one.last_registration_day:
                        continue
                    left = None if one.capacity is None else one.capacity - repository.seats_taken(one.id)
                    if left is None or left > 0:
                        offers.append(Offer(training, one, left))
        return sorted(offers, key=lambda o: (o.session.date, o.training.title))

    def _rule_errors(self, form: RegistrationForm) -> dict[str, tuple[str, str]]:
        today = self.links.clock.now().astimezone(PARIS).date()
        with self.links.sessions() as session:
            repository = SqlCatalogue(session)
            catalogue: Catalogue = repository.current(self.links.schedule)
            taken = {form.session_id: repository.seats_taken(form.session_id)} if form.session_id else {}
        errors: dict[str, tuple[str, str]] = {}
        for violation in check_form(normalise_form(form), catalogue, today, taken):
            if violation.severity == "error":
                errors.setdefault(violation.field, (violation.message_fr, violation.message_en))
        return errors

    def _render(self, offer: Offer, sent: Any, rows: list[dict[str, str]], submission: str, *,
                errors: dict[str, tuple[str, str]], status: int) -> ResponseReturnValue:
        count = sum(1 for r in rows if any(v.strip() for v in r.values()))
        price = offer.training.price_per_participant
        return render_template(
            "inscription.html", outcome="inscription_form", offer=offer, sent=sent, rows=rows,
            submission=submission, errors=errors, client_fields=CLIENT, gestionnaire_fields=GESTIONNAIRE,
            categories=CATEGORIES, count=count, price=euros(price), total=euros(price * count), price_value=price,
            max_participants=MAX_PARTICIPANTS,
            contact=self.links.contact, day=offer.session.date.strftime("%d/%m/%Y")), status


def _submission(sent: str) -> str:
    """The form's own id, made on the first display and sent back with it: the registration's id."""
    try:
        return str(uuid.UUID(sent, version=4))
    except ValueError:
        return str(uuid.uuid4())


def schema_errors(exc: ValidationError) -> dict[str, tuple[str, str]]:
    """The schema's errors, named as the API names them (`regflow.api.problems`), keyed by the field's path."""
    errors: dict[str, tuple[str, str]] = {}
    for error in named_schema_errors(exc):
        errors.setdefault(error.field, ("Valeur non reconnue : choisissez dans la liste ou corrigez la saisie.",
                                        error.message_en))
    return errors
