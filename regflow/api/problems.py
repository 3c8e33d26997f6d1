"""The intake API's errors as RFC 9457 problem details (`application/problem+json`), in English and French, and the
schema's errors turned into named field errors (`FieldError`) as the form's rules name theirs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from flask import Response
from pydantic import ValidationError

from schemas.api import FieldError, Problem
from schemas.limits import quoted

PROBLEM_JSON = "application/problem+json"
# Each status: its English title, its French one.
TITLES: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "Requête invalide"),
    401: ("Unauthorized", "Authentification requise"),
    404: ("Not Found", "Introuvable"),
    405: ("Method Not Allowed", "Méthode non autorisée"),
    409: ("Conflict", "Conflit"),
    413: ("Content Too Large", "Contenu trop volumineux"),
    415: ("Unsupported Media Type", "Type de contenu non pris en charge"),
    422: ("Unprocessable Content", "Contenu non recevable"),
    500: ("Internal Server Error", "Erreur interne"),
    503: ("Service Unavailable", "Service momentanément indisponible"),
}
# pydantic's kinds of error, as the person who reads the French message understands them.
SCHEMA_FR: dict[str, str] = {
    "extra_forbidden": "champ inconnu du formulaire",
    "missing": "champ obligatoire absent",
    "string_type": "doit être un texte",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "decimal_type": "doit être un montant (nombre ou texte comme \"1190.00\")",
    "decimal_parsing": "doit être un montant (nombre ou texte comme \"1190.00\")",
    "finite_number": "doit être un nombre fini",
    "date_type": "doit être une date AAAA-MM-JJ",
    "date_parsing": "doit être une date AAAA-MM-JJ",
    "date_from_datetime_parsing": "doit être une date AAAA-MM-JJ",
    "date_from_datetime_inexact": "doit être une date AAAA-MM-JJ, sans heure",
    "enum": "valeur non reconnue : choisissez l'une des valeurs permises",
    "list_type": "doit être une liste",
    "model_type": "doit être un objet JSON",
    "model_attributes_type": "doit être un objet JSON",
    "dict_type": "doit être un objet JSON",
    "json_invalid": "n'est pas un JSON lisible",
    "string_too_long": "texte trop long",
}


class ApiError(Exception):
    """An answer other than success, raised where it is decided and turned into a problem by the blueprint."""

    def __init__(self, status: int, detail_en: str, detail_fr: str, *, kind: str = "about:blank",
                 errors: Iterable[FieldError] = (), headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail_en)
        self.status, self.detail_en, self.detail_fr, self.kind = status, detail_en, detail_fr, kind
        self.errors, self.headers = list(errors), dict(headers or {})

    def response(self) -> Response:
        return problem(self.status, self.detail_en, self.detail_fr, kind=self.kind, errors=self.errors,
                       headers=self.headers)


def problem(status: int, detail_en: str, detail_fr: str, *, kind: str = "about:blank",
            errors: Iterable[FieldError] = (), headers: Mapping[str, str] | None = None) -> Response:
    title_en, title_fr = TITLES.get(status, TITLES[500 if status >= 500 else 400])
    body = Problem(type=kind, title=title_en, status=status, detail=detail_en, title_fr=title_fr, detail_fr=detail_fr,
                   errors=list(errors))
    document = body.model_dump(mode="json")
    try:
        text = json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate quoted from the request: escaped, as JSON allows
        text = json.dumps(document).encode()
    return Response(text, status, {**(headers or {}), "Content-Type": PROBLEM_JSON})


def field_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's location as the rules write a field (`participants[0].email`); a hostile key is quoted back
    shortened, its refused characters escaped."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{quoted(part)}" if path else quoted(part))
    return path or "(document)"


def schema_errors(exc: ValidationError) -> list[FieldError]:
    """Every error of the schema, named: `schema.<kind>`, in French and English."""
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        field = field_path(tuple(error["loc"]))
        french = SCHEMA_FR.get(error["type"], "valeur refusée par le schéma du formulaire")
        found.append(FieldError(field=field, rule=f"schema.{error['type']}", message_fr=f"{field} : {french}",
                                message_en=f"{field}: {quoted(error['msg'], 200)}"))
    return found
