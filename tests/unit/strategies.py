"""Hypothesis strategies: registration forms around the real catalogue, whose text comes from every script,
with control characters, values at and just over the contract's limits, edge amounts and e-mail addresses.

Most generated forms are meant to pass validation (a right session, the catalogue's price, Luhn-valid SIRETs,
one valid address per participant), so that the invariant tests spend their examples on the later stages; a
minority carry a value the contract refuses (a control character, one character too many, a total that does
not match), which the rejection tests use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from schemas.form import ClientCategory, RegistrationForm
from schemas.limits import (
    FIELD_MAX_LENGTH,
    MAX_ACTOR_LENGTH,
    MAX_AMOUNT,
    MAX_PARTICIPANTS,
    MAX_REASON_LENGTH,
    REGISTRATION_ID_PATTERN,
)
from workflow.adapters.data_files import load_catalogue
from workflow.domain.catalogue import Catalogue, SessionDate, Training
from workflow.domain.identifiers import normalise_first_name, normalise_last_name

CATALOGUE = load_catalogue(None)


def examples(factor: float) -> int:
    """A test's number of examples: `factor` times the loaded profile's (tests/unit/conftest.py: 100 by
    default and in CI, 1000 with HYPOTHESIS_PROFILE=thorough)."""
    return max(1, round(factor * settings().max_examples))

# --- characters ----------------------------------------------------------------------------------------

# One script at a time (a name is written in one script), by code point ranges; Hypothesis keeps the
# unassigned code points of a range out only if we ask, so each range is restricted to letters, marks and
# the punctuation a name or an address holds.
_SCRIPT_RANGES: dict[str, tuple[int, int]] = {
    "latin": (0x0041, 0x024F),  # ASCII letters, Latin-1, Latin Extended-A/B (œ, ŉ, ǅ...)
    "latin_extended_additional": (0x1E00, 0x1EFF),  # Vietnamese
    "ipa_and_modifiers": (0x0250, 0x02FF),
    "greek": (0x0370, 0x03FF),
    "cyrillic": (0x0400, 0x052F),
    "armenian": (0x0530, 0x058F),
    "hebrew": (0x0590, 0x05FF),
    "arabic": (0x0600, 0x06FF),
    "arabic_presentation": (0xFB50, 0xFDFF),  # ligatures as wide as U+FDFD
    "devanagari": (0x0900, 0x097F),
    "thai": (0x0E00, 0x0E7F),
    "georgian": (0x10A0, 0x10FF),
    "hangul": (0xAC00, 0xD7A3),
    "kana": (0x3040, 0x30FF),
    "cjk": (0x4E00, 0x9FFF),
    "cjk_extension_b": (0x20000, 0x2A6DF),  # beyond the BMP: two UTF-16 units, four UTF-8 bytes
    "cuneiform": (0x12000, 0x123FF),  # very wide glyphs, where a font has them
    "emoji": (0x1F300, 0x1FAFF),
    "fullwidth": (0xFF01, 0xFF5E),
}

@cache
def script(name: str) -> st.SearchStrategy[str]:
    low, high = _SCRIPT_RANGES[name]
    # letters, marks, digits, punctuation, symbols and spaces: what a name or an address is made of
    return st.characters(min_codepoint=low, max_codepoint=high, categories=("L", "M", "N", "P", "S", "Zs"))


# What the contract allows although a renderer may stumble on it: combining marks, zero-width and
# directional marks (not overrides), the BOM, private use, the replacement character, odd spaces,
# the characters that mean something in XML, HTML, iCalendar, MIME headers or reportlab's markup, and
# the letters whose capitals are longer (ß -> SS) or otherwise surprising.
TRICKY = st.sampled_from([
    "\u0301", "\u0308", "\u0327", "\u20dd",  # combining acute, diaeresis, cedilla, enclosing circle
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u2060", "\ufeff",  # ZW*, LRM, RLM, ALM, BOM
    "\u00a0", "\u202f", "\u2009", "\u3000", "\u1680", "\u00ad",  # no-break, thin, ideographic, ogham, soft hyphen
    "\ue000", "\U000f0000", "\U0010fffd", "\ufffd", "\ufdfd", "\U0001242b",  # private use, U+FFFD, wide glyphs
    "&", "<", ">", '"', "'", "\\", ";", ",", ":", "^", "=", "?", "%", "{", "}", "$", "#", "@", "*", "_",
    "€", "ß", "ŉ", "ǅ", "İ", "ﬃ", "ᾳ", "ΐ", "Ω", "ⅷ", "𝔘", "㍿",
])
# Markup and template syntax of the adapters, inserted whole.
SNIPPETS = st.sampled_from([
    "<br/>", "</para>", "<font size=80>", "<b>", "&amp;", "&#0;", "&#x1b;", "]]>", "<![CDATA[", "=?utf-8?q?x?=",
    "{{ org.name }}", "{% raw %}", "${x}", "%s", "\\n", "--", "BEGIN:VEVENT", "mailto:x@y.fr",
])

# What the contract refuses in every field (schemas.limits): control characters, surrogates, noncharacters
# and unassigned code points, line and paragraph separators, bidirectional overrides and isolates.
REFUSED = st.sampled_from([
    "\x00", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1b", "\x7f", "\x85", "\x9f",
    "\ud800", "\udfff", "\ufffe", "\uffff", "\ufdd0", "\U0001fffe", "\u0378",
    "\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
])

# Any character the contract allows, from the whole code space (refused ones come from REFUSED only, so that
# the share of accepted forms stays known).
ALLOWED = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Zl", "Zp"),
                        exclude_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


_SCRIPT_NAMES = st.sampled_from(sorted(_SCRIPT_RANGES))


# Strategies are built once (Hypothesis validates each new one: building them per draw doubled the test's time).
@cache
def _sizes(limit: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(1, min(limit, 24)), st.sampled_from([limit - 1, limit]), st.integers(1, limit))


@cache
def _alphabet(kind: str, name: str) -> st.SearchStrategy[str]:
    if kind == "script":
        return script(name)
    if kind == "mixed":
        return st.one_of(script(name), script("latin"), TRICKY)
    return st.one_of(ALLOWED, TRICKY)


@cache
def _texts(kind: str, name: str, size: int) -> st.SearchStrategy[str]:
    return st.text(_alphabet(kind, name), min_size=size, max_size=size)


def _one_in(draw: st.DrawFn, n: int) -> bool:
    """True once in `n` draws (never for n = 0)."""
    return n > 0 and draw(st.integers(0, n - 1)) == 0


# normalise_form writes NOM in capitals and capitalises first names, and a capital can be longer than its letter
# (ß -> SS, ŉ -> ʼN, ΐ -> Ϊ́): validation measures the normalised value. Unless hostile, a name is drawn so that
# it stays within its limit once normalised (and reaches it as often as any other field).
_NORMALISED = {"first_name": normalise_first_name, "last_name": normalise_last_name}


def field_text(key: str, *, hostility: int = 0) -> st.SearchStrategy[str]:
    """A value for the form field `key`, up to its length in schemas.limits.FIELD_MAX_LENGTH (see `text`)."""
    limit = FIELD_MAX_LENGTH[key]
    normalise = _NORMALISED.get(key.rsplit(".", 1)[-1])
    values = text(limit, hostility=hostility)
    if normalise is None or hostility:
        return values
    return values.map(lambda value: _within(value, limit, normalise))


def _within(value: str, limit: int, normalise: Callable[[str], str]) -> str:
    while len(normalise(value.strip())) > limit:
        value = value[:-1]
    return value if value.strip() else "x"


@st.composite
def text(draw: st.DrawFn, limit: int, *, hostility: int = 0) -> str:
    """One line of at most `limit` characters: most often a short one, often exactly the limit or one under;
    in one script, in a script mixed with tricky characters, or from the whole code space; sometimes with
    surrounding white space (trimmed by normalise_form). With `hostility` n > 0, one value in n is outside
    the contract: one character over the limit, or a refused character."""
    size = max(draw(_sizes(limit)), 1)
    kind = draw(st.sampled_from(["script", "script", "mixed", "allowed"]))
    name = draw(_SCRIPT_NAMES)
    value = draw(_texts(kind, name, size))
    if kind != "script" and draw(st.booleans()):
        snippet = draw(SNIPPETS)
        at = draw(st.integers(0, len(value)))
        value = (value[:at] + snippet + value[at:])[:size]
    if not value.strip():
        value = "x" + value[1:]
    if _one_in(draw, hostility):
        if draw(st.booleans()):
            value = value + draw(script("latin")) * (limit + 1 - len(value))
        else:
            base = value[:limit - 1]
            at = draw(st.integers(0, len(base)))
            value = base[:at] + draw(REFUSED) + base[at:]
    if draw(st.integers(0, 9)) == 0:
        value = draw(st.sampled_from([" ", "  ", "\u00a0", "\t"])) + value + draw(st.sampled_from(["", " ", "\n"]))
    return value


# --- identifiers -----------------------------------------------------------------------------------------


def luhn_key(digits: str) -> str:
    """The digit that makes `digits + key` Luhn-valid (INSEE's key of SIREN and SIRET)."""
    total = 0
    for position, char in enumerate(reversed(digits + "0")):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


@st.composite
def sirets(draw: st.DrawFn) -> str:
    """A valid SIRET: 13 digits and their Luhn key, or one of La Poste's (digits summing to a multiple of 5),
    sometimes written with the spaces of INSEE's display (`229 400 288 00010`)."""
    if draw(st.integers(0, 9)) == 0:
        nic = draw(st.text("0123456789", min_size=4, max_size=4))
        partial = "356000000" + nic
        last = str((5 - sum(int(d) for d in partial) % 5) % 5 + draw(st.sampled_from([0, 5])))
        siret = partial + last
    else:
        body = draw(st.text("0123456789", min_size=13, max_size=13))
        siret = body + luhn_key(body)
    if draw(st.booleans()):
        return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    return siret


def _label(draw: st.DrawFn, size: int) -> str:
    first = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"))
    inner = max(size - 2, 0)
    middle = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=inner, max_size=inner))
    last = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789")) if size > 1 else ""
    return first + middle + last


