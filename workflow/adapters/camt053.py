"""CAMT.053 (ISO 20022 BankToCustomerStatement), as French banks send it (camt.053.001.02; .001.08 accepted).

The file is hostile until checked: read with lxml without network, without entities and with no DTD allowed,
under MAX_STATEMENT_BYTES, then validated against the official XSD shipped in workflow/data/iso20022/. Only
booked credits are lines (CdtDbtInd CRDT, Sts BOOK); the others are counted as ignored.

The bank's own key of a line: the entry's AcctSvcrRef, else its NtryRef, else its transaction's
Refs/AcctSvcrRef, else Refs/EndToEndId (unless NOTPROVIDED). A batch entry with several TxDtls gives one line per
transaction, keyed "<entry key>/<the transaction's AcctSvcrRef, EndToEndId or rank>".
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Final

from lxml import etree

from workflow.domain.bank_statement import MAX_STATEMENT_BYTES, MAX_STATEMENT_LINES, LineProblem, ParsedStatement
from workflow.domain.errors import StatementFileError

SCHEMAS: Final = Path(__file__).parents[1] / "data" / "iso20022"
NAMESPACES: Final = {f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v}": f"camt.053.001.{v}" for v in ("02", "08")}
MAX_SCHEMA_ERRORS_SHOWN: Final = 10


@cache
def schema(version: str) -> etree.XMLSchema:
    """The official XSD, parsed once; it imports nothing, so no network is ever needed."""
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{version}.xsd"), _parser()))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def read_document(data: bytes) -> tuple[etree._ElementTree, str]:
    """The parsed, schema-valid document and its namespace, or a StatementFileError saying what is wrong."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementFileError(f"relevé de {len(data)} octets, au-delà de {MAX_STATEMENT_BYTES}",
                                 f"statement of {len(data)} bytes, over {MAX_STATEMENT_BYTES}")
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        raise StatementFileError("ce n'est pas un document XML lisible", "not a readable XML document",
                                 [f"ligne / line {exc.lineno}: {exc.msg}"]) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StatementFileError("le document déclare une DTD (entités) : refusé", "the document declares a DTD "
                                 "(entities): refused")
    namespace = etree.QName(tree.getroot()).namespace or ""
    if etree.QName(tree.getroot()).localname != "Document" or namespace not in NAMESPACES:
        raise StatementFileError(
            f"pas un relevé CAMT.053 (version 001.02 ou 001.08) : racine {tree.getroot().tag}",
            f"not a CAMT.053 statement (version 001.02 or 001.08): root {tree.getroot().tag}")
    checker = schema(NAMESPACES[namespace])
    if not checker.validate(tree):
        errors = list(checker.error_log)
        raise StatementFileError(
            f"le relevé ne respecte pas le schéma {NAMESPACES[namespace]} ({len(errors)} erreur(s))",
            f"the statement breaks the {NAMESPACES[namespace]} schema ({len(errors)} error(s))",
            [f"ligne / line {e.line}: {e.message}" for e in errors[:MAX_SCHEMA_ERRORS_SHOWN]])
    return tree, namespace


def _text(element: etree._Element, path: str, ns: dict[str, str]) -> str | None:
    found = element.xpath(path, namespaces=ns)
    values = [" ".join(str(getattr(f, "text", f) or "").split()) for f in found] if isinstance(found, list) else []
    return next((v for v in values if v), None)


def _all(element: etree._Element, path: str, ns: dict[str, str]) -> list[str]:
    found = element.xpath(path, namespaces=ns)
    return [" ".join((f.text or "").split()) for f in found if isinstance(f, etree._Element) and f.text] \
        if isinstance(found, list) else []


def _amount(text: str | None) -> Decimal | None:
    if text is None or not re.fullmatch(r"[0-9]{1,10}(\.[0-9]{1,2})?", text):
        return None  # the XSD allows 5 decimals and 18 digits: euros have 2, our columns 12 digits
    try:
        return Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def parse_camt053(data: bytes) -> ParsedStatement:
    """The booked credits of every statement in the file, and the entries that could not be read."""
    tree, namespace = read_document(data)
    ns = {"c": namespace}
    parsed = ParsedStatement(format=NAMESPACES[namespace])
    for statement in tree.getroot().iterfind(".//c:Stmt", ns):
        account = _text(statement, "c:Acct/c:Id/c:IBAN | c:Acct/c:Id/c:Othr/c:Id", ns) or ""
        for entry in statement.iterfind("c:Ntry", ns):
            _read_entry(entry, account, ns, parsed)
            if len(parsed.lines) > MAX_STATEMENT_LINES:
                raise StatementFileError(f"plus de {MAX_STATEMENT_LINES} lignes", f"over {MAX_STATEMENT_LINES} lines")
    return parsed


