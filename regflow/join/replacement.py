"""The gestionnaire's request to replace a participant, from the tracking page (issue #19; the brochures: "le
remplacement d'un participant peut être demandé"). The newcomer is checked on the page with the form's participant
rules, as the validation consumer will check them, each message next to its field; then the request goes out as
support's `cmd.registration.replace_participant` (asked by the gestionnaire's address) and the page waits a moment
for the decision, as the back office does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from flask import request
from flask.typing import ResponseReturnValue

from producers.commands import NOT_SENT, CommandClient
from schemas.form import Participant
from schemas.limits import MAX_ACTOR_LENGTH
from workflow.domain.clock import PARIS
from workflow.domain.form_normalisation import normalise_participant
from workflow.domain.form_rules import check_form
from workflow.domain.joining import JoinOutcome
from workflow.domain.machine import State
from workflow.persistence.decisions import wait_for_decision
from workflow.persistence.repositories.catalogue import SqlCatalogue

if TYPE_CHECKING:
    from regflow.join.tracking import TrackingPages

log = structlog.get_logger("join")
REPLACEABLE = (State.CONFIRMED, State.INVOICED, State.SETTLED)  # final, and the session still to come
FIELDS = ("civilite", "first_name", "last_name", "email")


@dataclass(frozen=True)
class ReplacementRequest:
    pages: TrackingPages

    def send(self, registration_id: str, token: str) -> ResponseReturnValue:
        links = self.pages.links
        registration = self.pages.registration(registration_id, token)
        if registration is None:
            return links.page(JoinOutcome.NOT_FOUND, 404)
        sent = {k: request.form.get(k, "").strip() for k in ("replaced", *FIELDS)}
        errors: dict[str, tuple[str, str]] = {}
        if State(registration.state) not in REPLACEABLE:
            errors["replaced"] = ("Cette inscription ne permet plus de remplacement.",
                                  "This registration can no longer be changed.")
        emails = {(p.email or "").lower() for p in registration.form.participants}
        if sent["replaced"].lower() not in emails:
            errors["replaced"] = ("Choisissez le participant à remplacer.", "Choose the participant to replace.")
        newcomer = normalise_participant(Participant(**{k: sent[k] or None for k in FIELDS}))
        participants = [newcomer if (p.email or "").lower() == sent["replaced"].lower() else p
                        for p in registration.form.participants]
        with links.sessions() as session:
            catalogue = SqlCatalogue(session).current(links.schedule)
        candidate = registration.form.model_copy(update={"participants": participants})
        for problem in check_form(candidate, catalogue, links.clock.now().astimezone(PARIS).date()):
            if problem.field.startswith("participants[") and problem.severity == "error":
                errors.setdefault("replacement." + problem.field.rsplit(".", 1)[-1],
                                  (problem.message_fr, problem.message_en))
        if errors:
            return self.pages.page(registration_id, token, replacement=(sent, errors), status=422)
        requested_by = f"gestionnaire {registration.form.gestionnaire.email or ''}"[:MAX_ACTOR_LENGTH]
        try:
            with CommandClient(links.mailroom.settings, role="public", producer="intake", clock=links.clock) as client:
                envelope = client.replace_participant(registration_id, sent["replaced"], newcomer,
                                                      requested_by=requested_by)
        except NOT_SENT as exc:
            log.warning("replacement not sent: broker unavailable", error=type(exc).__name__)
            return self.pages.page(registration_id, token, status=503, replacement=(sent, {"_": (
                "La demande n'a pas pu être transmise : réessayez dans un instant.",
                "The request could not be sent: try again in a moment.")}))
        decision = wait_for_decision(links.sessions, str(envelope.event_id), 3.0)
        said = ("Demande envoyée : elle est en cours de traitement.", "Request sent: being processed.")
        if decision is not None and decision.outcome == "accepted":
            said = ("Remplacement effectué : le nouveau participant reçoit son invitation, l'ancien lien est "
                    "désactivé.", "Replacement done: the newcomer is invited, the old link revoked.")
        elif decision is not None:
            said = (f"Remplacement refusé : {decision.reason_fr}", f"Replacement refused: {decision.reason_en}")
        return self.pages.page(registration_id, token, replacement=(sent, {}), notice=said)