@st.composite
def long_addresses(draw: st.DrawFn) -> str:
    """An address of exactly 254 characters (RFC 5321's limit): a 64-character local part and labels of
    at most 63."""
    local = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789.+_-", min_size=64, max_size=64))
    local = "a" + local[1:-1].replace("..", ".a") + "z"
    local = local[:64]
    domain_size = 254 - len(local) - 1
    labels: list[str] = []
    remaining = domain_size - 3  # ".fr"
    while remaining > 0:
        size = min(63, remaining if remaining <= 63 else remaining - 2 if remaining < 66 else 63)
        labels.append(_label(draw, size))
        remaining -= size + 1
    domain = ".".join(labels) + ".fr"
    address = f"{local}@{domain}"
    return address[:254]


EDGE_ADDRESSES = st.sampled_from([
    "a@b.co", "A.B+Formation@Example.FR", "jose@exämple.fr", "x@xn--exmple-cua.fr",
    "o'brien@example.ie", "user_name-1@sub.domain.example.org", "{bob}@example.com",
    "a&b@example.com", "first.last@κόσμος.gr", "ivan@пример.рф", "li@例子.中国",
])

# What a participant or gestionnaire may type that is not one address, for the rejection tests.
BAD_ADDRESSES = st.sampled_from([
    "", "a", "a@b", "a@@b.fr", "a b@c.fr", "a@b.fr,c@d.fr", "Jean <jean@x.fr>", "jean@x.fr\r\nBcc: y@z.fr",
    "jean@[127.0.0.1]", '"jean dupont"@x.fr', "josé@x.fr", "prénom.nom@exemple.fr", "=?utf-8?q?x?=@example.com",
    "a" * 65 + "@x.fr", "x@" + "a" * 64 + ".fr", "@x.fr",
])


