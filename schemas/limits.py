"""The limits of every field: lengths, characters, ranges. Part of the contract.

One table, read by the validation rules (a value outside is a named rejection, in French and English),
checked against the database columns by a test, and honoured by the PDF layout and the Factur-X XML
(the invariant tests draw and validate the longest values accepted). Pure data: no import of `workflow`.

Characters: every field of the form is one line of text. Refused anywhere: control characters (Unicode
category Cc: NUL, TAB, CR, LF, ESC, VT...), surrogates (Cs), unassigned code points and the two
noncharacters U+FFFE/U+FFFF (Cn: XML 1.0 refuses them), line and paragraph separators (Zl, Zp), and the
bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) that make a name display as another
("Trojan Source", CVE-2021-42574). Every script is welcome otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Final

# Registration ids: what the intake makes (a UUID) or what an upstream system gives. Safe in a URL path, an
# e-mail header, a file name and a log line.
REGISTRATION_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
REGISTRATION_ID_MAX: Final = 64
# Catalogue ids (trainings, sessions): the same alphabet, as in the catalogue's `cpom-2023-09-15`.
CATALOGUE_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
CATALOGUE_ID_MAX: Final = 100
# The catalogue's own fields (a training, a session), as their columns hold them.
TRAINING_TITLE_MAX: Final = 300
TRAINING_TEXT_MAX: Final = 4000  # the objective, the programme
TRAINING_NAME_MAX: Final = 200  # the speaker, the trainer, an audience, the format
JOIN_URL_MAX: Final = 500  # the video-conference platform's address of the session
MAX_CAPACITY: Final = 10000  # seats of one session: the benchmark's largest webinar

# Longest value accepted, per form field (after surrounding spaces are stripped). E-mail: RFC 5321 4.5.3.1
# (a path of 256 octets, 254 for the address). Chorus Pro: code service 100, numéro d'engagement 50
# (Chorus Pro's "Spécifications externes", flux E1).
FIELD_MAX_LENGTH: Final[dict[str, int]] = {
    "training_id": CATALOGUE_ID_MAX,
    "session_id": CATALOGUE_ID_MAX,
    "client.name": 200,
    "client.address.street": 200,
    "client.address.complement": 200,
    "client.address.postal_code": 10,
    "client.address.city": 100,
    "client.address.country": 2,
    "client.siret": 20,
    "client.chorus_service_code": 100,
    "client.chorus_commitment_number": 50,
    "gestionnaire.email": 254,
    "gestionnaire.first_name": 100,
    "gestionnaire.last_name": 100,
    "gestionnaire.service": 200,
    "gestionnaire.phone": 30,
    "participants[].civilite": 10,
    "participants[].first_name": 100,
    "participants[].last_name": 100,
    "participants[].email": 254,
    "signature.place": 100,
    "signature.signatory": 200,
    "signature.electronic_reference": 200,
}

MAX_PARTICIPANTS: Final = 200  # per form: a whole department's team; a form of 200 is about 60 KB
MAX_AMOUNT: Final = Decimal("9999999999.99")  # the Money column, Numeric(12, 2)
AMOUNT_DECIMALS: Final = 2  # cents
MAX_REASON_LENGTH: Final = 500  # a free-text reason given with a command (move, cancel, correct, refuse)
MAX_ACTOR_LENGTH: Final = 100  # who asked or recorded (`--by`), the history's actor column
MAX_PAYMENT_ID_LENGTH: Final = 100  # finance's reference of a payment, the payments column
MAX_INVOICE_NUMBER_LENGTH: Final = 20  # `2026-000123`, the invoices column
SURVEY_COMMENT_MAX: Final = 2000  # a participant's comment on the satisfaction survey, the surveys column
MAX_HOLD_BATCH: Final = 1000  # registrations per `session.held_batch`: a few tens of KB, far under the limit
# Participants per attendance event (`session.held`, then `session.attendance` for the rest of a large session): at
# the longest ids and ten half-days each, one participant is 671 bytes of JSON, so 300 stay under the 256 KiB a
# message may weigh (REGFLOW_MAX_MESSAGE_BYTES); a test draws the largest part. A session without a capacity has
# no limit of seats, so the attendance of 1,100 ordinary seats (250 bytes each) no longer fits in one message.
MAX_ATTENDANCE_PART: Final = 300
MAX_QUOTED: Final = 60  # how much of a user's value a rejection message quotes back

_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs", "Cn", "Zl", "Zp"})


def field_key(path: str) -> str:
    """`participants[3].email` -> `participants[].email`, the key of FIELD_MAX_LENGTH."""
    return re.sub(r"\[\d+\]", "[]", path)


def refused_character(value: str) -> str | None:
    """The first character a one-line field may not hold, or None when every character is allowed."""
    for char in value:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _REFUSED_CATEGORIES:
            return char
    return None


def describe_character(char: str) -> str:
    """`U+001B (ESCAPE)`: how a refused character is named in a message (never the character itself)."""
    name = unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = {0: "NULL", 9: "TAB", 10: "LINE FEED", 11: "VERTICAL TAB", 13: "CARRIAGE RETURN",
                27: "ESCAPE"}.get(ord(char), "CONTROL")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def quoted(value: object, limit: int = MAX_QUOTED) -> str:
    """A user's value as a message quotes it: at most `limit` characters, refused characters shown as
    `\\u001b`, so that a rejection never carries a huge or hostile value back."""
    text = str(value)
    shown = "".join(f"\\u{ord(c):04x}" if refused_character(c) else c for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def has_surrogate(value: object) -> bool:
    """True when a text anywhere in `value` (nested lists and dicts) holds a lone surrogate: JSON can carry one
    (`"\\udfff"`), UTF-8 cannot, so no database, PDF or e-mail can store it."""
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_surrogate(item) for item in value)
    return False


def without_surrogates(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD, so that a refused form can still be kept."""
    return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)


def one_line(value: str) -> str:
    """A command's free text (a reason, who asked, a payer, an id) as one line of text: a refused character
    (NUL, CR/LF, ESC, a bidirectional override...) is a validation error naming it, before it reaches the
    database, a credit note or an e-mail."""
    char = refused_character(value)
    if char is not None:
        raise ValueError(f"holds a character that is not allowed: {describe_character(char)}")
    return value
