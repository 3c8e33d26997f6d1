"""French identifiers and contact formats: SIREN/SIRET keys, phone numbers, e-mails, names. Pure functions."""

from __future__ import annotations

import re

LA_POSTE_SIREN = "356000000"


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check: the key of SIREN and SIRET numbers (INSEE)."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def normalise_siret(value: str) -> str:
    return re.sub(r"\s+", "", value)


def is_valid_siren(value: str) -> bool:
    """SIREN: 9 digits with a Luhn key (INSEE, répertoire SIRENE)."""
    siren = normalise_siret(value)
    return len(siren) == 9 and luhn_valid(siren)


def is_valid_siret(value: str) -> bool:
    """SIRET: 14 digits (SIREN + NIC) with a Luhn key.

    La Poste's establishments (SIREN 356000000) are the known exception: their SIRETs do not pass
    Luhn, and are valid when the sum of their 14 digits is a multiple of 5 (INSEE).
    """
    siret = normalise_siret(value)
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return sum(int(d) for d in siret) % 5 == 0
    return luhn_valid(siret)


_PHONE_SEPARATORS = re.compile(r"[\s.\-/]")


def normalise_french_phone(value: str) -> str | None:
    """'0X XX XX XX XX' or '+33 X XX XX XX XX' (also 0033...), as '+33 X XX XX XX XX'; None if invalid.

    French numbers have 10 digits starting with 0 (plan national de numérotation, ARCEP); the
    international form drops that 0 after +33.
    """
    compact = _PHONE_SEPARATORS.sub("", value.strip())
    if compact.startswith("+33"):
        national = compact[3:]
    elif compact.startswith("0033"):
        national = compact[4:]
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        return None
    if national.startswith("(0)"):
        national = national[3:]
    if len(national) != 9 or not national.isdigit() or national[0] == "0":
        return None
    pairs = " ".join(national[i:i + 2] for i in range(1, 9, 2))
    return f"+33 {national[0]} {pairs}"


_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


def is_valid_email(value: str) -> bool:
    """Pragmatic syntax check (local@domain.tld): no DNS, the invitation bounce tells the rest."""
    return bool(_EMAIL.match(value)) and ".." not in value


def normalise_last_name(value: str) -> str:
    """NOM in capitals on documents, accents kept ('Lefèvre' -> 'LEFÈVRE')."""
    return " ".join(value.split()).upper()


def normalise_first_name(value: str) -> str:
    """Each part capitalised, hyphens and apostrophes kept ('jean-françois' -> 'Jean-François')."""
    def capitalise(word: str) -> str:
        return word[:1].upper() + word[1:].lower()

    def hyphenated(part: str) -> str:
        return "-".join("'".join(capitalise(w) for w in piece.split("'")) for piece in part.split("-"))

    return " ".join(hyphenated(part) for part in value.split())
