"""Which invoice(s) a bank credit pays: the rules finance applies by hand, named, pure.

A line is *matched* (its payments are recorded), *proposed* (finance confirms or rejects it) or *unmatched*
(kept with why). Nothing is guessed silently: only a named invoice, or the payer's own SIRET with an exact amount,
is matched without a person; a treasury or a name is proposed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Final, Literal

from workflow.domain.receivables import OPEN

Outcome = Literal["matched", "proposed", "unmatched"]
MATCHED: Final = "matched"
PROPOSED: Final = "proposed"
UNMATCHED: Final = "unmatched"

# A public accountant pays within the délai global de paiement (30, 50 or 60 days, CCP R2192-10/11) counted from
# receipt or service fait, often later: an invoice issued up to this many days before the credit is a candidate.
PAYER_MATCH_WINDOW_DAYS: Final = 180
# A set of invoices of one client is searched among at most this many of its open invoices (2^12 subsets).
MAX_INVOICES_FOR_SETS: Final = 12
# Shown in a reason when several invoices could be meant.
MAX_CANDIDATES_SHOWN: Final = 5

# Who pays for a public body in France: the DGFiP's regional and departmental directions, the public treasuries,
# the paieries (of a Département or Région), the services de gestion comptable, an agence comptable.
TREASURY_MARKERS: Final = ("DGFIP", "DRFIP", "DDFIP", "TRESOR PUBLIC", "TRESORERIE", "PAIERIE", "PAIEUR",
                           "COMPTABLE PUBLIC", "GESTION COMPTABLE", "FINANCES PUBLIQUES", "AGENCE COMPTABLE", "SGC ")

# A number with its year: 2026-000123, 2026 000123, 2026000123, 2026-123, 2026/0123 (spaces between digits too).
_WITH_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})\s*[-/_.]?\s*((?:[0-9]\s?){0,5}[0-9])(?![0-9])")
# Without its year: after a word that announces it (facture, fact, fa, n°, ref, inv) or written with its zeros.
_NO_YEAR = re.compile(r"(?:\bFACTURES?|\bFACT|\bFAC|\bFA|\bFCT|\bINV(?:OICE)?|N°|\bNO|\bREF)\W{0,3}"
                      r"((?:[0-9]\s?){0,5}[0-9])(?![0-9])|(?<![0-9])(0[0-9]{5})(?![0-9])")

# Dates (12/10/2024, 12.10.24, 2024-10-12) and amounts (1 190,00, 625.00) are blanked out first: "FACTURE DU
# 12/10/2024 625,00" names no invoice 2024-000625, and "VIR 2024-10-12" no invoice 2024-000010.
_NOT_A_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})"
                           r"|[0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9])"
                           r"|(?<![0-9])[0-9]{1,3}(?:[  \u202f.][0-9]{3})*,[0-9]{2}(?![0-9])"
                           r"|(?<![0-9])[0-9]+\.[0-9]{2}(?![0-9])")


@dataclass(frozen=True)
class BankCredit:
    """One credit on the statement (a batch entry gives one per transaction)."""

    bank_reference: str
    amount: Decimal
    booked_on: date
    payer_name: str | None = None
    payer_id: str | None = None  # an organisation id given by the bank (a SIRET or SIREN for a French body)
    remittance: str = ""


@dataclass(frozen=True)
class InvoiceDue:
    """An invoice as the matching sees it: what is still owed and by whom."""

    number: str
    issued_on: date
    outstanding: Decimal
    status: str  # the receivable's: open | settled | overpaid | credited
    client_name: str | None = None
    client_siret: str | None = None
    client_is_public: bool = False

    @property
    def year_and_sequence(self) -> tuple[int, int] | None:
        year, _, sequence = self.number.partition("-")
        return (int(year), int(sequence)) if year.isdigit() and sequence.isdigit() else None


@dataclass(frozen=True)
class Allocation:
    invoice_number: str
    amount: Decimal


@dataclass(frozen=True)
class Matching:
    """The one outcome of a line: the rule that decided it, why in French and English, and the split."""

    outcome: Outcome
    rule: str
    reason_fr: str
    reason_en: str
    allocations: tuple[Allocation, ...] = field(default=())


def folded(text: str | None) -> str:
    """Upper case, no accents, punctuation as spaces, single spaces: how names and references are compared."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().upper()
    return " ".join(re.sub(r"[^A-Z0-9°]+", " ", plain.replace("º", "°")).split())


def name_key(name: str | None) -> str:
    """A name as compared with a client's: "C.C.A.S. de Testville" is "CCAS DE TESTVILLE"."""
    return folded(name).replace(" ", "")


