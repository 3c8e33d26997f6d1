"""The intake API's OpenAPI 3.1 document, generated from the pydantic contracts (the form, the signature, the answers
of `schemas.api`): served at `/api/v1/openapi.json` and checked in as docs/openapi.json (a test fails when it is
stale). Regenerate: `python -m regflow.api.openapi [PATH]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import JsonSchemaMode, models_json_schema

from schemas.api import IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_KEY_PATTERN, Accepted, Problem, RegistrationStatus
from schemas.form import Contract, RegistrationForm, Signature
from schemas.limits import REGISTRATION_ID_MAX, REGISTRATION_ID_PATTERN

DEFAULT_PATH = Path(__file__).parents[2] / "docs" / "openapi.json"
MODELS: list[tuple[type[Contract], JsonSchemaMode]] = [
    (RegistrationForm, "validation"), (Signature, "validation"), (Accepted, "serialization"),
    (RegistrationStatus, "serialization"), (Problem, "serialization")]
ERRORS = {
    400: "The Idempotency-Key is missing or malformed, or the body is not UTF-8 JSON",
    401: "No API key, or not a valid one (WWW-Authenticate says so)",
    404: "No such registration submitted by this client system",
    409: "The Idempotency-Key was used for another request, or the registration is not waiting for a signature",
    413: "The body (or the message it would make) is over the size limit (REGFLOW_MAX_MESSAGE_BYTES)",
    415: "The body is not application/json in UTF-8",
    422: "The form breaks the schema or the form's rules: `errors` lists every one, in French and English",
    503: "Recorded, not yet sent: the broker is unavailable; retry with the same Idempotency-Key after Retry-After",
}
DESCRIPTION = """\
The registration intake for upstream systems: a registration form sent as JSON becomes the command
`cmd.registration.submit`, a signature `cmd.registration.sign`, decided by the validation consumer as every other
form. Each client system has its own API key (`regflow api-keys add NAME`), sent as `Authorization: Bearer <key>`,
and sees only the registrations it submitted.

Every POST takes an `Idempotency-Key`: the request is recorded under it before anything is published, and a retry
with the same key and the same JSON document answers the same 202 and Location (publishing the same command again
if the broker had not confirmed it: the consumer drops the duplicate). The same key with another document is a 409.
Errors are RFC 9457 problem details, in English (`title`, `detail`) and French (`title_fr`, `detail_fr`)."""


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "string"}}


def _problem(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": ERRORS[status], "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": _header("Bearer realm=\"regflow\"")}
    if status == 503:
        answer["headers"] = {"Retry-After": _header("Seconds to wait before the retry")}
    return answer


def _accepted(what: str) -> dict[str, Any]:
    return {"description": what, "headers": {"Location": _header("The registration's state: GET it")},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}}


def _json_body(model: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}


def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(MODELS, ref_template="#/components/schemas/{model}")
    registration = {"name": "id", "in": "path", "required": True, "description": "The registration's id",
                    "schema": {"type": "string", "maxLength": REGISTRATION_ID_MAX, "pattern": REGISTRATION_ID_PATTERN}}
    key = {"name": "Idempotency-Key", "in": "header", "required": True,
           "description": "The client's own key for this request (a UUID fits), the same on every retry",
           "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX, "pattern": IDEMPOTENCY_KEY_PATTERN}}
    sending = (400, 401, 409, 413, 415, 422, 503)
    return {
        "openapi": "3.1.0",
        "info": {"title": "regflow intake API", "version": "1", "description": DESCRIPTION},
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/registrations": {"post": {
                "operationId": "submitRegistration", "summary": "Send a registration form",
                "parameters": [key], "requestBody": _json_body("RegistrationForm"),
                "responses": {"202": _accepted("Recorded and published: the validation consumer decides next"),
                              **{str(s): _problem(s) for s in sending}}}},
            "/api/v1/registrations/{id}": {"get": {
                "operationId": "getRegistration", "summary": "A registration's state, history, invoices and credit "
                                                            "notes",
                "parameters": [registration],
                "responses": {"200": {"description": "The registration as recorded", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RegistrationStatus"}}}},
                    **{str(s): _problem(s) for s in (401, 404)}}}},
            "/api/v1/registrations/{id}/signature": {"post": {
                "operationId": "signRegistration", "summary": "The signature of a form sent unsigned",
                "parameters": [registration, key], "requestBody": _json_body("Signature"),
                "responses": {"202": _accepted("Recorded and published: the validation consumer confirms it"),
                              **{str(s): _problem(s) for s in sorted((*sending, 404))}}}},
            "/api/v1/openapi.json": {"get": {
                "operationId": "getOpenApi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "The OpenAPI 3.1 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "The client system's key (`regflow api-keys add NAME`)"}},
        },
    }


def document_text() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def write_openapi(path: Path) -> None:
    path.write_text(document_text(), encoding="utf-8")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    write_openapi(target)
    print(f"OpenAPI document written to {target}")
