"""The attendance sheet the trainer corrects and signs, and what an absence changes. No I/O.

Service fait is the signed sheet: the brochures say "le service fait résulte de la tenue effective de la
session", and the evidence of a distance session is the connection records *with* the trainer's signed
attestation (code du travail R6313-3, D6313-3-1; DOMAIN.md "After the session").

Rules, each tested (tests/unit/test_attendance_sheet.py):
- a mark is one participant's half-day: *present*, *partial* with the minutes followed, or *absent*;
  minutes are minutes of training followed, from 0 to the part's training time (180 of a 9h30-12h45
  half-day); *absent* is 0 minutes, *partial* between 1 and the training time, *present*
  without minutes counts the whole training time (`mark`);
- a participant is absent when absent in every part, present when present in every part, partial
  otherwise (`overall`);
- the sheet is signed once, after the session's last part has ended, by a named signer who ticks the
  attestation (`check_signable`); what was signed is kept with its SHA-256 (`digest`).

What an absence changes (`ABSENCE_POLICY`): the registration and its invoice do not change.
- "Toute inscription confirmée est définitive" (seeds): the seat was held for the participant, the
  session was held (service fait), so the invoice stands and nothing is credited by default;
- the refund of L6354-1 is for training *not delivered* by the training body, which is not the case of
  a participant who stayed away: the session's attendance says it was delivered;
- the absence is recorded on the participant (presence and minutes followed, for the certificates:
  hours on a certificate are hours followed) and in the registration's history, and finance sees it on
  the invoices (a funder may pay less for a trainee who did not attend: finance decides, by a credit
  note if it must, never the workflow).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from workflow.domain.attendance import Part, PartAttendance, Presence
from workflow.domain.errors import RegflowError

ABSENCE_POLICY = ("absence recorded on the participant and shown to finance; the registration stays final and "
                  "its invoice stands, nothing is credited (seeds: « Toute inscription confirmée est définitive »)")
ATTESTATION = ("Je soussigné(e) {signer}, formateur ou formatrice, atteste que la session « {title} » du {day} "
               "s'est tenue à distance aux horaires prévus, que la présence des participants est celle de cette "
               "feuille, et que le support pédagogique leur a été remis.")


class SheetError(RegflowError):
    """A mark or a signature the sheet cannot take, told in English and in French (the page shows the French)."""

    def __init__(self, english: str, french: str) -> None:
        super().__init__(english)
        self.reason_fr = french


@dataclass(frozen=True)
class Mark:
    """One participant's half-day on the sheet: the presence and the minutes of training followed."""

    part: int
    presence: Presence
    minutes: int


def training_minutes(part: Part) -> int:
    return int(part.training.total_seconds()) // 60


def computed_mark(found: PartAttendance) -> Mark:
    """What the evidence says before the trainer corrects it: the connection's presence and minutes followed."""
    return Mark(found.part.index, found.presence, found.followed_minutes)


def mark(part: Part, presence: str, minutes: int | None) -> Mark:
    """A trainer's mark for `part`, checked: the presence is one of three, the minutes fit the presence."""
    try:
        chosen = Presence(presence)
    except ValueError:
        raise SheetError(f"presence {presence[:20]!r}: one of present, partial, absent",
                         f"présence {presence[:20]!r} : présent, partiel ou absent") from None
    most = training_minutes(part)
    if chosen is Presence.ABSENT:
        if minutes:
            raise SheetError(f"absent with {minutes} minutes followed: an absence is 0 minutes",
                             f"absent avec {minutes} minutes suivies : une absence, c'est 0 minute")
        return Mark(part.index, chosen, 0)
    if chosen is Presence.PRESENT:
        minutes = most if minutes is None else minutes
        low = 1
    elif minutes is None:
        raise SheetError("partial: say how many minutes were followed", "partiel : indiquez les minutes suivies")
    else:
        low = 1
    if not low <= minutes <= most:
        raise SheetError(f"{chosen.value}: minutes followed from {low} to {most}, not {minutes}",
                         f"{_FRENCH[chosen]} : de {low} à {most} minutes suivies, pas {minutes}")
    return Mark(part.index, chosen, minutes)


_FRENCH = {Presence.PRESENT: "présent", Presence.PARTIAL: "partiel", Presence.ABSENT: "absent"}


def french(presence: Presence) -> str:
    return _FRENCH[presence]


def overall(marks: Sequence[Mark]) -> Presence:
    if marks and all(m.presence is Presence.ABSENT for m in marks):
        return Presence.ABSENT
    if all(m.presence is Presence.PRESENT for m in marks):
        return Presence.PRESENT
    return Presence.PARTIAL


def minutes_followed(marks: Sequence[Mark]) -> int:
    return sum(m.minutes for m in marks)


def check_signable(parts: Sequence[Part], now: datetime, *, signed: bool, attested: bool, signer: str) -> None:
    """The sheet can be signed once, after the end of the session, by a named signer who attests."""
    if signed:
        raise SheetError("the sheet is already signed", "la feuille est déjà signée")
    end = max(p.end for p in parts)
    if now < end:
        raise SheetError(f"the session ends at {end.isoformat()}: the sheet is signed after it",
                         f"la session se termine le {end:%d/%m/%Y à %H:%M} : la feuille se signe après")
    if not signer.strip():
        raise SheetError("the signer's name is required", "le nom du signataire est obligatoire")
    if not attested:
        raise SheetError("tick the attestation to sign", "cochez l'attestation pour signer")


def attestation(signer: str, title: str, day: date) -> str:
    return ATTESTATION.format(signer=signer, title=title, day=f"{day:%d/%m/%Y}")


def digest(snapshot: dict[str, Any]) -> str:
    """The SHA-256 of the signed sheet as stored (sorted keys, UTF-8): what was signed can be checked later."""
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode()).hexdigest()
