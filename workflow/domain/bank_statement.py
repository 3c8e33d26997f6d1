"""What a bank statement gives us, whatever its format: credit lines, and the rows it could not read (kept with
their line number and why, never dropped). The limits follow ISO 20022's text types, from the file to the columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from workflow.domain.bank_matching import BankCredit

MAX_STATEMENT_BYTES: Final = 20 * 1024 * 1024  # a month of a busy account in CAMT.053 is a few MB
MAX_STATEMENT_LINES: Final = 50_000
MAX_ACCOUNT_LENGTH: Final = 34  # an IBAN (ISO 13616), or Othr/Id (Max34Text)
MAX_BANK_REFERENCE_LENGTH: Final = 71  # AcctSvcrRef (Max35Text), "/" and a transaction's own reference
MAX_PAYER_NAME_LENGTH: Final = 140  # Nm, Max140Text
MAX_PAYER_ID_LENGTH: Final = 35  # OrgId/Othr/Id, Max35Text
MAX_REMITTANCE_LENGTH: Final = 1400  # ten Ustrd of Max140Text


@dataclass(frozen=True)
class StatementLine:
    """A credit of one account, at a line of the file."""

    account: str
    credit: BankCredit
    source_line: int


@dataclass(frozen=True)
class LineProblem:
    """A row or an entry that could not be read: where, why in French and English."""

    source_line: int
    fr: str
    en: str

    def text(self) -> str:
        return f"ligne {self.source_line} : {self.fr} / line {self.source_line}: {self.en}"


@dataclass
class ParsedStatement:
    """`ignored`: entries that are no credit to match (debits, not booked), counted by why."""

    format: str
    lines: list[StatementLine] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, why: str) -> None:
        self.ignored[why] = self.ignored.get(why, 0) + 1

    def add_credit(self, source_line: int, account: str, *, reference: str, amount: Decimal, booked_on: date,
                   payer_name: str | None, payer_id: str | None, remittance: str) -> None:
        """A credit as a line, or, when one of its texts breaks its limit, a problem naming the first such text: the
        limits are checked here once, whatever the format that read them."""
        for value, fr, en, limit in ((account, "compte", "account", MAX_ACCOUNT_LENGTH),
                                     (reference, "référence", "reference", MAX_BANK_REFERENCE_LENGTH),
                                     (payer_name or "", "payeur", "payer", MAX_PAYER_NAME_LENGTH),
                                     (payer_id or "", "identifiant du payeur", "payer id", MAX_PAYER_ID_LENGTH),
                                     (remittance, "libellé", "remittance", MAX_REMITTANCE_LENGTH)):
            if (wrong := text_problem(value, fr, en, limit)) is not None:
                self.problems.append(LineProblem(source_line, f"{reference[:80]} : {wrong[0]}",
                                                 f"{reference[:80]}: {wrong[1]}"))
                return
        credit = BankCredit(reference, amount, booked_on, payer_name or None, payer_id or None, remittance)
        self.lines.append(StatementLine(account, credit, source_line))


def text_problem(value: str, what_fr: str, what_en: str, limit: int) -> tuple[str, str] | None:
    """A text too long, or with control characters (a NUL, an escape), cannot be kept as the bank sent it."""
    if len(value) > limit:
        return f"{what_fr} de {len(value)} caractères (au plus {limit})", f"{what_en} of {len(value)} characters " \
                                                                          f"(at most {limit})"
    if any((ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0 for c in value):
        return f"{what_fr} contient des caractères de contrôle", f"{what_en} holds control characters"
    return None
