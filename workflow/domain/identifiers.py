"""French identifiers and contact formats: SIREN/SIRET keys, IBAN and BIC, phone numbers, e-mails, names. Pure.

Digits are ASCII digits only: `str.isdigit` also accepts '²' or full-width digits, which no register
or switchboard knows.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

LA_POSTE_SIREN = "356000000"

_DIGITS = re.compile(r"[0-9]+")
_SPACES = re.compile(r"\s+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-/]")
_APOSTROPHES = ("'", "’")
_IBAN_BODY = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+")
# ISO 9362:2014: a 4-character institution code, a 2-letter country, a 2-character location, an optional
# 3-character branch: 8 or 11 characters. The shape only: whether the bank exists is SWIFT's directory's to say.
_BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")

# IBAN length by country, SWIFT's IBAN registry (ISO 13616), for the SEPA countries a French training body is
# paid from. The overseas departments use FR. Outside it: refused, never guessed.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}


def is_digits(value: str) -> bool:
    """True for a non-empty string of ASCII digits (identifiers and postal codes are written so)."""
    return _DIGITS.fullmatch(value) is not None


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check, the key of SIREN and SIRET numbers (INSEE, répertoire SIRENE; ISO/IEC 7812-1).

    From the right, every second digit is doubled (minus 9 when over 9); the sum must end in 0.
    """
    if not is_digits(digits):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def normalise_siret(value: str) -> str:
    """SIREN/SIRET without the spaces people type between groups ('229 400 288 00010', INSEE's display)."""
    return _SPACES.sub("", value)


def is_valid_siren(value: str) -> bool:
    """SIREN: 9 digits, the last one a Luhn key (INSEE, répertoire SIRENE). Spaces are ignored."""
    siren = normalise_siret(value)
    return len(siren) == 9 and luhn_valid(siren)


def is_valid_siret(value: str) -> bool:
    """SIRET: 14 digits (SIREN + 5-digit NIC), Luhn-valid over all 14 (INSEE). Spaces are ignored.

    La Poste's establishments (SIREN 356000000) are the known exception: there are more of them than
    one Luhn key allows, so their SIRETs are valid when the sum of the 14 digits is a multiple of 5.
    """
    siret = normalise_siret(value)
    if len(siret) != 14 or not is_digits(siret):
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return sum(int(d) for d in siret) % 5 == 0
    return luhn_valid(siret)


def normalise_iban(value: str) -> str:
    """The electronic form of an IBAN (ISO 13616-1): no spaces, capitals ('FR76 3000 6000 ...' as printed)."""
    return _SPACES.sub("", value).upper()


def iban_check_value(iban: str) -> int:
    """ISO 13616 / ISO 7064 MOD 97-10: the country and check digits moved to the end, letters as 10..35."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97


def is_valid_iban(value: str) -> bool:
    """An IBAN of a SEPA country with its registered length and check digits making MOD 97-10 equal 1.

    Spaces and lower case are accepted (people copy it from a RIB); anything else outside [A-Z0-9] is not.
    """
    iban = normalise_iban(value)
    if not iban.isascii() or _IBAN_BODY.fullmatch(iban) is None:
        return False
    return IBAN_LENGTHS.get(iban[:2]) == len(iban) and iban_check_value(iban) == 1


def is_valid_bic(value: str) -> bool:
    """A BIC (ISO 9362): 8 or 11 ASCII capitals and digits, its 5th and 6th letters a country code."""
    return value.isascii() and _BIC.fullmatch(value) is not None


def grouped_by_four(iban: str) -> str:
    """The paper form of an IBAN (ISO 13616-1: groups of four): 'FR76 3000 6000 0112 3456 7890 189'."""
    compact = normalise_iban(iban)
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def normalise_french_phone(value: str) -> str | None:
    """'0X XX XX XX XX' or '+33 X XX XX XX XX' (also 0033...), as '+33 X XX XX XX XX'; None if invalid.

    French numbers have 10 digits, a 0 then a digit 1-9 (plan national de numérotation, ARCEP); the
    international form drops that 0 after +33. Spaces, dots, dashes and slashes separate groups, and
    '+33 (0)1...' is tolerated because people write it.
    """
    compact = _PHONE_SEPARATORS.sub("", value)
    for prefix in ("+33", "0033", "0"):
        if compact.startswith(prefix):
            national = compact.removeprefix(prefix).removeprefix("(0)")
            break
    else:
        return None
    if len(national) != 9 or not is_digits(national) or national[0] == "0":
        return None
    pairs = " ".join(national[i:i + 2] for i in range(1, 9, 2))
    return f"+33 {national[0]} {pairs}"


def normalise_email(value: str) -> str | None:
    """One recipient's address, checked by `email-validator` (RFC 5321/5322 syntax, IDNA domains), in the
    ASCII form an SMTP server without SMTPUTF8 takes, lower-cased; None if it is not one address.

    No DNS look-up (a bounce tells the rest). Refused: lists (`a@x.fr,b@y.fr`), display names, quoted local
    parts, domain literals, non-ASCII local parts (which need SMTPUTF8, not offered by every relay), and the
    RFC 2047 encoded-word syntax (`=?utf-8?q?x?=@example.com` reads as `x@example.com` in a header).
    """
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False, allow_quoted_local=False,
                                 allow_domain_literal=False, allow_display_name=False)
    except (EmailNotValidError, ValueError):
        return None
    address = (checked.ascii_email or checked.normalized).lower()
    if "=?" in address:  # RFC 2047 encoded-word syntax: a mail header parser reads it as another address
        return None
    top_level = address.rsplit(".", 1)[-1]
    if len(top_level) < 2 or top_level.isdigit():  # no top-level domain has one letter or only digits
        return None
    return address


def is_valid_email(value: str) -> bool:
    """True for exactly one address that `normalise_email` accepts."""
    return normalise_email(value) is not None


def normalise_last_name(value: str) -> str:
    """NOM in capitals on documents (DOMAIN.md), accents kept ('Lefèvre' -> 'LEFÈVRE'), spaces collapsed."""
    return " ".join(value.split()).upper()


def normalise_first_name(value: str) -> str:
    """Each part capitalised, hyphens and apostrophes kept ('jean-françois' -> 'Jean-François').

    French usage: every element of a compound first name takes a capital, on the form as on documents.
    """
    def capitalise(word: str) -> str:
        return word[:1].upper() + word[1:].lower()

    def apostrophed(piece: str) -> str:
        for mark in _APOSTROPHES:
            if mark in piece:
                return mark.join(apostrophed(w) for w in piece.split(mark))
        return capitalise(piece)

    def hyphenated(part: str) -> str:
        return "-".join(apostrophed(piece) for piece in part.split("-"))

    return " ".join(hyphenated(part) for part in value.split())