def referenced_numbers(remittance: str) -> tuple[set[tuple[int, int]], set[int]]:
    """The invoice numbers a remittance names: (year, sequence) pairs, and sequences named without a year."""
    text = _NOT_A_NUMBER.sub(lambda m: " " * len(m.group()), unicodedata.normalize("NFKC", remittance).upper())
    with_year = {(int(y), int(re.sub(r"\s", "", s))) for y, s in _WITH_YEAR.findall(text)}
    spans = [m.span() for m in _WITH_YEAR.finditer(text)]
    no_year = set()
    for m in _NO_YEAR.finditer(text):
        if any(a <= m.start(m.lastindex or 0) < b for a, b in spans):
            continue  # the digits of a number with its year
        digits = re.sub(r"\s", "", m.group(1) or m.group(2))
        no_year.add(int(digits))
    return {p for p in with_year if p[1] > 0}, {s for s in no_year if s > 0}


def is_treasury(payer_name: str | None) -> bool:
    """A public accountant's account (DGFiP, paierie, trésorerie...), paying for one of many public bodies."""
    name = f" {folded(payer_name)} "
    return any(marker in name for marker in TREASURY_MARKERS)


def split(amount: Decimal, invoices: Sequence[InvoiceDue]) -> tuple[Allocation, ...]:
    """One transfer paying several invoices: each gets what it still owes, in number order, until the amount runs
    out; what is left over goes to the last (an overpayment, flagged by the payments consumer). Sums to `amount`."""
    ordered = sorted(invoices, key=lambda i: i.number)
    allocations: list[Allocation] = []
    remaining = amount
    for invoice in ordered:
        share = min(invoice.outstanding, remaining)
        if share > 0:
            allocations.append(Allocation(invoice.number, share))
            remaining -= share
    if remaining > 0:
        last = allocations.pop() if allocations else Allocation(ordered[-1].number, Decimal("0.00"))
        allocations.append(Allocation(last.invoice_number, last.amount + remaining))
    return tuple(allocations)


def _numbers(invoices: Iterable[InvoiceDue]) -> str:
    shown = sorted(i.number for i in invoices)
    return ", ".join(shown[:MAX_CANDIDATES_SHOWN]) + (" …" if len(shown) > MAX_CANDIDATES_SHOWN else "")


def by_reference(line: BankCredit, invoices: Sequence[InvoiceDue]) -> Matching | None:
    """The invoice number in the remittance, tolerant of spaces, case, missing zeros and a missing year. A named
    invoice already paid or credited is never paid again: the line is kept for finance with why."""
    with_year, no_year = referenced_numbers(line.remittance)
    by_key = {key: i for i in invoices if (key := i.year_and_sequence) is not None}
    named = [by_key[k] for k in with_year if k in by_key]
    yearless = [i for s in no_year for k, i in by_key.items() if k[1] == s and i not in named]
    open_yearless = [i for i in yearless if i.status == OPEN]
    if len(open_yearless) > 1 and not named:
        return Matching(UNMATCHED, "reference_ambiguous",
                        f"numéro sans année : plusieurs factures ouvertes possibles ({_numbers(open_yearless)})",
                        f"number without its year: several open invoices possible ({_numbers(open_yearless)})")
    named += open_yearless if len(open_yearless) == 1 else [i for i in yearless if len(yearless) == 1]
    if not named:
        return None
    open_ = [i for i in named if i.status == OPEN]
    closed = [i for i in named if i.status != OPEN]
    if not open_:
        return Matching(UNMATCHED, "invoice_closed",
                        f"facture(s) {_numbers(closed)} déjà réglée(s) ou annulée(s) par avoir : rien n'est imputé",
                        f"invoice(s) {_numbers(closed)} already settled or credited: nothing is allocated")
    note_fr = f" ; {_numbers(closed)} déjà réglée(s) ou avoir, ignorée(s)" if closed else ""
    note_en = f"; {_numbers(closed)} already settled or credited, left out" if closed else ""
    found_without_year = bool(open_yearless) and open_yearless[0] in open_
    if len(open_) == 1:
        rule = "reference_without_year" if found_without_year else "reference"
        return Matching(MATCHED, rule, f"référence de la facture {open_[0].number}{note_fr}"
                        + (" (sans l'année)" if found_without_year else ""),
                        f"reference of invoice {open_[0].number}{note_en}"
                        + (" (without its year)" if found_without_year else ""),
                        (Allocation(open_[0].number, line.amount),))
    owed = sum((i.outstanding for i in open_), Decimal("0.00"))
    if owed == line.amount:
        return Matching(MATCHED, "reference_split",
                        f"factures {_numbers(open_)}, montant égal au total dû{note_fr}",
                        f"invoices {_numbers(open_)}, amount equal to what they owe{note_en}",
                        split(line.amount, open_))
    return Matching(PROPOSED, "reference_split_uncertain",
                    f"factures {_numbers(open_)} : {line.amount} EUR reçus pour {owed} EUR dus, répartition à "
                    f"confirmer{note_fr}",
                    f"invoices {_numbers(open_)}: {line.amount} EUR received for {owed} EUR owed, split to "
                    f"confirm{note_en}", split(line.amount, open_))


