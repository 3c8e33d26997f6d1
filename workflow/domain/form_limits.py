"""The rules that hold a form to the limits of the contract (`schemas.limits`). Pure.

They come first in `form_rules.RULES`: a value outside the limits is a named rejection here, rather than a
`varchar` overflow in the database, a `LayoutError` in the PDF or an `XMLSyntaxError` in the Factur-X
invoice later, where the client would hear nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum

from pydantic import BaseModel

from schemas.form import RegistrationForm
from schemas.limits import (
    AMOUNT_DECIMALS,
    FIELD_MAX_LENGTH,
    MAX_AMOUNT,
    MAX_PARTICIPANTS,
    describe_character,
    field_key,
    quoted,
    refused_character,
)
from schemas.messages import RuleViolation
from workflow.domain.rule_kit import Context, violation

MAX_VIOLATIONS = 50  # a rejection lists at most this many errors, then says how many more (bounded message)
_COUNTRY = re.compile(r"[A-Z]{2}")


def text_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every text value of a form, with its path (`participants[2].email`), however deeply nested."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, str) and not isinstance(value, Enum):  # an enum is checked by its schema
            yield path, value
        elif isinstance(value, BaseModel):
            yield from text_fields(value, f"{path}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from text_fields(item, f"{path}[{index}].")


def field_length(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'field_length': every text field holds at most its contract length (schemas.limits.FIELD_MAX_LENGTH),
    so that it fits the database column, the invoice's layout and Chorus Pro's fields."""
    for path, value in text_fields(form):
        limit = FIELD_MAX_LENGTH.get(field_key(path), 0)
        length = len(value.strip())
        if length > limit:
            yield violation("field_length", path,
                             f"Le champ {path} compte {length} caractères, pour {limit} au plus.",
                             f"{path} has {length} characters, at most {limit} are allowed")


def field_characters(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'field_characters': no control character (NUL, tab, line breaks, ESC...), surrogate, unassigned code
    point or bidirectional override in a field: each field is one line of text printed on an invoice,
    written in XML and in e-mail headers (schemas.limits)."""
    for path, value in text_fields(form):
        char = refused_character(value.strip())  # surrounding spaces and tabs: normalise_form trims them
        if char is not None:
            name = describe_character(char)
            yield violation("field_characters", path,
                             f"Le champ {path} contient un caractère non autorisé : {name}.",
                             f"{path} holds a character that is not allowed: {name}")


def country_code(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'country_code': the country of the address is an ISO 3166-1 alpha-2 code (FR), as EN 16931 asks."""
    country = form.client.address.country
    if not _COUNTRY.fullmatch(country.strip().upper()):
        yield violation("country_code", "client.address.country",
                         f"Le pays « {quoted(country)} » doit être un code ISO à deux lettres (FR).",
                         f"client.address.country must be an ISO 3166-1 alpha-2 code: '{quoted(country)}'")


def amount_in_range(amount: Decimal | None) -> bool:
    """A finite amount of euros and cents, from 0 to the largest the Money column holds."""
    if amount is None or not amount.is_finite() or not Decimal(0) <= amount <= MAX_AMOUNT:
        return False
    return amount == amount.quantize(Decimal(1).scaleb(-AMOUNT_DECIMALS))


def amount_format(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'amount_format': the declared total is in euros and cents (two decimals at most), from 0 to
    9 999 999 999,99 €. Checked before any arithmetic or formatting, which a value like 1E+100000000 would
    make cost gigabytes."""
    total = form.declared_total
    if total is not None and not amount_in_range(total):
        yield violation("amount_format", "declared_total",
                         f"Le montant total « {quoted(total)} » doit être un montant en euros avec deux "
                         "décimales au plus, entre 0 et 9 999 999 999,99 €.",
                         f"declared_total '{quoted(total)}' must be euros with at most 2 decimals, "
                         f"from 0 to {MAX_AMOUNT}")


def participant_limit(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'participant_limit': at most MAX_PARTICIPANTS participants on one form, and a declared count in the
    same range (a larger group sends several forms)."""
    if len(form.participants) > MAX_PARTICIPANTS:
        yield violation("participant_limit", "participants",
                         f"Un formulaire compte au plus {MAX_PARTICIPANTS} participants ({len(form.participants)} "
                         "reçus) : envoyez plusieurs formulaires.",
                         f"participants: at most {MAX_PARTICIPANTS} per form, {len(form.participants)} given")
    declared = form.declared_participant_count
    if declared is not None and not 0 <= declared <= MAX_PARTICIPANTS:
        yield violation("participant_limit", "declared_participant_count",
                         f"Le nombre de participants déclaré ({quoted(declared)}) doit être compris entre 1 et "
                         f"{MAX_PARTICIPANTS}.",
                         f"declared_participant_count must be from 1 to {MAX_PARTICIPANTS}: {quoted(declared)}")


def bounded(violations: list[RuleViolation]) -> list[RuleViolation]:
    """At most MAX_VIOLATIONS errors, then one that says how many more: a rejection stays a small message."""
    if len(violations) <= MAX_VIOLATIONS:
        return violations
    more = len(violations) - MAX_VIOLATIONS
    return [*violations[:MAX_VIOLATIONS], violation(
        "too_many_errors", "(form)",
        f"… et {more} autres erreurs : corrigez les précédentes et renvoyez le formulaire.",
        f"... and {more} more errors")]
