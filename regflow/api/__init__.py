"""The HTTP intake API for upstream systems (issue #19), on the public process beside the personal links
(`regflow join-server`), mounted by `register_api`:

- `POST /api/v1/registrations`: a registration form as JSON, published as `cmd.registration.submit` (202, Location);
- `GET /api/v1/registrations/{id}`: its state in words, history, invoices and credit notes;
- `POST /api/v1/registrations/{id}/signature`: its signature, published as `cmd.registration.sign`;
- `GET /api/v1/openapi.json`: the OpenAPI 3.1 document (`regflow.api.openapi`, docs/openapi.json).

What each request goes through is `regflow.api.intake`'s docstring; the keys, `regflow.api.keys`. It publishes as the
public process's broker user (REGFLOW_BROKER_URL_PUBLIC), as the online form of the same process does. Every error under
/api/ is a problem document (`regflow.api.problems`), the routing's own 404 and 405 included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from regflow.api.intake import PREFIX, IntakeApi
from regflow.api.keys import ApiKeyStore
from regflow.api.problems import ApiError, problem
from regflow.api.status import registration_status

if TYPE_CHECKING:
    from regflow.join import Links


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def http_problem(error: HTTPException) -> Response:
    """A werkzeug error (a route or method that does not exist, a body over the limit) as a problem document."""
    status = error.code or 500
    allowed = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
    english = {404: "no such resource", 405: "method not allowed here",
               413: "the body is over the size limit"}.get(status, error.description or "error")
    french = {404: "ressource introuvable", 405: "méthode non autorisée ici",
              413: "le corps de la requête dépasse la limite de taille"}.get(status, "erreur")
    return problem(status, english, french, headers=allowed)


def api_blueprint(links: Links) -> Blueprint:
    settings = links.mailroom.settings
    api = IntakeApi(links, ApiKeyStore(settings.api_keys_file), settings.max_message_bytes)
    from regflow.api.openapi import document_text  # here: `python -m regflow.api.openapi` runs it as __main__

    blueprint = Blueprint("api", __name__, url_prefix=PREFIX)
    document = document_text()

    @blueprint.before_request
    def bounded() -> None:
        request.max_content_length = api.max_bytes

    @blueprint.errorhandler(ApiError)
    def refused(error: ApiError) -> Response:
        return error.response()

    @blueprint.post("/registrations")
    def submit() -> Response:
        return api.submit()

    @blueprint.get("/registrations/<registration_id>")
    def status(registration_id: str) -> Response:
        client = api.client()
        api.submitted(client, registration_id)
        found = registration_status(links.sessions, registration_id)
        return Response(found.model_dump_json(), 200, {"Content-Type": "application/json"})

    @blueprint.post("/registrations/<registration_id>/signature")
    def sign(registration_id: str) -> Response:
        return api.sign(registration_id)

    @blueprint.get("/openapi.json")
    def openapi() -> Response:
        return Response(document, 200, {"Content-Type": "application/json"})

    return blueprint


def register_api(app: Flask, links: Links) -> None:
    """Mount the API on the join service: its routes, and its errors as problem documents (the app's other pages
    keep theirs)."""
    app.register_blueprint(api_blueprint(links))

    @app.errorhandler(HTTPException)
    def api_error(error: HTTPException) -> Response | HTTPException:
        return http_problem(error) if is_api_request() else error
