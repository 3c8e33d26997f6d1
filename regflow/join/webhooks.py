"""`POST /webhooks/signature`: the e-signature platform's callback (issue #19), on the public process. The port is
`workflow.adapters.yousign.read_callback` (signature, shape, replay window); here: a callback acts once per platform
event id (`signature_callbacks`: committed before anything is published), `signature_request.done` for a
registration waiting in *received* publishes `cmd.registration.sign` with the platform's reference, anything
else is kept as ignored with why. Answers are JSON problem details (RFC 9457) in French and English; a 2xx tells
the platform to stop retrying, a 503 (broker away) to retry later, which publishes then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from producers.commands import NOT_SENT, CommandClient
from regflow.api.problems import problem as api_problem
from schemas.form import Signature, SignatureMethod
from workflow.adapters.yousign import DONE, PLATFORM, SIGNATURE_HEADER, Callback, CallbackError, read_callback
from workflow.domain.clock import PARIS
from workflow.domain.machine import State
from workflow.persistence.orm import SignatureCallbackRow
from workflow.persistence.repositories.registrations import RegistrationRepository

if TYPE_CHECKING:
    from regflow.join import Links

log = structlog.get_logger("join")
PENDING, PUBLISHED, IGNORED = "pending", "published", "ignored"


def problem(status: int, code: str, fr: str, en: str) -> ResponseReturnValue:
    """The API's problem details (`regflow.api.problems`), typed by the webhook's named refusal."""
    return api_problem(status, en, fr, kind=f"urn:regflow:problem:{code}")


@dataclass(frozen=True)
class SignatureWebhook:
    links: Links

    def receive(self) -> ResponseReturnValue:
        settings = self.links.mailroom.settings
        if settings.signature_webhook_secret is None:
            return problem(503, "not_configured", "Aucune plate-forme de signature n'est configurée.",
                           "No signature platform is configured.")
        if request.mimetype != "application/json":
            return problem(415, "media_type", "Le rappel doit être en application/json.", "Expected application/json.")
        try:
            callback = read_callback(settings.signature_webhook_secret.get_secret_value(), request.get_data(),
                                     request.headers.get(SIGNATURE_HEADER), now=self.links.clock.now(),
                                     tolerance=timedelta(seconds=settings.signature_webhook_tolerance_seconds))
        except CallbackError as refused:
            log.warning("signature callback refused", code=refused.code)
            return problem(refused.status, refused.code, refused.fr, refused.en)
        row, signature = self._record(callback)
        if row.outcome != PENDING or signature is None:
            return {"event_id": row.event_id, "outcome": row.outcome, "detail": row.detail}, 200
        try:
            with CommandClient(settings, role="public", producer="signature", clock=self.links.clock) as client:
                client.record_signature(str(row.registration_id), signature)
        except NOT_SENT as exc:
            log.warning("signature callback kept, not yet published", error=type(exc).__name__)
            return problem(503, "broker_unavailable", "Rappel enregistré ; la signature sera transmise à la "
                           "prochaine tentative.", "Callback kept; the signature goes out on the next retry.")
        with self.links.sessions() as session:
            stored = session.get(SignatureCallbackRow, row.event_id)
            if stored is not None:
                stored.outcome = PUBLISHED
                session.commit()
        log.info("signature callback published", registration_id=row.registration_id)
        return {"event_id": row.event_id, "outcome": PUBLISHED, "registration_id": row.registration_id}, 200

    def _record(self, callback: Callback) -> tuple[SignatureCallbackRow, Signature | None]:
        """The callback's row, new or as first kept, and the signature to send while it is pending."""
        with self.links.sessions() as session:
            found = session.get(SignatureCallbackRow, callback.event_id)
            registration = (RegistrationRepository(session).get(callback.registration_id)
                            if callback.registration_id else None)
            if found is None:
                outcome, detail = self._decide(callback, registration is not None and
                                               State(registration.state) is State.RECEIVED, registration is not None)
                found = SignatureCallbackRow(
                    event_id=callback.event_id, platform=PLATFORM, event_name=callback.event_name,
                    reference=callback.reference, registration_id=callback.registration_id,
                    received_at=self.links.clock.now(), outcome=outcome, detail=detail)
                session.add(found)
                try:
                    session.commit()
                except IntegrityError:  # the same event delivered twice at once: the first one decides
                    session.rollback()
                    return self._record(callback)
            if found.outcome != PENDING or registration is None:
                return found, None
            form = registration.form
            signatory = " ".join(p for p in (form.gestionnaire.first_name, form.gestionnaire.last_name) if p)
            return found, Signature(
                place=form.client.address.city or "signature électronique", signatory=signatory or "signataire",
                signed_on=callback.event_time.astimezone(PARIS).date(), method=SignatureMethod.ELECTRONIC,
                electronic_reference=callback.reference or callback.event_id)

    @staticmethod
    def _decide(callback: Callback, waiting: bool, known: bool) -> tuple[str, str | None]:
        if callback.event_name != DONE:
            return IGNORED, f"event {callback.event_name}: only {DONE} signs a form"
        if not known:
            return IGNORED, "no registration with this external_id"
        if not waiting:
            return IGNORED, "the registration no longer waits for a signature"
        return PENDING, None
