"""What a person types: checked when the arguments are parsed (a message in French and English, exit 2, not a
traceback, and nothing sent). Each `*_option` parses one value and raises `InputError`; `Checked` makes it
a click type, and the named types below are the ones the commands use, their limits read from the schemas."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from regflow.cli.output import both
from schemas.limits import (
    AMOUNT_DECIMALS,
    CATALOGUE_ID_MAX,
    CATALOGUE_ID_PATTERN,
    FIELD_MAX_LENGTH,
    MAX_ACTOR_LENGTH,
    MAX_AMOUNT,
    MAX_INVOICE_NUMBER_LENGTH,
    MAX_PAYMENT_ID_LENGTH,
    MAX_REASON_LENGTH,
    REGISTRATION_ID_MAX,
    REGISTRATION_ID_PATTERN,
    describe_character,
    quoted,
    refused_character,
)
from schemas.messages import HoldSession, MoveSession, RecordPayment, ReplaceParticipant

MAX_WAIT_SECONDS = 24 * 3600
EARLIEST_DATE = date(2000, 1, 1)  # dates typed on the command line: from this day to a year from today
T = TypeVar("T")


class InputError(ValueError):
    """Something typed on the command line (or in the environment) that cannot be used; nothing was sent."""


class Checked(click.ParamType[T]):
    """A click type from a parser that raises `InputError`: its message, as is, is the usage error's."""

    def __init__(self, parse: Callable[[str], T], metavar: str | None = None) -> None:
        self.parse = parse
        self.name = parse.__name__
        self.metavar = metavar

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> T:
        if not isinstance(value, str):  # a default, already parsed
            return value  # type: ignore[no-any-return]
        try:
            return self.parse(value)
        except InputError as exc:
            self.fail(str(exc), param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return self.metavar or (param.name or "").upper()


class Choice(click.Choice[str]):
    """One of `choices`; a wrong one is named in French and English, with the choices."""

    def __init__(self, choices: Sequence[str]) -> None:
        super().__init__(list(choices))

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        listed = ", ".join(map(str, self.choices))
        return both(f"choix « {quoted(value)} » invalide (parmi {listed})",
                    f"invalid choice: '{quoted(value)}' (choose from {listed})")


def _schema_max_length(model: type[BaseModel], name: str, fallback: int) -> int:
    """The `max_length` the schema gives a field, so that a check here cannot drift from the contract."""
    for constraint in model.model_fields[name].metadata:
        limit = getattr(constraint, "max_length", None)
        if isinstance(limit, int):
            return limit
    return fallback


def text_option(what_fr: str, what_en: str, max_length: int, *, min_length: int = 1, pattern: str | None = None
                ) -> Callable[[str], str]:
    """A parser for one line of text: stripped, `min_length`..`max_length` characters, no control character
    nor bidirectional override, and `pattern` when given."""

    def parse(value: str) -> str:
        text = value.strip()
        if len(text) < min_length:
            raise InputError(both(f"{what_fr} : {len(text)} caractère(s), {min_length} au moins",
                                  f"{what_en} too short ({len(text)} character(s), at least {min_length})"))
        if len(text) > max_length:
            raise InputError(both(f"{what_fr} : {len(text)} caractères, {max_length} au plus",
                                  f"{what_en} too long ({len(text)} characters, at most {max_length})"))
        char = refused_character(text)
        if char is not None:
            raise InputError(both(f"{what_fr} : caractère refusé {describe_character(char)}",
                                  f"{what_en}: character {describe_character(char)} not allowed"))
        if pattern is not None and not re.fullmatch(pattern, text):
            raise InputError(both(f"{what_fr} « {quoted(text)} » invalide : lettres, chiffres, « . », « _ » et « - »",
                                  f"invalid {what_en} '{quoted(text)}': letters, digits, '.', '_' and '-'"))
        return text

    parse.__name__ = what_en
    return parse


def _today() -> date:
    return date.today()


def _latest_date() -> date:
    today = _today()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def date_option(value: str) -> date:
    """A date: YYYY-MM-DD, from 2000-01-01 to a year from today."""
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(both(f"date « {quoted(value)} » invalide : AAAA-MM-JJ attendu",
                              f"invalid date '{quoted(value)}': expected YYYY-MM-DD")) from None
    latest = _latest_date()
    if not EARLIEST_DATE <= parsed <= latest:
        raise InputError(both(f"date {parsed} hors des bornes (du {EARLIEST_DATE} au {latest})",
                              f"date {parsed} out of range ({EARLIEST_DATE} to {latest})"))
    return parsed


def amount_option(value: str) -> Decimal:
    """An amount in euros: positive, two decimals at most, at most MAX_AMOUNT (the Money column,
    Numeric(12, 2)). Returned with exactly two decimals."""
    text = value.strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        hint_fr, hint_en = (" (un point, pas une virgule)", " (a dot, not a comma)") if "," in text else ("", "")
        raise InputError(both(f"montant « {quoted(value)} » invalide{hint_fr} : par exemple 1190.00",
                              f"invalid amount '{quoted(value)}'{hint_en}: e.g. 1190.00")) from None
    if not amount.is_finite():
        raise InputError(both(f"montant « {quoted(value)} » invalide", f"invalid amount '{quoted(value)}'"))
    if amount <= 0:
        raise InputError(both(f"le montant doit être positif : {quoted(text)}",
                              f"the amount must be greater than 0: {quoted(text)}"))
    if amount > MAX_AMOUNT:  # before any rounding: 1e999999 cannot even be quantized
        raise InputError(both(f"montant {quoted(text)} au-delà du maximum de {MAX_AMOUNT}",
                              f"amount {quoted(text)} over the maximum of {MAX_AMOUNT}"))
    cents = Decimal(1).scaleb(-AMOUNT_DECIMALS)
    if amount != amount.quantize(cents, rounding="ROUND_DOWN"):
        raise InputError(both(f"montant {quoted(text)} : {AMOUNT_DECIMALS} décimales au plus (des centimes)",
                              f"amount {quoted(text)}: at most {AMOUNT_DECIMALS} decimals (cents)"))
    return amount.quantize(cents)


def seconds_option(value: str) -> float:
    """A timeout: 0 (do not wait) to a day."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_WAIT_SECONDS:  # also NaN
        raise InputError(both(f"durée « {quoted(value)} » invalide : des secondes, de 0 à {MAX_WAIT_SECONDS}",
                              f"invalid duration '{quoted(value)}': seconds, from 0 to {MAX_WAIT_SECONDS}"))
    return seconds


def _text(what_fr: str, what_en: str, max_length: int, *, min_length: int = 1, pattern: str | None = None,
          metavar: str | None = None) -> Checked[str]:
    return Checked(text_option(what_fr, what_en, max_length, min_length=min_length, pattern=pattern), metavar)


def form_field(field: str, what_fr: str, what_en: str) -> Checked[str]:
    """A field of the registration form, as long as the form allows."""
    return _text(what_fr, what_en, FIELD_MAX_LENGTH[field])


DATE = Checked(date_option, "YYYY-MM-DD")
AMOUNT = Checked(amount_option, "EUROS")
SECONDS = Checked(seconds_option, "SECONDS")
REGISTRATION_ID = _text("identifiant d'inscription", "registration id", REGISTRATION_ID_MAX,
                        pattern=REGISTRATION_ID_PATTERN)
SESSION_ID = _text("identifiant de séance", "session id", _schema_max_length(HoldSession, "session_id",
                                                                            CATALOGUE_ID_MAX),
                   pattern=CATALOGUE_ID_PATTERN)
ACTOR = _text("auteur (--by)", "actor (--by)", MAX_ACTOR_LENGTH, metavar="WHO")
REASON = _text("motif", "reason", _schema_max_length(MoveSession, "reason", MAX_REASON_LENGTH), min_length=3)
INVOICE_NUMBER = _text("numéro de facture", "invoice number", MAX_INVOICE_NUMBER_LENGTH)
PAYMENT_ID = _text("référence du paiement", "payment id",
                   _schema_max_length(RecordPayment, "payment_id", MAX_PAYMENT_ID_LENGTH))
PAYER = _text("payeur", "payer", _schema_max_length(RecordPayment, "payer", 300))
EMAIL = _text("adresse e-mail", "e-mail address", FIELD_MAX_LENGTH["participants[].email"], metavar="EMAIL")
REPLACED = _text("adresse e-mail", "e-mail address", _schema_max_length(ReplaceParticipant, "replaced_email", 254),
                 metavar="EMAIL")
REPLACER = _text("auteur (--by)", "actor (--by)", MAX_ACTOR_LENGTH, min_length=2, metavar="WHO")
