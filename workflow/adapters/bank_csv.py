"""A bank statement exported as CSV (docs/bank-statements.md gives the columns): `;` or `,` (whichever the header
uses more), UTF-8 (with or without BOM) or Windows-1252, French amounts ("1 190,00") and dates (dd/mm/yyyy).

Every row that cannot be read is a named problem with its line number, kept in the import's report. A cell that
looks like a formula (=, +, -, @) is text like any other: it is never evaluated, and kept as it came.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from workflow.domain.bank_matching import folded
from workflow.domain.bank_statement import MAX_STATEMENT_BYTES, MAX_STATEMENT_LINES, LineProblem, ParsedStatement
from workflow.domain.errors import StatementFileError

# Our field: the headers that name it (compared upper case, without accents or punctuation).
COLUMNS: Final = {
    "reference": ("REFERENCE", "REFERENCE BANCAIRE", "REF BANQUE", "REFERENCE OPERATION", "ID OPERATION"),
    "booked_on": ("DATE", "DATE OPERATION", "DATE COMPTABLE", "DATE DE COMPTABILISATION", "BOOKING DATE"),
    "amount": ("MONTANT", "CREDIT", "AMOUNT"),
    "payer_name": ("PAYEUR", "EMETTEUR", "DONNEUR D ORDRE", "PAYER"),
    "payer_id": ("SIRET", "SIRET PAYEUR", "IDENTIFIANT PAYEUR", "PAYER ID"),
    "remittance": ("LIBELLE", "MOTIF", "INFORMATIONS", "REMITTANCE"),
    "account": ("COMPTE", "IBAN", "ACCOUNT"),
}
REQUIRED: Final = ("reference", "booked_on", "amount")
NO_ACCOUNT: Final = "CSV"  # the account of a file without its column: say it in the docs, keys stay per file format
_AMOUNT = re.compile(r"([+-]?)((?:[0-9]{1,3}(?:[  \u202f.][0-9]{3})+)|[0-9]+)(?:,([0-9]{1,2}))?|"
                     r"([+-]?)((?:[0-9]{1,3}(?:[  \u202f][0-9]{3})+)|[0-9]{1,3}(?:,[0-9]{3})+(?=\.[0-9])|[0-9]+)"
                     r"(?:\.([0-9]{1,2}))?")  # "12,345" is refused: three decimals, or thousands without cents?
MAX_AMOUNT: Final = Decimal("9999999999.99")


def decoded(data: bytes) -> str:
    """UTF-8 (a BOM dropped), else Windows-1252, the encoding of French spreadsheet exports."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_amount(text: str) -> Decimal | None:
    """"1 190,00", "1190,00", "1.190,00", "1190.00", "+1 190,00"; a negative is a debit. None when unreadable."""
    match = _AMOUNT.fullmatch(text.strip().replace("€", "").replace("EUR", "").strip())
    if match is None:
        return None
    sign, whole, cents = (match.group(1), match.group(2), match.group(3)) if match.group(2) else \
        (match.group(4), match.group(5), match.group(6))
    value = Decimal(re.sub(r"[^0-9]", "", whole) + "." + (cents or "0").ljust(2, "0"))
    return -value if sign == "-" else value


def parse_date(text: str) -> date | None:
    for shape in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), shape).date()
        except ValueError:
            continue
    return None


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        for field, names in COLUMNS.items():
            if folded(name) in names and field not in found:
                found[field] = index
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        raise StatementFileError(f"colonne(s) manquante(s) : {', '.join(missing)} (voir docs/bank-statements.md)",
                                 f"missing column(s): {', '.join(missing)} (see docs/bank-statements.md)",
                                 [f"en-tête / header: {';'.join(header)[:300]}"])
    return found


def parse_csv(data: bytes) -> ParsedStatement:
    """The credit rows, and each row that could not be read with its line number."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementFileError(f"fichier de {len(data)} octets, au-delà de {MAX_STATEMENT_BYTES}",
                                 f"file of {len(data)} bytes, over {MAX_STATEMENT_BYTES}")
    text = decoded(data)
    if "\x00" in text:
        raise StatementFileError("fichier binaire, pas un CSV", "a binary file, not a CSV")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise StatementFileError("fichier vide", "empty file") from None
    columns = _columns(header)
    parsed = ParsedStatement(format="csv")
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(parsed.lines) + len(parsed.problems) >= MAX_STATEMENT_LINES:
                raise StatementFileError(f"plus de {MAX_STATEMENT_LINES} lignes", f"over {MAX_STATEMENT_LINES} lines")
            _read_row(row, reader.line_num, columns, parsed)
    except csv.Error as exc:
        raise StatementFileError(f"CSV illisible à la ligne {reader.line_num}", f"unreadable CSV at line "
                                 f"{reader.line_num}", [str(exc)]) from None
    return parsed


def _read_row(row: list[str], line_no: int, columns: dict[str, int], parsed: ParsedStatement) -> None:
    def cell(field: str) -> str:
        index = columns.get(field)
        return " ".join(row[index].split()) if index is not None and index < len(row) else ""

    def problem(fr: str, en: str) -> None:
        parsed.problems.append(LineProblem(line_no, fr, en))

    reference, amount_text, day_text = cell("reference"), cell("amount"), cell("booked_on")
    if not reference:
        return problem("pas de référence de la banque", "no bank reference")
    amount, booked_on = parse_amount(amount_text), parse_date(day_text)
    if amount is None or abs(amount) > MAX_AMOUNT:
        return problem(f"{reference[:80]} : montant illisible « {amount_text[:40]} » (ex. 1 190,00)",
                       f"{reference[:80]}: unreadable amount '{amount_text[:40]}' (e.g. 1 190,00)")
    if booked_on is None:
        return problem(f"{reference[:80]} : date illisible « {day_text[:40]} » (jj/mm/aaaa)",
                       f"{reference[:80]}: unreadable date '{day_text[:40]}' (dd/mm/yyyy)")
    if amount <= 0:
        return parsed.ignore("debit")
    parsed.add_credit(line_no, cell("account") or NO_ACCOUNT, reference=reference, amount=amount,
                      booked_on=booked_on, payer_name=cell("payer_name"), payer_id=cell("payer_id"),
                      remittance=cell("remittance"))
    return None
