"""What the intake API's three operations do (`regflow.api` routes them): every input hostile until checked, in
this order: the API key (401), for a signature the registration (404 unless this client submitted it), the size
(413, from Content-Length, before reading), the media type (415), the `Idempotency-Key` (400), the body as UTF-8
JSON (400); then a key already used answers what it answered (or 409 for
another request), and only a new request is checked against the schema and every rule of the form (422, every
error named) before it is recorded.

No external effect before the commit: the request's row (client, key, SHA-256, registration, the envelope) is
committed, then the envelope published with publisher confirms; the broker away is a 503 with Retry-After and the
row stays, so the client's retry publishes the same envelope (the validation consumer's inbox drops a duplicate).
Two requests with the same key at once: the primary key lets one insert, the other reads what it recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pika.exceptions
import structlog
from flask import Response, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from producers.commands import CommandClient, MessageTooLargeError, build_envelope, envelope_size
from regflow.api.keys import ApiKeyStore
from regflow.api.problems import ApiError, schema_errors
from schemas.api import IDEMPOTENCY_KEY_PATTERN, Accepted, FieldError
from schemas.form import Contract, RegistrationForm, Signature
from schemas.limits import REGISTRATION_ID_PATTERN
from schemas.messages import Envelope, RecordSignature, SubmitRegistration
from workflow.domain.clock import PARIS
from workflow.domain.form_normalisation import normalise_form
from workflow.domain.form_rules import check_form
from workflow.domain.machine import State
from workflow.persistence.orm import ApiRequestRow
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.persistence.repositories.registrations import RegistrationRepository

if TYPE_CHECKING:
    from regflow.join import Links

log = structlog.get_logger("api")
PREFIX = "/api/v1"
SUBMIT, SIGN = "cmd.registration.submit", "cmd.registration.sign"
RETRY_AFTER_SECONDS = 10
BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_REGISTRATION = re.compile(REGISTRATION_ID_PATTERN)
_M = TypeVar("_M", bound=BaseModel)


def registration_path(registration_id: str) -> str:
    return f"{PREFIX}/registrations/{registration_id}"


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class IntakeApi:
    links: Links
    keys: ApiKeyStore
    max_bytes: int

    # --- what every request goes through ------------------------------------------------------------------------

    def client(self) -> str:
        """The client system whose API key the request carries (`Authorization: Bearer <key>`), else 401."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        name = self.keys.authenticate(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        if name is None:
            challenge = 'Bearer realm="regflow"' + (', error="invalid_token"' if key.strip() else "")
            raise ApiError(401, "a valid API key is required: Authorization: Bearer <key>",
                           "une clé d'API valide est requise : Authorization: Bearer <clé>",
                           headers={"WWW-Authenticate": challenge})
        return name

    def body(self) -> tuple[str, Any]:
        """The request's `Idempotency-Key` and its JSON body (text and document), checked in the module's order."""
        if request.content_length is not None and request.content_length > self.max_bytes:
            raise ApiError(413, f"the body is over the limit of {self.max_bytes} bytes",
                           f"le corps de la requête dépasse la limite de {self.max_bytes} octets")
        if request.mimetype != "application/json" or request.mimetype_params.get("charset", "utf-8").lower() not in (
                "utf-8", "utf8"):
            raise ApiError(415, "send the body as application/json (UTF-8)",
                           "envoyez le corps en application/json (UTF-8)")
        key = request.headers.get("Idempotency-Key", "").strip()
        key = key[1:-1] if len(key) > 1 and key[0] == key[-1] == '"' else key  # a structured-field string
        if not _KEY.fullmatch(key):
            raise ApiError(400, "an Idempotency-Key header is required: 8 to 100 letters, digits, '.', '_', ':' or "
                                "'-' (a UUID fits), the same for every retry of a request",
                           "l'en-tête Idempotency-Key est requis : 8 à 100 lettres, chiffres, '.', '_', ':' ou '-' "
                           "(un UUID convient), le même à chaque nouvel essai d'une requête",
                           kind="urn:regflow:problem:idempotency-key")
        data = request.get_data(cache=False)
        if request.content_length is None and len(data) >= self.max_bytes:  # streamed: werkzeug stops at the limit
            raise ApiError(413, f"the body reaches the limit of {self.max_bytes} bytes",
                           f"le corps de la requête atteint la limite de {self.max_bytes} octets")
        try:
            text = data.decode("utf-8")
            return key, (text, json.loads(text, parse_constant=_no_constant))
        except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, NaN, nested past the parser's depth
            raise ApiError(400, f"the body is not UTF-8 JSON ({type(exc).__name__})",
                           "le corps de la requête n'est pas du JSON en UTF-8",
                           kind="urn:regflow:problem:not-json") from None

    @staticmethod
    def parsed(model: type[_M], text: str) -> _M:
        try:
            return model.model_validate_json(text)
        except ValidationError as exc:
            raise invalid(schema_errors(exc)) from None

    # --- the operations ------------------------------------------------------------------------------------------

    def submit(self) -> Response:
        client = self.client()
        key, (text, document) = self.body()
        digest = request_digest("POST /registrations", document)
        replayed = self._replay(client, key, digest)
        if replayed is not None:
            return replayed
        form = self.parsed(RegistrationForm, text)
        self._check_rules(form)
        return self._record(client, key, digest, command=SUBMIT, payload=SubmitRegistration(form=form),
                            registration_id=str(uuid.uuid4()))

    def sign(self, registration_id: str) -> Response:
        client = self.client()
        submitted = self.submitted(client, registration_id)
        key, (text, document) = self.body()
        digest = request_digest(f"POST /registrations/{registration_id}/signature", document)
        replayed = self._replay(client, key, digest)
        if replayed is not None:
            return replayed
        signature = self.parsed(Signature, text)
        if submitted.published_at is None:  # the form itself waits for the broker: it goes first (or 503)
            self._publish(submitted)
        with self.links.sessions() as session:
            recorded = RegistrationRepository(session).get(registration_id)
            catalogue = SqlCatalogue(session).current(self.links.schedule)
        form = recorded.form if recorded is not None else _form_of(submitted)
        waiting = recorded.state is State.RECEIVED if recorded is not None else form.signature is None
        if not waiting:
            raise ApiError(409, f"registration {registration_id} is not waiting for a signature",
                           f"l'inscription {registration_id} n'attend pas de signature",
                           kind="urn:regflow:problem:not-waiting-for-signature")
        today = self.links.clock.now().astimezone(PARIS).date()
        signed = form.model_copy(update={"signature": signature})
        problems = [v for v in check_form(signed, catalogue, today)
                    if v.severity == "error" and v.field.startswith("signature")]
        if problems:
            raise invalid([FieldError(field=v.field, rule=v.rule, message_fr=v.message_fr, message_en=v.message_en)
                           for v in problems])
        return self._record(client, key, digest, command=SIGN, payload=RecordSignature(signature=signature),
                            registration_id=registration_id)

    # --- the parts -----------------------------------------------------------------------------------------------

    def submitted(self, client: str, registration_id: str) -> ApiRequestRow:
        """The request by which `client` submitted the registration: another client's, or none, is a 404."""
        row = None
        if _REGISTRATION.fullmatch(registration_id):  # a NUL or a surrogate never reaches the database
            with self.links.sessions() as session:
                row = session.scalars(select(ApiRequestRow).where(
                    ApiRequestRow.client == client, ApiRequestRow.registration_id == registration_id,
                    ApiRequestRow.command == SUBMIT).limit(1)).one_or_none()
        if row is None:
            raise ApiError(404, "no such registration submitted by this client",
                           "aucune inscription de ce numéro envoyée par ce client")
        return row

    def _check_rules(self, form: RegistrationForm) -> None:
        """Every rule the validation consumer will apply, against the catalogue in the database and the Paris day
        of the clock (the capacity and the deadline included): every error at once, or nothing."""
        today = self.links.clock.now().astimezone(PARIS).date()
        with self.links.sessions() as session:
            repository = SqlCatalogue(session)
            catalogue = repository.current(self.links.schedule)
            found = catalogue.session(form.session_id) if form.session_id else None
            taken = {found[1].id: repository.seats_taken(found[1].id)} if found and found[1].capacity else {}
        errors = [FieldError(field=v.field, rule=v.rule, message_fr=v.message_fr, message_en=v.message_en)
                  for v in check_form(normalise_form(form), catalogue, today, taken) if v.severity == "error"]
        if errors:
            raise invalid(errors)

    def _replay(self, client: str, key: str, digest: str) -> Response | None:
        """What a key already used answers: the same 202 (publishing its envelope again if the broker had not
        confirmed it), or 409 when the key came with another request."""
        with self.links.sessions() as session:
            row = session.get(ApiRequestRow, (client, key))
        if row is None:
            return None
        if not hmac.compare_digest(row.request_sha256, digest):
            raise ApiError(409, "this Idempotency-Key was used for another request: use a new key for a new request",
                           "cette clé Idempotency-Key a servi à une autre requête : prenez une clé nouvelle pour une "
                           "nouvelle requête", kind="urn:regflow:problem:idempotency-key-reused")
        return self._publish(row) if row.published_at is None else accepted(row)

    def _record(self, client: str, key: str, digest: str, *, command: str, payload: Contract,
                registration_id: str) -> Response:
        envelope = build_envelope(command, payload, registration_id, producer="api", occurred_at=self.links.clock.now())
        if envelope_size(envelope) > self.max_bytes:
            raise ApiError(413, f"its message would be over the limit of {self.max_bytes} bytes",
                           f"son message dépasserait la limite de {self.max_bytes} octets")
        row = ApiRequestRow(client=client, idempotency_key=key, request_sha256=digest, command=command,
                            registration_id=registration_id, envelope=envelope.model_dump(mode="json"),
                            received_at=self.links.clock.now(), published_at=None)
        with self.links.sessions() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same key at the same moment: the other request recorded it first
                session.rollback()
                replayed = self._replay(client, key, digest)
                assert replayed is not None
                return replayed
        log.info("api request recorded", client=client, command=command, registration_id=registration_id)
        return self._publish(row)

    def _publish(self, row: ApiRequestRow) -> Response:
        envelope = Envelope.model_validate(row.envelope)
        settings = self.links.mailroom.settings
        try:
            with CommandClient(settings, role="public", producer="api", clock=self.links.clock) as client:
                client.publish(envelope)
        except (*BROKER_ERRORS, MessageTooLargeError) as exc:
            log.warning("api command not published: broker unavailable", error=type(exc).__name__,
                        registration_id=row.registration_id)
            raise ApiError(503, "recorded but not yet sent (the broker is unavailable): send the same request with "
                                "the same Idempotency-Key again in a moment",
                           "enregistrée mais pas encore transmise (service momentanément indisponible) : renvoyez la "
                           "même requête avec la même clé Idempotency-Key dans un instant",
                           headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
        with self.links.sessions() as session:
            session.execute(update(ApiRequestRow).where(
                ApiRequestRow.client == row.client, ApiRequestRow.idempotency_key == row.idempotency_key,
                ApiRequestRow.published_at.is_(None)).values(published_at=self.links.clock.now()))
            session.commit()
        log.info("api command published", client=row.client, command=row.command,
                 registration_id=row.registration_id)
        return accepted(row)


def request_digest(operation: str, document: Any) -> str:
    """The SHA-256 of the operation and its JSON document, canonical (keys sorted, no spaces): a retry that writes
    the same document with another key order or spacing is the same request."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


def invalid(errors: list[FieldError]) -> ApiError:
    return ApiError(422, f"{len(errors)} error(s): " + "; ".join(e.message_en for e in errors[:5]),
                    f"{len(errors)} erreur(s) : " + " ; ".join(e.message_fr for e in errors[:5]),
                    kind="urn:regflow:problem:invalid-form", errors=errors)


def accepted(row: ApiRequestRow) -> Response:
    location = registration_path(row.registration_id)
    body = Accepted(id=row.registration_id, command=row.command,
                    command_id=str(row.envelope["event_id"]), location=location)
    return Response(body.model_dump_json(), 202, {"Location": location, "Content-Type": "application/json"})


def _form_of(row: ApiRequestRow) -> RegistrationForm:
    return SubmitRegistration.model_validate(Envelope.model_validate(row.envelope).payload).form
