"""Support's search of registrations: what a registration is found by, and how a search and a value are compared.

Only values are searched, never the form's keys (searching "email" must not find every registration): the id, the
client's name and SIRET, each participant's and the gestionnaire's names and e-mail; the invoice and credit note
numbers come from their own tables. Both sides are folded (case, accents, runs of spaces), so "zoe quillet" finds
"Zoé QUILLET"; the search is a plain substring, so `%` and `_` are only themselves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

MAX_SEARCH_LENGTH: Final = 100  # characters of a search: longer is cut, not refused


# The combining diacritical marks (what NFKD leaves of an accent) and lone surrogates go; controls become spaces.
_MARKS: Final = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\ud800-\udfff]")
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f]")
_BETWEEN: Final = "\u241e"  # ␞ between two values: folding keeps it, and a search never holds it


def folded(text: str) -> str:
    """Lower case (casefold), without accents, control characters nor surrogates, spaces collapsed: a search and
    the values it is compared with are both folded so, hence it needs no rule of the database."""
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return " ".join(_CONTROLS.sub(" ", text).lower().split())


def search_words(search: str | None) -> str | None:
    """The search as compared (cut at MAX_SEARCH_LENGTH, folded), None when nothing is left to look for."""
    return folded((search or "").strip()[:MAX_SEARCH_LENGTH].replace(_BETWEEN, " ")) or None


def _text(value: Any) -> str:
    """A string as it is, a number as written, anything else (a list, an object, a boolean) nothing."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def searched_text(registration_id: str, client_name: str | None, form: Any) -> str:
    """What a registration is found by, folded, each value apart from the next (a search never spans two); a form
    of another shape (a hand-edited row) gives what it has."""
    form = _mapping(form)
    client = _mapping(form.get("client"))
    participants = form.get("participants")
    values = [registration_id, client_name or "", _text(client.get("name")), _text(client.get("siret"))]
    for person in [form.get("gestionnaire"), *(participants if isinstance(participants, list) else [])]:
        if isinstance(person, Mapping):
            first, last = _text(person.get("first_name")), _text(person.get("last_name"))
            values += [first, last, _text(person.get("email")), f"{first} {last}"]
    return folded(_BETWEEN.join(values))


def is_found(words: str, text: str) -> bool:
    """`words` (folded) inside one of the values; a SIRET typed in groups of digits is compared without its spaces."""
    if words in text:
        return True
    return re.fullmatch(r"[0-9 ]+", words) is not None and words.replace(" ", "") in text.replace(" ", "")
