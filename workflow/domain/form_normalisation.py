"""The form as regflow keeps it: trimmed, names and e-mails spelled one way, storable by any database.

Pure, like the rules (`workflow.domain.form_rules`), which run on the normalised form.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TypeVar

from pydantic import BaseModel

from schemas.form import Participant, RegistrationForm
from schemas.limits import without_surrogates
from workflow.domain.identifiers import (
    normalise_email,
    normalise_first_name,
    normalise_french_phone,
    normalise_last_name,
    normalise_siret,
)

_M = TypeVar("_M", bound=BaseModel)

_CIVILITE_ALIASES = {"mme": "Mme", "madame": "Mme", "m.": "M.", "m": "M.", "monsieur": "M.", "mr": "M."}


def _name(value: str | None, normalise: Callable[[str], str]) -> str | None:
    return normalise(value) if value else value


def _email(value: str | None) -> str | None:
    """The address as `normalise_email` spells it (ASCII domain, lower case), else as typed, trimmed."""
    if not value:
        return value
    return normalise_email(value.strip()) or value.strip().lower()


def normalise_participant(p: Participant) -> Participant:
    """Text trimmed, civilité spelled 'Mme'/'M.', NOM in capitals, first name capitalised, e-mail lower-cased."""
    p = _trimmed(p)
    return p.model_copy(update={
        "civilite": _CIVILITE_ALIASES.get((p.civilite or "").strip().lower(), p.civilite),
        "first_name": _name(p.first_name, normalise_first_name),
        "last_name": _name(p.last_name, normalise_last_name),
        "email": _email(p.email)})


def _trimmed(model: _M) -> _M:
    """Every text field without its surrounding white space (a copy-paste artefact), however nested."""
    return _mapped(model, str.strip)


def _mapped(model: _M, change: Callable[[str], str]) -> _M:
    """Every text field passed through `change`, however nested (enums left alone)."""
    update: dict[str, object] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, str) and not isinstance(value, Enum) and change(value) != value:
            update[name] = change(value)
        elif isinstance(value, BaseModel):
            update[name] = _mapped(value, change)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            update[name] = [_mapped(item, change) for item in value]
    return model.model_copy(update=update) if update else model


def storable(form: _M) -> _M:
    """The form as it can be kept: a lone surrogate (which UTF-8 cannot hold) and NUL (which PostgreSQL's text
    cannot) become U+FFFD. Checked before: `field_characters` names them in the rejection."""
    return _mapped(form, lambda text: without_surrogates(text).replace("\x00", "\ufffd"))


def normalise_form(form: RegistrationForm) -> RegistrationForm:
    """Text trimmed, NOM in capitals, first names capitalised, e-mails lower-cased, phone as +33, SIRET without
    spaces, country code in capitals."""
    form = _trimmed(form)
    participants = [normalise_participant(p) for p in form.participants]
    g = form.gestionnaire
    gestionnaire = g.model_copy(update={
        "first_name": _name(g.first_name, normalise_first_name),
        "last_name": _name(g.last_name, normalise_last_name),
        "email": _email(g.email),
        "phone": (normalise_french_phone(g.phone) or g.phone) if g.phone else g.phone})
    client = form.client.model_copy(update={
        "siret": normalise_siret(form.client.siret) if form.client.siret else form.client.siret,
        "address": form.client.address.model_copy(update={"country": form.client.address.country.strip().upper()})})
    return form.model_copy(update={"participants": participants, "gestionnaire": gestionnaire,
                                   "client": client})