def addresses(hostility: int = 0) -> st.SearchStrategy[str]:
    """One address: Hypothesis's (RFC 5322 atoms, any domain), hand-made edge ones (IDN, apostrophes, the
    longest), and with `hostility` n > 0 one in n is not one address."""
    good = st.one_of(st.emails(), EDGE_ADDRESSES, long_addresses())
    if not hostility:
        return good
    return st.integers(0, hostility - 1).flatmap(lambda roll: BAD_ADDRESSES if roll == 0 else good)


# --- the form ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One generated registration: the form as the client sent it, the id the intake gave it, the catalogue
    it is checked against and the day it is validated and invoiced."""

    form: RegistrationForm
    registration_id: str
    catalogue: Catalogue
    training: Training
    session: SessionDate
    today: date
    invoice_sequence: int
    replacement: dict[str, Any]  # a participant support puts in the place of the first one
    reason: str  # of a move, a cancellation, a correction (a command's free text)
    requested_by: str  # who asked for the replacement


EDGE_PRICES = [Decimal("0.00"), Decimal("0.01"), Decimal("999.99"), Decimal("49999999.99")]  # x 200 <= MAX_AMOUNT


def _with_price(catalogue: Catalogue, training: Training, price: Decimal) -> tuple[Catalogue, Training]:
    """The catalogue with one training at another price: the invoice's amounts at their edges."""
    repriced = training.model_copy(update={"price_per_participant": price})
    trainings = [repriced if t.id == training.id else t for t in catalogue.trainings]
    return catalogue.model_copy(update={"trainings": trainings}), repriced