def _read_entry(entry: etree._Element, account: str, ns: dict[str, str], parsed: ParsedStatement) -> None:
    line_no = entry.sourceline or 0
    if _text(entry, "c:CdtDbtInd", ns) != "CRDT":
        parsed.ignore("debit")
        return
    if (_text(entry, "c:Sts | c:Sts/c:Cd", ns) or "") != "BOOK":
        parsed.ignore("not_booked")
        return
    if (currency := _text(entry, "c:Amt/@Ccy", ns)) != "EUR":
        parsed.problems.append(LineProblem(line_no, f"montant en {currency}, pas en euros", f"amount in {currency}, "
                                                                                            "not in euros"))
        return
    booked = _text(entry, "c:BookgDt/c:Dt", ns) or (_text(entry, "c:BookgDt/c:DtTm", ns) or "")[:10]
    transactions = entry.xpath("c:NtryDtls/c:TxDtls", namespaces=ns)
    assert isinstance(transactions, list)
    first = transactions[0] if transactions else None
    key = (_text(entry, "c:AcctSvcrRef", ns) or _text(entry, "c:NtryRef", ns)
           or (_own_reference(first, ns) if first is not None and len(transactions) == 1 else None))
    if not key or not booked:
        parsed.problems.append(LineProblem(line_no, "écriture sans référence de la banque (AcctSvcrRef, NtryRef) ni "
                                           "date de comptabilisation", "entry without the bank's reference "
                                           "(AcctSvcrRef, NtryRef) or booking date"))
        return
    entry_amount = _amount(_text(entry, "c:Amt", ns))
    if len(transactions) <= 1:
        parts = [(key, entry_amount, first)]
    else:
        parts = [(f"{key}/{_own_reference(tx, ns) or rank}", _amount(_text(
            tx, "c:Amt | c:AmtDtls/c:TxAmt/c:Amt", ns)), tx) for rank, tx in enumerate(transactions, 1)]
        if any(a is None for _, a, _ in parts) or sum(a or 0 for _, a, _ in parts) != entry_amount:
            parsed.problems.append(LineProblem(line_no, f"lot {key} : les montants des transactions ne font pas celui "
                                               "de l'écriture", f"batch {key}: the transactions' amounts do not add up "
                                               "to the entry's"))
            return
    for reference, amount, tx in parts:
        _add_line(parsed, account, reference, amount, date.fromisoformat(booked), entry, tx, ns)


def _own_reference(tx: etree._Element, ns: dict[str, str]) -> str | None:
    end_to_end = _text(tx, "c:Refs/c:EndToEndId", ns)
    return _text(tx, "c:Refs/c:AcctSvcrRef", ns) or (end_to_end if end_to_end != "NOTPROVIDED" else None)


def _add_line(parsed: ParsedStatement, account: str, reference: str, amount: Decimal | None, booked_on: date,  # noqa: PLR0917
              entry: etree._Element, tx: etree._Element | None, ns: dict[str, str]) -> None:
    line_no = (tx if tx is not None else entry).sourceline or 0
    if amount is None or amount <= 0:
        parsed.problems.append(LineProblem(line_no, f"{reference} : montant illisible (deux décimales au plus)",
                                           f"{reference}: unreadable amount (two decimals at most)"))
        return
    payer = payer_id = None
    remittance = [*_all(entry, "c:AddtlNtryInf", ns)]
    if tx is not None:
        payer = _text(tx, "c:RltdPties/c:Dbtr/c:Nm | c:RltdPties/c:Dbtr/c:Pty/c:Nm", ns)
        payer_id = _text(tx, "c:RltdPties/c:Dbtr/c:Id/c:OrgId/c:Othr/c:Id | "
                             "c:RltdPties/c:Dbtr/c:Pty/c:Id/c:OrgId/c:Othr/c:Id", ns)
        remittance = [*_all(tx, "c:RmtInf/c:Ustrd | c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns),
                      *_all(tx, "c:AddtlTxInf", ns), *remittance]
    parsed.add_credit(line_no, account, reference=reference, amount=amount, booked_on=booked_on, payer_name=payer,
                      payer_id=payer_id, remittance=" ".join(remittance))
