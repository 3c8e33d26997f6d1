"""Each EN 16931 business rule we check, by its id: our invoices and credit notes pass it, and the same XML
changed to break it fails with that id. The change is made to the XML, as another producer could get it wrong."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from schemas.form import RegistrationForm
from workflow.adapters.data_files import load_catalogue
from workflow.adapters.en16931 import NS, RULES, violations
from workflow.adapters.en16931.cii import BUYER, LINES, SETTLEMENT, TOTALS, TRADE
from workflow.adapters.en16931.cii import SELLER as SELLER_XPATH
from workflow.adapters.facturx_xml import cii_xml
from workflow.bootstrap import seller_of
from workflow.domain.errors import InvoiceRulesError
from workflow.domain.invoice import InvoiceDocument, Line, credit_note_document, invoice_document
from workflow.settings import Settings

FORMS = Path(__file__).parent.parent / "forms" / "valid"
CATALOGUE = load_catalogue()
SELLER = seller_of(Settings())
T = TRADE  # the rules' own paths: a test and the rule it breaks read the same node
LINE = LINES
SELLER_PARTY = SELLER_XPATH
BUYER_PARTY = BUYER
HEADER_VAT = f"{SETTLEMENT}/ram:ApplicableTradeTax"


def invoice(form_file: str) -> InvoiceDocument:
    form = RegistrationForm.model_validate_json((FORMS / form_file).read_text(encoding="utf-8"))
    found = CATALOGUE.session(form.session_id or "")
    assert found is not None
    return invoice_document(number="2023-000001", issued_on=date(2023, 9, 1), due_on=date(2023, 10, 15),
                            seller=SELLER, registration_id="r-1", form=form, catalogue=CATALOGUE,
                            training=found[0], session=found[1], agreement_mention="Convention")


PUBLIC = invoice("handicap-departement.json")
PRIVATE = invoice("aide-domicile-association-unsigned.json")
CREDIT_NOTE = credit_note_document(PUBLIC, number="2023-000007", issued_on=date(2023, 9, 10), reason="annulée")
DOCUMENTS = {"public invoice": PUBLIC, "private invoice": PRIVATE, "credit note": CREDIT_NOTE}


# --- how to break each rule, on the XML ------------------------------------------------------------------------

Tree = etree._Element


def remove(path: str) -> Callable[[Tree], None]:
    def change(root: Tree) -> None:
        nodes = root.xpath(path, namespaces=NS)
        assert nodes, f"nothing at {path}"
        for node in nodes:
            node.getparent().remove(node)
    return change


def set_text(path: str, value: str | Callable[[str], str]) -> Callable[[Tree], None]:
    def change(root: Tree) -> None:
        nodes = root.xpath(path, namespaces=NS)
        assert nodes, f"nothing at {path}"
        for node in nodes:
            node.text = value(node.text) if callable(value) else value
    return change


def plus_one(text: str) -> str:
    return f"{float(text) + 1:.2f}"


def duplicate(path: str) -> Callable[[Tree], None]:
    def change(root: Tree) -> None:
        node = root.xpath(path, namespaces=NS)[0]
        node.addnext(etree.fromstring(etree.tostring(node)))
    return change


def set_attribute(path: str, name: str, value: str) -> Callable[[Tree], None]:
    def change(root: Tree) -> None:
        root.xpath(path, namespaces=NS)[0].set(name, value)
    return change


BREAK: dict[str, Callable[[Tree], None]] = {
    "BR-01": remove("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"),
    "BR-02": remove("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID"),
    "BR-03": remove("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
    "BR-04": remove("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode"),
    "BR-05": remove(f"{SETTLEMENT}/ram:InvoiceCurrencyCode"),
    "BR-06": remove(f"{SELLER_PARTY}/ram:Name"),
    "BR-07": remove(f"{BUYER_PARTY}/ram:Name"),
    "BR-08": remove(f"{SELLER_PARTY}/ram:PostalTradeAddress"),
    "BR-09": remove(f"{SELLER_PARTY}/ram:PostalTradeAddress/ram:CountryID"),
    "BR-10": remove(f"{BUYER_PARTY}/ram:PostalTradeAddress"),
    "BR-11": remove(f"{BUYER_PARTY}/ram:PostalTradeAddress/ram:CountryID"),
    "BR-CO-26": remove(f"{SELLER_PARTY}/ram:GlobalID | {SELLER_PARTY}/ram:SpecifiedLegalOrganization"),
    "BR-12": remove(f"{TOTALS}/ram:LineTotalAmount"),
    "BR-13": remove(f"{TOTALS}/ram:TaxBasisTotalAmount"),
    "BR-14": remove(f"{TOTALS}/ram:GrandTotalAmount"),
    "BR-15": remove(f"{TOTALS}/ram:DuePayableAmount"),
    "BR-16": remove(LINE),
    "BR-CO-10": set_text(f"{TOTALS}/ram:LineTotalAmount", plus_one),
    "BR-CO-11": set_text(f"{TOTALS}/ram:AllowanceTotalAmount", "10.00"),
    "BR-CO-12": set_text(f"{TOTALS}/ram:ChargeTotalAmount", "10.00"),
    "BR-CO-13": set_text(f"{TOTALS}/ram:TaxBasisTotalAmount", plus_one),
    "BR-CO-14": set_text(f"{TOTALS}/ram:TaxTotalAmount", "5.00"),
    "BR-CO-15": set_text(f"{TOTALS}/ram:GrandTotalAmount", plus_one),
    "BR-CO-16": set_text(f"{TOTALS}/ram:DuePayableAmount", plus_one),
    "BR-CO-25": remove(f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms"),
    "BR-21": remove(f"{LINE}/ram:AssociatedDocumentLineDocument/ram:LineID"),
    "BR-22": remove(f"{LINE}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
    "BR-24": remove(f"{LINE}//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"),
    "BR-25": remove(f"{LINE}/ram:SpecifiedTradeProduct/ram:Name"),
    "BR-26": remove(f"{LINE}//ram:NetPriceProductTradePrice/ram:ChargeAmount"),
    "BR-27": set_text(f"{LINE}//ram:NetPriceProductTradePrice/ram:ChargeAmount", "-1.00"),
    "BR-CO-04": remove(f"{LINE}/ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode"),
    "BR-E-01": duplicate(HEADER_VAT),
    "BR-E-02": set_attribute(f"{SELLER_PARTY}/ram:SpecifiedTaxRegistration/ram:ID", "schemeID", "XX"),
    "BR-E-05": set_text(f"{LINE}/ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent",
                       "5.50"),
    "BR-E-08": set_text(f"{HEADER_VAT}/ram:BasisAmount", plus_one),
    "BR-E-09": set_text(f"{HEADER_VAT}/ram:CalculatedAmount", "1.00"),
    "BR-E-10": remove(f"{HEADER_VAT}/ram:ExemptionReason | {HEADER_VAT}/ram:ExemptionReasonCode"),
    "BR-61": remove(f"{SETTLEMENT}//ram:PayeePartyCreditorFinancialAccount"),
    "CII-SR-470": remove(f"{SETTLEMENT}//ram:PayeePartyCreditorFinancialAccount/ram:IBANID"),
    "BR-DEC-09": set_text(f"{TOTALS}/ram:LineTotalAmount", lambda t: t + "1"),
    "BR-DEC-10": set_text(f"{TOTALS}/ram:AllowanceTotalAmount", "0.000"),
    "BR-DEC-11": set_text(f"{TOTALS}/ram:ChargeTotalAmount", "0.000"),
    "BR-DEC-12": set_text(f"{TOTALS}/ram:TaxBasisTotalAmount", lambda t: t + "1"),
    "BR-DEC-13": set_text(f"{TOTALS}/ram:TaxTotalAmount", "0.000"),
    "BR-DEC-14": set_text(f"{TOTALS}/ram:GrandTotalAmount", lambda t: t + "1"),
    "BR-DEC-18": set_text(f"{TOTALS}/ram:DuePayableAmount", lambda t: t + "1"),
    "BR-DEC-19": set_text(f"{HEADER_VAT}/ram:BasisAmount", lambda t: t + "1"),
    "BR-DEC-20": set_text(f"{HEADER_VAT}/ram:CalculatedAmount", "0.000"),
    "BR-DEC-23": set_text(f"{LINE}//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                          lambda t: t + "1"),
    "RF-AVOIR": remove(f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime"),
    "RF-DATE": set_text("//ram:DueDateDateTime/udt:DateTimeString", "20230231"),
}


def test_every_rule_checked_has_a_way_to_break_it_here() -> None:
    assert set(BREAK) == set(RULES)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_our_documents_pass_every_rule(name: str) -> None:
    assert violations(cii_xml(DOCUMENTS[name])) == []


@pytest.mark.parametrize("rule_id", sorted(BREAK))
def test_a_document_that_breaks_the_rule_fails_with_its_id(rule_id: str) -> None:
    doc = CREDIT_NOTE if rule_id == "RF-AVOIR" else PRIVATE
    root = etree.fromstring(cii_xml(doc))
    BREAK[rule_id](root)
    broken = [v.rule for v in violations(etree.tostring(root))]
    assert rule_id in broken
    assert all(v.text for v in violations(etree.tostring(root)))


lines = st.lists(st.builds(Line, st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                                         max_size=80).filter(str.strip),
                            st.integers(min_value=1, max_value=200),
                            st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False)),
                  min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(lines)
def test_whatever_the_lines_the_invoice_and_its_credit_note_pass_every_rule(drawn: list[Line]) -> None:
    doc = dataclasses.replace(PRIVATE, lines=drawn)
    credit = credit_note_document(doc, number="2023-000002", issued_on=date(2023, 9, 2), reason="erreur")
    assert violations(cii_xml(doc)) == []
    assert violations(cii_xml(credit)) == []


def test_an_invoice_without_the_payees_account_is_not_issued_and_says_which_rules() -> None:
    without_account = dataclasses.replace(PRIVATE, seller=dataclasses.replace(SELLER, iban=None))
    with pytest.raises(InvoiceRulesError) as refused:
        cii_xml(without_account)
    assert refused.value.rules == ["BR-61", "CII-SR-470"]
    assert "2023-000001" in str(refused.value)
    assert "n'est pas émis" in (refused.value.reason_fr or "")


def test_the_credit_note_is_type_381_and_names_the_invoice_and_its_date() -> None:
    root = etree.fromstring(cii_xml(CREDIT_NOTE))

    def value(path: str) -> str:
        return str(root.xpath(f"normalize-space({path})", namespaces=NS))

    assert value("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert value(f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "2023-000001"
    assert value(f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString") \
        == "20230901"


def test_the_reform_mentions_and_the_payees_account_are_in_the_xml() -> None:
    root = etree.fromstring(cii_xml(PRIVATE))

    def value(path: str) -> str:
        return str(root.xpath(f"normalize-space({path})", namespaces=NS))

    assert value("//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == "S1"
    assert value(f"{BUYER_PARTY}/ram:GlobalID[@schemeID='0002']") == "775672272"
    assert value(f"{SELLER_PARTY}/ram:GlobalID[@schemeID='0002']") == SELLER.siret[:9]
    assert value(f"{HEADER_VAT}/ram:ExemptionReason") == "Exonération de TVA – article 261-4-4° a du CGI"
    assert value(f"{HEADER_VAT}/ram:ExemptionReasonCode") == "VATEX-EU-132-1I"
    assert value(f"{SETTLEMENT}//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == "FR7630006000011234567890189"
    assert value(f"{SETTLEMENT}//ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == "AGRIFRPP"
    assert "Catégorie d'opération : prestation de services" in value("//ram:IncludedNote[4]/ram:Content")


def test_a_public_buyers_invoice_leaves_the_billing_framework_to_chorus_pro() -> None:
    root = etree.fromstring(cii_xml(PUBLIC))
    assert not root.xpath("//ram:BusinessProcessSpecifiedDocumentContextParameter", namespaces=NS)
    assert root.xpath(f"string({BUYER_PARTY}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0009'])",
                      namespaces=NS) == "22940028800010"


pytestmark = pytest.mark.slow  # Hypothesis-heavy: started first, so that no worker finishes it alone