def participant_counts(hostility: int) -> st.SearchStrategy[int]:
    """Mostly small forms (each participant is an invitation, an .ics and a reminder to build), sometimes
    a dozen, rarely the largest the contract allows (and, when hostile, one more)."""
    sizes = st.one_of(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(4, 12))
    largest = st.sampled_from([MAX_PARTICIPANTS, MAX_PARTICIPANTS + 1] if hostility else [MAX_PARTICIPANTS])
    return st.integers(0, 39).flatmap(lambda roll: largest if roll == 0 else sizes)


@st.composite
def participants(draw: st.DrawFn, count: int, *, hostility: int) -> list[dict[str, Any]]:
    """`count` participants with distinct addresses; beyond a few, the later ones are cheap (same shapes)."""
    detailed = min(count, 4)
    emails = draw(st.lists(addresses(hostility), min_size=detailed, max_size=detailed,
                           unique_by=lambda a: a.strip().lower()))
    people: list[dict[str, Any]] = []
    for index in range(count):
        if index < detailed:
            people.append({
                "civilite": draw(field_text("participants[].civilite") if _one_in(draw, hostility)
                                 else st.sampled_from(["Mme", "M.", "Madame", "monsieur", "M", "mr", " Mme "])),
                "first_name": draw(field_text("participants[].first_name", hostility=hostility)),
                "last_name": draw(field_text("participants[].last_name", hostility=hostility)),
                "email": emails[index]})
        else:
            template = people[index % detailed]
            people.append({**template, "email": f"participant.{index}@equipe.example.fr"})
    return people


