"""Bank statements read as hostile input (workflow/adapters/camt053.py, bank_csv.py): a file refused as a whole says
why in French and English (with line numbers for the schema), a row that cannot be read is a named problem with
its line, and whatever bytes come in, the reader ends with lines or a named refusal, never another error."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.adapters.bank_csv import parse_amount, parse_csv
from workflow.adapters.camt053 import parse_camt053
from workflow.domain.bank_statement import MAX_STATEMENT_BYTES
from workflow.domain.errors import StatementFileError
from workflow.ops.bank_statements import parse_statement

TEMPLATE = (Path(__file__).parents[1] / "data" / "bank" / "statement.camt053.xml").read_text(encoding="utf-8")
CASES = {"{NAMED}": "625.00", "{NAMED_REF}": "2024-000012", "{TREASURY}": "1250.00", "{TWO}": "1190.00",
         "{TWO_REFS}": "FACTURES 2024-000013 ET 2024-000014"}


def statement(**changes: str) -> str:
    text = TEMPLATE
    for key, value in {**CASES, **{f"{{{k}}}": v for k, v in changes.items()}}.items():
        text = text.replace(key, value)
    return text


def refused(data: bytes) -> StatementFileError:
    with pytest.raises(StatementFileError) as caught:
        parse_camt053(data)
    return caught.value


def test_the_booked_credits_are_lines_keyed_on_the_banks_reference() -> None:
    parsed = parse_camt053(statement().encode())
    assert parsed.format == "camt.053.001.02"
    assert [ln.credit.bank_reference for ln in parsed.lines] == [f"BQ20241104-000{n}" for n in (1, 2, 3, 4)]
    first = parsed.lines[0]
    assert (first.account, first.credit.amount, first.credit.payer_name, first.credit.remittance) == (
        "FR7630006000011234567890189", Decimal("625.00"), "ASSOCIATION LES GENETS", "REGLEMENT FACT 2024-000012")
    assert parsed.ignored == {"debit": 1}
    assert parsed.problems == []


def test_a_batch_entry_gives_one_line_per_transaction() -> None:
    batch = """<NtryDtls><TxDtls><Refs><EndToEndId>E2E-A</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">500.00</Amt></TxAmt></AmtDtls>
          <RmtInf><Ustrd>FACT 2024-000013</Ustrd></RmtInf></TxDtls>
        <TxDtls><Refs><EndToEndId>E2E-B</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">690.00</Amt></TxAmt></AmtDtls>
          <RmtInf><Ustrd>FACT 2024-000014</Ustrd></RmtInf></TxDtls></NtryDtls>"""
    text = statement()
    start = text.index("<NtryDtls>", text.index("BQ20241104-0003"))
    end = text.index("</NtryDtls>", start) + len("</NtryDtls>")
    parsed = parse_camt053((text[:start] + batch + text[end:]).encode())
    lines = {ln.credit.bank_reference: ln.credit for ln in parsed.lines}
    assert lines["BQ20241104-0003/E2E-A"].amount == Decimal("500.00")
    assert lines["BQ20241104-0003/E2E-B"].remittance == "FACT 2024-000014"
    wrong = (text[:start] + batch.replace("690.00", "600.00") + text[end:]).encode()
    problems = parse_camt053(wrong).problems
    assert len(problems) == 1
    assert "ne font pas" in problems[0].fr
    assert problems[0].source_line > 0


def test_not_xml_is_refused_by_name() -> None:
    error = refused(b"Date;Montant\n04/11/2024;625,00\n")
    assert (error.fr, error.en) == ("ce n'est pas un document XML lisible", "not a readable XML document")


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">'])
def test_a_dtd_with_entities_is_refused_and_nothing_is_fetched(doctype: str) -> None:
    text = statement(NAMED_REF="&xxe;" if "xxe" in doctype else "&b;" if "ENTITY b" in doctype else "2024-000012")
    error = refused(text.replace('<?xml version="1.0" encoding="UTF-8"?>',
                                 '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype).encode())
    assert "DTD" in error.fr or "XML" in error.en
    assert "root:" not in error.bilingual()


def test_another_namespace_is_refused() -> None:
    error = refused(statement().replace("camt.053.001.02", "camt.052.001.02").encode())
    assert "pas un relevé CAMT.053" in error.fr


def test_a_schema_error_lists_the_problems_with_their_line() -> None:
    text = statement().replace("<MsgId>REGFLOW-TEST-2024-11</MsgId>", "")
    error = refused(text.replace("<CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>", "<CdtDbtInd>CREDIT</CdtDbtInd>"
                                 "<Sts>BOOK</Sts>", 1).encode())
    assert "schéma camt.053.001.02" in error.fr
    assert error.problems
    assert all(p.startswith("ligne / line ") for p in error.problems)
    assert any("CREDIT" in p for p in error.problems)


def test_a_huge_file_is_refused_before_it_is_parsed() -> None:
    error = refused(b" " * (MAX_STATEMENT_BYTES + 1))
    assert str(MAX_STATEMENT_BYTES) in error.fr


def test_an_amount_euros_cannot_hold_is_a_problem_of_its_line() -> None:
    parsed = parse_camt053(statement(NAMED="625.005").encode())
    assert [ln.credit.bank_reference for ln in parsed.lines] == [f"BQ20241104-000{n}" for n in (2, 3, 4)]
    assert len(parsed.problems) == 1
    assert "montant illisible" in parsed.problems[0].fr


def test_another_currency_is_a_problem_not_a_payment() -> None:
    text = statement().replace('<Amt Ccy="EUR">625.00</Amt>', '<Amt Ccy="CHF">625.00</Amt>')
    parsed = parse_camt053(text.encode())
    assert "CHF" in parsed.problems[0].fr
    assert len(parsed.lines) == 3


V08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M8</MsgId><CreDtTm>2024-11-05T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S8</Id><Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-11-04</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">625.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2024-11-04</Dt></BookgDt><AcctSvcrRef>V8-1</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>CCAS DE TESTVILLE</Nm></Pty></Dbtr></RltdPties>
<RmtInf><Ustrd>FACTURE 2024-000013</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


def test_version_08_is_read_too() -> None:
    parsed = parse_camt053(V08.encode())
    assert parsed.format == "camt.053.001.08"
    assert [(ln.credit.bank_reference, ln.credit.payer_name) for ln in parsed.lines] == [("V8-1", "CCAS DE TESTVILLE")]


CSV_FR = ("Date;Référence;Montant;Payeur;SIRET;Libellé\r\n"
          "04/11/2024;BQ-1;625,00;ASSOCIATION LES GENETS;;REGLEMENT FACT 2024-000012\r\n"
          '04/11/2024;BQ-2;1 190,00;CCAS DE TESTVILLE;;"=HYPERLINK(""http://x"";""FACTURES"")"\r\n'
          "04/11/2024;BQ-3;-45,00;FRAIS;;COMMISSION\r\n"
          "04/11/2024;BQ-4;12,345;X;;Y\r\n"
          "31/02/2024;BQ-5;10,00;X;;Y\r\n"
          "04/11/2024;;10,00;X;;Y\r\n")


def test_a_french_csv_in_windows_1252_is_read_and_each_bad_row_named_with_its_line() -> None:
    parsed = parse_csv(CSV_FR.encode("cp1252"))
    assert [(ln.credit.bank_reference, ln.credit.amount) for ln in parsed.lines] == [
        ("BQ-1", Decimal("625.00")), ("BQ-2", Decimal("1190.00"))]
    assert parsed.lines[1].credit.remittance == '=HYPERLINK("http://x";"FACTURES")'  # data, as it came
    assert parsed.ignored == {"debit": 1}
    assert [(p.source_line, p.en.split(":")[-1].strip()[:18]) for p in parsed.problems] == [
        (5, "unreadable amount "), (6, "unreadable date '3"), (7, "no bank reference")]


def test_a_csv_with_bom_and_commas_is_read() -> None:
    data = "\ufeffdate,reference,amount,payer,remittance\n2024-11-04,BQ-9,1190.00,CCAS,2024-000013\n".encode()
    assert [ln.credit.amount for ln in parse_csv(data).lines] == [Decimal("1190.00")]


def test_a_csv_without_a_mandatory_column_is_refused() -> None:
    with pytest.raises(StatementFileError) as caught:
        parse_csv(b"Date;Payeur\n04/11/2024;X\n")
    assert "reference" in caught.value.fr
    assert "amount" in caught.value.en


@pytest.mark.parametrize(("text", "value"), [("1 190,00", "1190.00"), ("1190,00", "1190.00"), ("1.190,00", "1190.00"),
                                             ("1190.00", "1190.00"), ("+625", "625.00"), ("-45,5", "-45.50"),
                                             ("1\u202f190,00 €", "1190.00")])
def test_french_amounts(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["12,345", "1e3", "NaN", "=1+1", "", "1 19,00", "١٢٣"])
def test_what_is_not_an_amount(text: str) -> None:
    assert parse_amount(text) is None


@given(st.binary(max_size=2000))
def test_any_bytes_give_lines_or_a_named_refusal(data: bytes) -> None:
    for fmt in ("camt053", "csv", None):
        try:
            parsed = parse_statement(data, fmt)
        except StatementFileError as exc:
            refusal = exc
        else:
            assert all(ln.credit.amount > 0 for ln in parsed.lines)
            continue
        assert refusal.fr
        assert refusal.en


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@given(st.lists(st.tuples(st.sampled_from(["04/11/2024", "2024-11-04", "31/02/2024", "x"]), cells,
                          st.one_of(cells, st.sampled_from(["1 190,00", "-45,00", "625.00", "0,00"])), cells),
                min_size=1, max_size=15))
def test_every_row_of_a_csv_is_a_line_a_problem_or_an_ignored_debit(rows: list[tuple[str, str, str, str]]) -> None:
    """Nothing is dropped: as many outcomes as rows with something in them, each problem at its own line."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["Date", "Référence", "Montant", "Libellé"])
    writer.writerows(rows)
    data = out.getvalue()
    try:
        parsed = parse_csv(data.encode())
    except StatementFileError:
        return  # a cell's text made the header another shape: refused by name, nothing recorded
    read = list(csv.reader(io.StringIO(data, newline=""), delimiter=";"))[1:]
    filled = sum(1 for row in read if any(cell.strip() for cell in row))
    assert len(parsed.lines) + len(parsed.problems) + sum(parsed.ignored.values()) == filled
    assert len({p.source_line for p in parsed.problems}) == len(parsed.problems)


def test_a_text_over_its_limit_is_a_problem_of_its_line_whichever_format_read_it() -> None:
    """The limits live in one place (ParsedStatement.add_credit): a CSV payer of 141 characters is refused there,
    with the same words the CAMT.053 reader would give."""
    from datetime import date

    from workflow.domain.bank_statement import MAX_PAYER_NAME_LENGTH, ParsedStatement

    payer = "P" * (MAX_PAYER_NAME_LENGTH + 1)
    from_csv = parse_csv(f"Date;Référence;Montant;Payeur\n04/11/2024;BQ-1;10,00;{payer}\n".encode())
    direct = ParsedStatement(format="camt.053.001.02")
    direct.add_credit(2, "FR7630006000011234567890189", reference="BQ-1", amount=Decimal("10.00"),
                      booked_on=date(2024, 11, 4), payer_name=payer, payer_id=None, remittance="")
    assert from_csv.lines == direct.lines == []
    assert from_csv.problems == direct.problems
    assert direct.problems[0].text() == ("ligne 2 : BQ-1 : payeur de 141 caractères (au plus 140) / "
                                         "line 2: BQ-1: payer of 141 characters (at most 140)")
