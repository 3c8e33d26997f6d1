"""The certificat de réalisation: what it states, and who gets one. No I/O.

A funder checks service fait with the invoice and this certificate (code du travail R6332-26 II); its content
follows the Ministry's model (arrêté of 21 December 2018; DOMAIN.md "After the session"): the training body and
its signatory, the trainee and the client organisation, the action's title and nature (action de formation,
L6313-1 1°), the dates, the duration followed in hours (distance training: the duration of the teaching
activities done), the commitment to keep the supporting documents for 3 years, place, date and signatory.

Rules, each tested (tests/unit/test_certificate.py):
- a participant absent all day gets no certificate (`NO_CERTIFICATE_ABSENT`): nothing was followed;
- the hours stated are the minutes of training followed on the signed sheet (at most 180 a half-day: a
  present morning is 3 hours, 9h30-12h45 less its 15-minute break), written "3 h" or "4 h 15";
- when service fait was recorded by operations without a measured sheet, a participant present is credited
  with the day's training time (6 hours), as the sheet would have said of someone present throughout;
- the number is derived from the session and the seat, so a certificate issued twice is the same certificate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from workflow.domain.invoice import Seller

NO_CERTIFICATE_ABSENT = "absent toute la journée : aucune heure suivie, pas de certificat de réalisation"
NATURE = "Action de formation (article L6313-1 1° du code du travail)"
MODALITY = "Formation à distance"
KEEPING = ("L'organisme de formation s'engage à conserver l'ensemble des pièces justificatives qui ont permis "
           "d'établir le présent certificat pendant une durée de 3 ans à compter de la fin de l'année du dernier "
           "paiement.")


@dataclass(frozen=True)
class CertificateDocument:
    number: str
    seller: Seller
    signatory: str
    trainee: str
    client: str
    title: str
    session_day: date
    minutes_followed: int
    place: str
    issued_on: date

    @property
    def hours(self) -> str:
        return hours_text(self.minutes_followed)


def minutes_to_certify(presence: str, minutes_followed: int | None, day_training_minutes: int) -> int | None:
    """The minutes a certificate states, or None when the participant gets none (absent all day)."""
    if presence == "absent":
        return None
    if minutes_followed is None:  # operations' word, no measured sheet: present throughout
        return day_training_minutes
    return minutes_followed if minutes_followed > 0 else None


def hours_text(minutes: int) -> str:
    """180 -> "3 h", 255 -> "4 h 15", 45 -> "0 h 45": hours and minutes, as a French certificate writes them."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if rest == 0 else f"{hours} h {rest:02d}"


def certificate_number(year: int, session_id: str, access_id: str) -> str:
    """`2023-1A2B3C4D5E6F`: the year, then 12 hex digits of SHA-256(session, seat): the same seat of the same
    session always gets the same number (a redelivered event issues nothing new)."""
    return f"{year}-{hashlib.sha256(f'{session_id}|{access_id}'.encode()).hexdigest()[:12].upper()}"
