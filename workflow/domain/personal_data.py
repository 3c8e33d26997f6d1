"""Personal data (RGPD): who a person is in our records, the pseudonym that replaces them, what may be erased and
what the law makes us keep. No I/O: `workflow.ops.personal_data` reads the rows, asks here, writes back.

- The pseudonym is stable and not reversible: an HMAC-SHA256 of the normalised e-mail under a secret setting
  (`REGFLOW_PERSONAL_DATA_SECRET`), written with letters only (a NOM field takes no digits). Two records of the same
  person carry the same pseudonym, so they still match one another and every count stays the same; without the
  secret nobody can test a guessed address against it. Its address is in `.invalid` (RFC 2606): nothing can be sent.
- `scrub` rewrites one stored value (a column's text, a JSON document) with the person replaced: a JSON object that
  names them by e-mail, or by first and last name, gets the pseudonym's; free text loses the e-mail and the name.
  It is idempotent, and it never touches a figure (a number, a date, an amount): totals and counts do not move.
- Kept (RGPD art. 17-3-b, a legal obligation; 17-3-e, legal claims): issued invoices and credit notes as issued
  (code de commerce L123-22, 10 years); the certificates of completion as issued while their period runs (arrêté
  du 21 décembre 2018, R6332-26); a registration still in progress or not paid (the contract is being performed,
  the claim is open).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from schemas.limits import MAX_REASON_LENGTH, quoted
from workflow.domain.identifiers import normalise_email

PSEUDONYM_DOMAIN = "pseudonyme.invalid"  # RFC 2606: a domain that can never receive mail
TOKEN_LETTERS = 12  # 26^12 ≈ 9.5e16 pseudonyms: no two people of one training body share one
MIN_REASON, MAX_REASON = 3, MAX_REASON_LENGTH
DEFAULT_RETENTION_MONTHS = 36
EMAIL_KEYS = frozenset({"email", "recipient", "to"})
FIRST_NAME_KEYS = frozenset({"first_name", "prenom"})
LAST_NAME_KEYS = frozenset({"last_name", "nom"})
FULL_NAME_KEYS = frozenset({"name", "trainee", "participant", "signatory", "full_name"})
CLEARED_KEYS = frozenset({"phone", "telephone", "service"})  # the person's own details, nothing else needs them


@dataclass(frozen=True)
class Reason:
    key: str
    article: str
    fr: str
    en: str


ACCOUNTING_KEPT = Reason(
    "accounting-documents", "code de commerce L123-22 ; RGPD art. 17-3-b",
    "factures et avoirs conservés tels qu'émis 10 ans (la liste des participants reste sur le PDF émis)",
    "invoices and credit notes kept as issued for 10 years (the participants' list stays on the issued PDF)")
EVIDENCE_KEPT = Reason(
    "training-proofs", "arrêté du 21 décembre 2018, code du travail R6332-26 ; RGPD art. 17-3-b",
    "certificats de réalisation conservés tels qu'émis jusqu'à la fin de leur durée de conservation",
    "certificates of completion kept as issued until the end of their retention period")
IN_PROGRESS_KEPT = Reason(
    "registration-in-progress", "RGPD art. 17-1-a et 17-3-e",
    "inscription en cours ou non soldée : conservée jusqu'à son règlement",
    "registration in progress or not paid in full: kept until it is settled")
WITHIN_RETENTION = Reason(
    "within-retention-time", "RGPD art. 5-1-e (durée fixée par REGFLOW_PERSONAL_DATA_RETENTION_MONTHS)",
    "inscription réglée depuis moins longtemps que la durée de conservation : pseudonymisée plus tard",
    "registration settled more recently than the retention time: pseudonymised later")
REASONS = (ACCOUNTING_KEPT, EVIDENCE_KEPT, IN_PROGRESS_KEPT, WITHIN_RETENTION)
SETTLED_STATES = frozenset({"paid", "credited", "cancelled", "rejected"})  # nothing more is owed or to be done


class PersonalDataError(ValueError):
    """A request that cannot be made (an address that is not one, a reason too short or too long): FR / EN."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(f"{fr} / {en}")
        self.fr, self.en = fr, en


def subject_email(text: str) -> str:
    """The address typed, as the forms store it (`normalise_email`: lower case, ASCII domain), else refused."""
    address = normalise_email(text.strip())
    if address is None:
        raise PersonalDataError(f"adresse e-mail « {quoted(text)} » invalide",
                                f"invalid e-mail address '{quoted(text)}'")
    return address


def request_reason(text: str) -> str:
    """Why the erasure is asked (the person's request, its date...): 3 to 500 characters, kept in the log; a control
    character (a NUL the database refuses, an escape a terminal obeys) is refused."""
    reason = " ".join(text.split())
    if not MIN_REASON <= len(reason) <= MAX_REASON or any(unicodedata.category(c).startswith("C") for c in reason):
        raise PersonalDataError(f"motif requis, de {MIN_REASON} à {MAX_REASON} caractères, sans caractère de contrôle",
                                f"a reason is required, {MIN_REASON} to {MAX_REASON} characters, no control character")
    return reason


