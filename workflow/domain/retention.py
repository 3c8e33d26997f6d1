"""How long each document is kept and from which day it may be erased: the legal minimum, computed from dates the
queries hand over (`workflow.ops.retention`), no I/O. Nothing here erases: `regflow retention report` lists; the
erasure belongs to the personal-data work (RGPD art. 5-1-e and 17, limited by these obligations).

Rules, each tested (tests/unit/test_retention.py):
- invoices, credit notes and payments (accounting documents and their supporting records): 10 years, code de
  commerce L123-22. The ten years run from the close of the financial year the document belongs to, not from its
  own date (the usual reading, the books being kept by closed year; it is also the later date, so the safe one);
  the financial year is taken to be the calendar year, as the invoice numbering is. An invoice of 30 June 2024
  (or of any day of 2024) is kept to 31 December 2034: erasable from 1 January 2035.
- the supporting documents of the certificats de réalisation (the certificate itself, the signed sheet, the
  service-fait record, the trainer's marks, the platform's report lines, the link openings, the evidence pack):
  3 years from the end of the year of the last payment of the registrations they concern, the commitment the
  Ministry's model makes the signatory take (arrêté of 21 December 2018). Last paid 15 March 2024: kept to
  31 December 2027, erasable from 1 January 2028. Counted from the document's own year when it is later (one
  made after an advance payment is kept as long from its own year). While a registration concerned is not paid
  in full, or none is known, nothing can be decided: kept, pending payment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from schemas.limits import quoted
from workflow.domain.receivables import CREDITED, OVERPAID, SETTLED

ACCOUNTING_YEARS = 10  # code de commerce L123-22: "conservés pendant dix ans"
EVIDENCE_YEARS = 3  # arrêté du 21 décembre 2018, the certificate's commitment: "3 ans à compter de la fin de l'année
# du dernier paiement"
FIRST_AS_OF, LAST_AS_OF = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class Rule:
    key: str
    article: str
    fr: str
    en: str


ACCOUNTING = Rule("accounting-10-years", "code de commerce, article L123-22",
                  "10 ans après la clôture de l'exercice (année civile) du document",
                  "10 years after the close of the document's financial year (the calendar year)")
CERTIFICATE_EVIDENCE = Rule("certificate-evidence-3-years",
                            "arrêté du 21 décembre 2018, modèle du certificat de réalisation "
                            "(code du travail R6332-26)",
                            "3 ans après la fin de l'année du dernier paiement des inscriptions concernées",
                            "3 years after the end of the year of the last payment of the registrations concerned")


class Kind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    CERTIFICATE = "certificate"
    SIGNED_SHEET = "signed_sheet"
    SERVICE_FAIT = "service_fait"
    ATTENDANCE_MARKS = "attendance_marks"
    ATTENDANCE_LINES = "attendance_lines"
    JOIN_RECORDS = "join_records"
    EVIDENCE_PACK = "evidence_pack"


ACCOUNTING_KINDS = frozenset({Kind.INVOICE, Kind.CREDIT_NOTE, Kind.PAYMENT})
LABEL_FR: dict[Kind, str] = {
    Kind.INVOICE: "facture", Kind.CREDIT_NOTE: "avoir", Kind.PAYMENT: "paiement",
    Kind.CERTIFICATE: "certificat de réalisation (PDF)", Kind.SIGNED_SHEET: "feuille d'émargement signée",
    Kind.SERVICE_FAIT: "constat du service fait", Kind.ATTENDANCE_MARKS: "corrections du formateur",
    Kind.ATTENDANCE_LINES: "lignes du rapport de connexion", Kind.JOIN_RECORDS: "ouvertures des liens",
    Kind.EVIDENCE_PACK: "dossier de preuves (tiré des précédents)"}


@dataclass(frozen=True)
class Paid:
    """What the payments say of one registration: paid in full or not, and the day of its last payment."""

    registration_id: str
    in_full: bool
    last_payment_on: date | None


@dataclass(frozen=True)
class Item:
    """A document (or a session's set of records of one kind) and the first day it may be erased; None: kept,
    pending the payment of `waiting_for` (empty: no registration concerned is known)."""

    kind: Kind
    identifier: str
    dated: date
    erasable_from: date | None
    waiting_for: tuple[str, ...] = ()
    count: int = 1

    @property
    def rule(self) -> Rule:
        return ACCOUNTING if self.kind in ACCOUNTING_KINDS else CERTIFICATE_EVIDENCE

    def erasable(self, as_of: date) -> bool:
        return self.erasable_from is not None and as_of >= self.erasable_from


def _first_day_after(year: int, years_kept: int) -> date:
    """The day after 31 December of `year + years_kept`: what is kept N years from the end of a year."""
    return date(year + years_kept + 1, 1, 1)


def accounting_erasable_from(dated: date) -> date:
    """L123-22: ten years from the close of the (calendar) financial year of `dated`."""
    return _first_day_after(dated.year, ACCOUNTING_YEARS)


def paid(registration_id: str, statuses: Sequence[str | None], payments_on: Iterable[date]) -> Paid:
    """Paid in full: every invoice of the registration has its receivable, none still open, one at least settled
    (a credited one is owed nothing); the last payment is the latest received on any of its invoices."""
    settled = [s for s in statuses if s != CREDITED]
    in_full = bool(settled) and all(s in {SETTLED, OVERPAID} for s in settled)
    return Paid(registration_id, in_full, max(payments_on, default=None))


def evidence_erasable_from(dated: date, concerned: Iterable[Paid]) -> tuple[date | None, tuple[str, ...]]:
    """The certificate's commitment: 3 years from the end of the year of the last payment of the registrations
    concerned (or of the document's own year, when later); with what it still waits for when undecided."""
    concerned = list(concerned)
    waiting = tuple(sorted(p.registration_id for p in concerned if not p.in_full or p.last_payment_on is None))
    if not concerned or waiting:
        return None, waiting
    last = max(p.last_payment_on for p in concerned if p.last_payment_on is not None)
    return _first_day_after(max(last.year, dated.year), EVIDENCE_YEARS), ()


def accounting_item(kind: Kind, identifier: str, dated: date) -> Item:
    return Item(kind, identifier, dated, accounting_erasable_from(dated))


def evidence_item(kind: Kind, identifier: str, dated: date, concerned: Iterable[Paid], *, count: int = 1) -> Item:
    erasable_from, waiting = evidence_erasable_from(dated, concerned)
    return Item(kind, identifier, dated, erasable_from, waiting, count)


def report(items: Iterable[Item], as_of: date, *, erasable_only: bool = False) -> list[Item]:
    """The earliest erasable first, those pending payment last."""
    kept = [item for item in items if item.erasable(as_of) or not erasable_only]
    return sorted(kept, key=lambda i: (i.erasable_from or date.max, i.kind, i.identifier))


class RetentionDateError(ValueError):
    """A day the report cannot be drawn on (--as-of): not YYYY-MM-DD, or out of FIRST_AS_OF..LAST_AS_OF."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(f"{fr} / {en}")
        self.fr, self.en = fr, en


def as_of_date(text: str) -> date:
    """The day typed, checked: ten ASCII characters YYYY-MM-DD (not the other ISO forms Python reads), a real day,
    from FIRST_AS_OF to LAST_AS_OF (a future day asks what will be erasable then)."""
    value = text.strip()
    day = None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None or not FIRST_AS_OF <= day <= LAST_AS_OF:
        raise RetentionDateError(
            f"date « {quoted(text)} » invalide : AAAA-MM-JJ, du {FIRST_AS_OF} au {LAST_AS_OF}",
            f"invalid date '{quoted(text)}': YYYY-MM-DD, {FIRST_AS_OF} to {LAST_AS_OF}")
    return day