def _same_siret(payer_id: str | None, siret: str | None) -> bool:
    digits = re.sub(r"\D", "", payer_id or "")
    return bool(siret) and len(digits) in {9, 14} and siret is not None and siret.startswith(digits)


def _exact_sets(amount: Decimal, invoices: Sequence[InvoiceDue]) -> list[tuple[InvoiceDue, ...]]:
    """The single invoices, then the sets of one client's invoices, whose outstanding is exactly `amount`."""
    found: list[tuple[InvoiceDue, ...]] = [(i,) for i in invoices if i.outstanding == amount]
    clients: dict[str, list[InvoiceDue]] = {}
    for invoice in invoices:
        clients.setdefault(invoice.client_siret or name_key(invoice.client_name), []).append(invoice)
    for of_client in clients.values():
        own = sorted(of_client, key=lambda i: i.issued_on, reverse=True)[:MAX_INVOICES_FOR_SETS]
        found += [s for n in range(2, len(own) + 1) for s in combinations(own, n)
                  if sum((i.outstanding for i in s), Decimal("0.00")) == amount]
    return found


def by_payer(line: BankCredit, invoices: Sequence[InvoiceDue]) -> Matching | None:
    """No invoice named: the payer (its SIRET, its name, or a public treasury) and the exact amount of one open
    invoice or a set of one client's, issued within PAYER_MATCH_WINDOW_DAYS before the credit."""
    open_ = [i for i in invoices if i.status == OPEN]
    own = [i for i in open_ if _same_siret(line.payer_id, i.client_siret)]
    how = "payer_siret"
    if not own:
        own = [i for i in open_ if name_key(line.payer_name) and name_key(i.client_name) == name_key(line.payer_name)]
        how = "payer_name"
    if not own and is_treasury(line.payer_name):
        own = [i for i in open_ if i.client_is_public]
        how = "treasury"
    if not own:
        return None
    since = line.booked_on - timedelta(days=PAYER_MATCH_WINDOW_DAYS)
    options = _exact_sets(line.amount, [i for i in own if since <= i.issued_on <= line.booked_on])
    who_fr = {"payer_siret": "SIRET du payeur", "payer_name": "nom du payeur", "treasury": "comptable public"}[how]
    who_en = {"payer_siret": "payer's SIRET", "payer_name": "payer's name", "treasury": "public accountant"}[how]
    if not options:
        return Matching(UNMATCHED, "amount_not_owed",
                        f"{who_fr} reconnu, mais {line.amount} EUR ne correspond à aucune facture ouverte émise dans "
                        f"les {PAYER_MATCH_WINDOW_DAYS} jours avant ({_numbers(own)})",
                        f"{who_en} known, but {line.amount} EUR matches no open invoice issued in the "
                        f"{PAYER_MATCH_WINDOW_DAYS} days before ({_numbers(own)})")
    if len(options) > 1:
        every = {i for o in options for i in o}
        return Matching(UNMATCHED, "amount_ambiguous",
                        f"{who_fr} : plusieurs factures ou ensembles de factures de {line.amount} EUR "
                        f"({_numbers(every)})",
                        f"{who_en}: several invoices or sets of invoices of {line.amount} EUR ({_numbers(every)})")
    chosen = options[0]
    outcome: Outcome = MATCHED if how == "payer_siret" else PROPOSED
    confirm_fr, confirm_en = ("", "") if outcome == MATCHED else (" : à confirmer", ": to confirm")
    return Matching(outcome, how + ("_split" if len(chosen) > 1 else ""),
                    f"{who_fr} et montant exact de {_numbers(chosen)}{confirm_fr}",
                    f"{who_en} and exact amount of {_numbers(chosen)}{confirm_en}",
                    split(line.amount, chosen))


def match(line: BankCredit, invoices: Sequence[InvoiceDue]) -> Matching:
    """Exactly one outcome per line: by reference, else by payer, else kept unmatched with why."""
    found = by_reference(line, invoices) or by_payer(line, invoices)
    if found is not None:
        return found
    with_year, no_year = referenced_numbers(line.remittance)
    if with_year or no_year:
        named = sorted({f"{y}-{s:06d}" for y, s in with_year} | {f"{s:06d}" for s in no_year})
        return Matching(UNMATCHED, "unknown_reference", f"numéro(s) {', '.join(named[:MAX_CANDIDATES_SHOWN])} : "
                        "aucune facture de ce numéro, payeur non reconnu",
                        f"number(s) {', '.join(named[:MAX_CANDIDATES_SHOWN])}: no such invoice, payer not known")
    return Matching(UNMATCHED, "no_reference", "aucun numéro de facture dans le libellé, payeur non reconnu",
                    "no invoice number in the remittance, payer not known")