@st.composite
def registration_cases(draw: st.DrawFn, *, hostility: int = 0) -> Case:
    """A registration form to a real session of the catalogue, as a client may fill it; with `hostility` n > 0,
    about one value in n is outside the contract (see field_text)."""
    training = draw(st.sampled_from(CATALOGUE.trainings))
    session = draw(st.sampled_from(training.sessions))
    catalogue = CATALOGUE
    if draw(st.integers(0, 5)) == 0:
        catalogue, training = _with_price(catalogue, training, draw(st.sampled_from(EDGE_PRICES)))
    today = session.date - timedelta(days=draw(st.integers(1, 400)))
    count = draw(participant_counts(hostility))
    people = draw(participants(count, hostility=hostility))
    category = draw(st.sampled_from(list(ClientCategory)))
    country = draw(st.sampled_from(["FR", "FR", "FR", "fr", "BE", "CH", "LU", "DE", "MC", "JP"]))
    postal_code = (draw(st.text("0123456789", min_size=5, max_size=5)) if country.upper() == "FR"
                   else draw(field_text("client.address.postal_code", hostility=hostility)))
    client: dict[str, Any] = {
        "name": draw(field_text("client.name", hostility=hostility)),
        "address": {"street": draw(field_text("client.address.street", hostility=hostility)),
                    "complement": draw(st.none() | field_text("client.address.complement", hostility=hostility)),
                    "postal_code": postal_code,
                    "city": draw(field_text("client.address.city", hostility=hostility)),
                    "country": country},
        "category": category.value,
        "siret": draw(sirets()) if category.is_public or draw(st.booleans()) else None,
        "chorus_service_code": draw(st.none() | field_text("client.chorus_service_code", hostility=hostility)),
        "chorus_commitment_number": draw(st.none() | field_text("client.chorus_commitment_number",
                                                                hostility=hostility)),
    }
    phone = draw(st.sampled_from(["01 43 99 70 00", "+33 5 56 99 33 33", "0556993333", "06.12.34.56.78",
                                  "+33 (0)1 43 99 70 00", "0033 1 43 99 70 00"]))
    if _one_in(draw, hostility):
        phone = draw(field_text("gestionnaire.phone", hostility=hostility))
    gestionnaire = {"email": draw(addresses(hostility)),
                    "first_name": draw(field_text("gestionnaire.first_name", hostility=hostility)),
                    "last_name": draw(field_text("gestionnaire.last_name", hostility=hostility)),
                    "service": draw(field_text("gestionnaire.service", hostility=hostility)),
                    "phone": phone}
    total = training.price_per_participant * count
    declared_total: Any = total
    declared_count = count
    if _one_in(draw, hostility):
        declared_total = draw(st.sampled_from([
            total + Decimal("0.01"), total - Decimal("0.01"), Decimal("0"), MAX_AMOUNT, MAX_AMOUNT + Decimal("0.01"),
            Decimal("-595.00"), Decimal("595.005"), "1E+100000000", "1190.0000000001"]))
    if _one_in(draw, hostility):
        declared_count = draw(st.sampled_from([count + 1, count - 1, 0, -1, MAX_PARTICIPANTS + 1, 2**31]))
    signature: dict[str, Any] | None = None
    if draw(st.integers(0, 4)):
        method = draw(st.sampled_from(["stamp", "electronic"]))
        signature = {"place": draw(field_text("signature.place", hostility=hostility)),
                     "signed_on": (today - timedelta(days=draw(st.integers(0, 60)))).isoformat(),
                     "signatory": draw(field_text("signature.signatory", hostility=hostility)),
                     "method": method,
                     "electronic_reference": draw(field_text("signature.electronic_reference", hostility=hostility))
                     if method == "electronic" else None}
    data = {"training_id": training.id, "session_id": session.id, "client": client, "gestionnaire": gestionnaire,
            "participants": people, "declared_participant_count": declared_count,
            "declared_total": str(declared_total), "signature": signature}
    registration_id = draw(st.one_of(st.uuids().map(str), st.from_regex(REGISTRATION_ID_PATTERN, fullmatch=True)))
    sequence = draw(st.one_of(st.integers(1, 999), st.just(999_999), st.just(999_999_996)))  # + 3 credit notes
    replacement = draw(participants(1, hostility=hostility))[0]
    reason = draw(text(MAX_REASON_LENGTH, hostility=hostility)).rjust(3, "x")  # the commands' min_length
    requested_by = draw(text(MAX_ACTOR_LENGTH, hostility=hostility)).rjust(2, "x")
    return Case(form=RegistrationForm.model_validate(data), registration_id=registration_id, catalogue=catalogue,
                training=training, session=session, today=today, invoice_sequence=sequence, replacement=replacement,
                reason=reason, requested_by=requested_by)