@dataclass(frozen=True)
class Pseudonym:
    token: str

    @property
    def subject(self) -> str:
        return f"personne-{self.token}"

    @property
    def email(self) -> str:
        return f"{self.subject}@{PSEUDONYM_DOMAIN}"

    @property
    def first_name(self) -> str:
        return "Personne"

    @property
    def last_name(self) -> str:
        return self.token.upper()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def pseudonym(email: str, secret: str) -> Pseudonym:
    """The same e-mail (any case) and secret give the same pseudonym; letters a-z only."""
    digest = hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).digest()
    return Pseudonym("".join(chr(ord("a") + b % 26) for b in digest[:TOKEN_LETTERS]))


def is_pseudonym(email: str) -> bool:
    return email.lower().endswith(f"@{PSEUDONYM_DOMAIN}")


@dataclass(frozen=True)
class Person:
    """Whom a request is about: the e-mail and the names found beside it in the records."""

    email: str
    names: tuple[tuple[str, str], ...]  # (first name, last name) as written

    def texts(self) -> list[str]:
        """What is looked for in free text, longest first ('Claire DURAND' before 'DURAND'); a one-letter name is
        not looked for alone."""
        found = {self.email}
        for first, last in self.names:
            found |= {f"{first} {last}", f"{last} {first}"} if first and last else set()
            found |= {last} if len(last) > 1 else set()
        return sorted((t for t in found if t), key=len, reverse=True)


def _pattern(texts: Iterable[str]) -> str:
    """Each text as a whole word (not inside another word or address); none: a pattern that never matches."""
    return "|".join(rf"(?<![\w@.]){re.escape(t)}(?![\w@])" for t in texts) or "(?!)"


@functools.cache
def _matcher(who: Person, alias: Pseudonym) -> re.Pattern[str]:
    """The alias's own forms first, matched to be left alone (scrubbing twice changes nothing, even for a person
    whose name is "Personne"), then the person's."""
    return re.compile(rf"(?P<alias>{_pattern([alias.email, alias.full_name])})|(?P<email>{_pattern([who.email])})"
                      rf"|(?P<name>{_pattern(t for t in who.texts() if t != who.email)})", re.IGNORECASE)


def person(email: str, names: Iterable[tuple[str | None, str | None]]) -> Person:
    found = {((f or "").strip(), (n or "").strip()) for f, n in names if (f or "").strip() or (n or "").strip()}
    return Person(email, tuple(sorted(found)))


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and a.strip().casefold() == b.casefold()


def _names_them(record: dict[str, Any], who: Person) -> bool:
    if any(_same(record.get(k), who.email) for k in EMAIL_KEYS):
        return True
    firsts = [record[k] for k in FIRST_NAME_KEYS if k in record]
    lasts = [record[k] for k in LAST_NAME_KEYS if k in record]
    return any(_same(f, first) and _same(n, last) for f in firsts for n in lasts for first, last in who.names)


def _text(value: str, who: Person, alias: Pseudonym) -> str:
    def replaced(found: re.Match[str]) -> str:
        if found["alias"] is not None:
            return found[0]
        return alias.email if found["email"] is not None else alias.full_name

    return _matcher(who, alias).sub(replaced, value)


def scrub(value: Any, who: Person, alias: Pseudonym) -> Any:
    """`value` with `who` replaced by `alias`: the same shape, the same figures."""
    if isinstance(value, str):
        return _text(value, who, alias)
    if isinstance(value, list):
        return [scrub(v, who, alias) for v in value]
    if not isinstance(value, dict):
        return value
    theirs = _names_them(value, who)
    result: dict[str, Any] = {}
    for key, item in value.items():
        if theirs and isinstance(item, str) and key in EMAIL_KEYS:
            result[key] = alias.email
        elif theirs and isinstance(item, str) and key in FIRST_NAME_KEYS:
            result[key] = alias.first_name
        elif theirs and isinstance(item, str) and key in LAST_NAME_KEYS:
            result[key] = alias.last_name
        elif theirs and isinstance(item, str) and key in FULL_NAME_KEYS:
            result[key] = alias.full_name
        elif theirs and key in CLEARED_KEYS:
            result[key] = None
        else:
            result[key] = scrub(item, who, alias)
    return result


def mentions(value: Any, who: Person, alias: Pseudonym) -> bool:
    """Whether the value still carries the person's e-mail or name anywhere (the alias's own words aside)."""
    if isinstance(value, str):
        return any(found["alias"] is None for found in _matcher(who, alias).finditer(value))
    if isinstance(value, list):
        return any(mentions(v, who, alias) for v in value)
    if isinstance(value, dict):
        return any(mentions(v, who, alias) for v in value.values())
    return False


def fragments(value: Any, who: Person, alias: Pseudonym) -> list[Any]:
    """What of a stored value is about the person, for the right of access: the JSON objects that name them whole,
    the texts that mention them; the rest of the value (another participant on the same form) is not theirs."""
    if isinstance(value, str):
        return [value] if mentions(value, who, alias) else []
    if isinstance(value, list):
        return [part for item in value for part in fragments(item, who, alias)]
    if isinstance(value, dict):
        if _names_them(value, who):
            return [value]
        return [part for item in value.values() for part in fragments(item, who, alias)]
    return []


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def past_retention(state: str, last_activity: date, as_of: date, months: int) -> bool:
    """The scheduled pseudonymisation's rule: a registration settled (nothing owed, nothing to do) whose last
    payment (or last change, when nothing was paid) is `months` old or more on `as_of`."""
    return state in SETTLED_STATES and add_months(last_activity, months) <= as_of
