"""The EN 16931 business rules that apply to our invoices and credit notes, checked on the CII XML (lxml XPath).

The Factur-X XSD checks the shape; these rules check the meaning: totals that add up (BR-CO-10..16), exempt VAT
stated as such (BR-E-*), the payee's account for a credit transfer (BR-61, CII-SR-470), mandatory terms (BR-01..27),
two decimals (BR-DEC-*). Each rule is one function named after its id, with the standard's wording; `violations`
runs them all. Rules prefixed RF- are this product's own (French law, not EN 16931). Rules about what we never
emit (allowances per line, other VAT categories, cards, direct debit) are not here: the official validation
artefacts (ConnectingEurope/eInvoicing-EN16931, CII) stay the reference, run outside this repository.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from workflow.domain.errors import InvoiceRulesError

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}
DOC = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
TRADE = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
SELLER = f"{TRADE}/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
BUYER = f"{TRADE}/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty"
SETTLEMENT = f"{TRADE}/ram:ApplicableHeaderTradeSettlement"
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
LINES = f"{TRADE}/ram:IncludedSupplyChainTradeLineItem"
CREDIT_TRANSFERS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans[ram:TypeCode='30' or ram:TypeCode='58']"
CREDIT_NOTE_TYPES = {"381", "261", "262", "296", "308", "396", "420", "458", "532"}  # UNTDID 1001 credit notes
# An XML we built ourselves, but parsed as any XML should be: no entities, no network, no huge trees.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Violation:
    rule: str
    text: str


class Cii:
    """The XML with the few questions the rules ask of it."""

    def __init__(self, xml: bytes) -> None:
        self.root = etree.fromstring(xml, _PARSER)

    def nodes(self, path: str, context: etree._Element | None = None) -> list[etree._Element]:
        found = (self.root if context is None else context).xpath(path, namespaces=NS)
        return list(found) if isinstance(found, list) else []

    def text(self, path: str, context: etree._Element | None = None) -> str:
        return str((self.root if context is None else context).xpath(f"normalize-space({path})", namespaces=NS))

    def amount(self, path: str, context: etree._Element | None = None) -> Decimal:
        """The amount at `path`, 0 when absent (an optional total), NaN when it is no number (fails every sum)."""
        value = self.text(path, context)
        try:
            return Decimal(value) if value else Decimal(0)
        except InvalidOperation:
            return Decimal("NaN")

    def amounts(self, path: str) -> list[Decimal]:
        return [self.amount(".", node) for node in self.nodes(path)]

    def present(self, path: str, context: etree._Element | None = None) -> bool:
        return self.text(path, context) != ""

    def exempt_lines(self) -> list[etree._Element]:
        return self.nodes(f"{LINES}[ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode='E']")

    def exempt_breakdowns(self) -> list[etree._Element]:
        return self.nodes(f"{SETTLEMENT}/ram:ApplicableTradeTax[ram:CategoryCode='E']")


Rule = Callable[[Cii], bool]
RULES: dict[str, tuple[str, Rule]] = {}


def rule(rule_id: str, text: str) -> Callable[[Rule], Rule]:
    def register(check: Rule) -> Rule:
        RULES[rule_id] = (text, check)
        return check
    return register


def violations(xml: bytes) -> list[Violation]:
    """Every rule the document breaks, in the order of their ids as listed."""
    cii = Cii(xml)
    return [Violation(rule_id, text) for rule_id, (text, check) in RULES.items() if not check(cii)]


def require_compliant(xml: bytes, number: str) -> None:
    """Refuses a document that breaks a rule (InvoiceRulesError): an invoice a platform would reject is not issued."""
    broken = violations(xml)
    if broken:
        raise InvoiceRulesError(number, [v.rule for v in broken])



# --- the document and its parties (BR-01..BR-11, BR-CO-26) --------------------------------------------------

@rule("BR-01", "An Invoice shall have a Specification identifier (BT-24).")
def br_01(cii: Cii) -> bool:
    return cii.present("/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/"
                       "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")


@rule("BR-02", "An Invoice shall have an Invoice number (BT-1).")
def br_02(cii: Cii) -> bool:
    return cii.present(f"{DOC}/ram:ID")


@rule("BR-03", "An Invoice shall have an Invoice issue date (BT-2).")
def br_03(cii: Cii) -> bool:
    return cii.present(f"{DOC}/ram:IssueDateTime/udt:DateTimeString")


@rule("BR-04", "An Invoice shall have an Invoice type code (BT-3).")
def br_04(cii: Cii) -> bool:
    return cii.present(f"{DOC}/ram:TypeCode")


@rule("BR-05", "An Invoice shall have an Invoice currency code (BT-5).")
def br_05(cii: Cii) -> bool:
    return cii.present(f"{SETTLEMENT}/ram:InvoiceCurrencyCode")


@rule("BR-06", "An Invoice shall contain the Seller name (BT-27).")
def br_06(cii: Cii) -> bool:
    return cii.present(f"{SELLER}/ram:Name")


@rule("BR-07", "An Invoice shall contain the Buyer name (BT-44).")
def br_07(cii: Cii) -> bool:
    return cii.present(f"{BUYER}/ram:Name")


@rule("BR-08", "An Invoice shall contain the Seller postal address (BG-5).")
def br_08(cii: Cii) -> bool:
    return bool(cii.nodes(f"{SELLER}/ram:PostalTradeAddress"))


@rule("BR-09", "The Seller postal address (BG-5) shall contain a Seller country code (BT-40).")
def br_09(cii: Cii) -> bool:
    return cii.present(f"{SELLER}/ram:PostalTradeAddress/ram:CountryID")


@rule("BR-10", "An Invoice shall contain the Buyer postal address (BG-8).")
def br_10(cii: Cii) -> bool:
    return bool(cii.nodes(f"{BUYER}/ram:PostalTradeAddress"))


@rule("BR-11", "The Buyer postal address shall contain a Buyer country code (BT-55).")
def br_11(cii: Cii) -> bool:
    return cii.present(f"{BUYER}/ram:PostalTradeAddress/ram:CountryID")


@rule("BR-CO-26", "The Seller identifier (BT-29), the Seller legal registration identifier (BT-30) and/or the "
                  "Seller VAT identifier (BT-31) shall be present.")
def br_co_26(cii: Cii) -> bool:
    return any(cii.present(f"{SELLER}/{p}") for p in ("ram:ID", "ram:GlobalID", "ram:SpecifiedLegalOrganization/ram:ID",
                                                      "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"))


# --- totals (BR-12..BR-16, BR-CO-10..16, BR-CO-25) --------------------------------------------------------------

@rule("BR-12", "An Invoice shall have the Sum of Invoice line net amount (BT-106).")
def br_12(cii: Cii) -> bool:
    return cii.present(f"{TOTALS}/ram:LineTotalAmount")


@rule("BR-13", "An Invoice shall have the Invoice total amount without VAT (BT-109).")
def br_13(cii: Cii) -> bool:
    return cii.present(f"{TOTALS}/ram:TaxBasisTotalAmount")


@rule("BR-14", "An Invoice shall have the Invoice total amount with VAT (BT-112).")
def br_14(cii: Cii) -> bool:
    return cii.present(f"{TOTALS}/ram:GrandTotalAmount")


@rule("BR-15", "An Invoice shall have the Amount due for payment (BT-115).")
def br_15(cii: Cii) -> bool:
    return cii.present(f"{TOTALS}/ram:DuePayableAmount")


@rule("BR-16", "An Invoice shall have at least one Invoice line (BG-25).")
def br_16(cii: Cii) -> bool:
    return bool(cii.nodes(LINES))


@rule("BR-CO-10", "Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).")
def br_co_10(cii: Cii) -> bool:
    lines = cii.amounts(f"{LINES}/ram:SpecifiedLineTradeSettlement/"
                        "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount")
    return cii.amount(f"{TOTALS}/ram:LineTotalAmount") == sum(lines, Decimal(0))


def _document_level(cii: Cii, charge: str) -> Decimal:
    return sum(cii.amounts(f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge[ram:ChargeIndicator/udt:Indicator="
                           f"'{charge}']/ram:ActualAmount"), Decimal(0))


@rule("BR-CO-11", "Sum of allowances on document level (BT-107) = Σ Document level allowance amount (BT-92).")
def br_co_11(cii: Cii) -> bool:
    return cii.amount(f"{TOTALS}/ram:AllowanceTotalAmount") == _document_level(cii, "false")


@rule("BR-CO-12", "Sum of charges on document level (BT-108) = Σ Document level charge amount (BT-99).")
def br_co_12(cii: Cii) -> bool:
    return cii.amount(f"{TOTALS}/ram:ChargeTotalAmount") == _document_level(cii, "true")


@rule("BR-CO-13", "Invoice total amount without VAT (BT-109) = Σ Invoice line net amount (BT-131) - Sum of "
                  "allowances on document level (BT-107) + Sum of charges on document level (BT-108).")
def br_co_13(cii: Cii) -> bool:
    expected = (cii.amount(f"{TOTALS}/ram:LineTotalAmount") - cii.amount(f"{TOTALS}/ram:AllowanceTotalAmount")
                + cii.amount(f"{TOTALS}/ram:ChargeTotalAmount"))
    return cii.amount(f"{TOTALS}/ram:TaxBasisTotalAmount") == expected


def _invoice_currency_vat(cii: Cii) -> Decimal:
    currency = cii.text(f"{SETTLEMENT}/ram:InvoiceCurrencyCode")
    return cii.amount(f"{TOTALS}/ram:TaxTotalAmount[@currencyID='{currency}']")


@rule("BR-CO-14", "Invoice total VAT amount (BT-110) = Σ VAT category tax amount (BT-117).")
def br_co_14(cii: Cii) -> bool:
    return _invoice_currency_vat(cii) == sum(cii.amounts(f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CalculatedAmount"),
                                             Decimal(0))


@rule("BR-CO-15", "Invoice total amount with VAT (BT-112) = Invoice total amount without VAT (BT-109) + Invoice "
                  "total VAT amount (BT-110).")
def br_co_15(cii: Cii) -> bool:
    return (cii.amount(f"{TOTALS}/ram:GrandTotalAmount")
            == cii.amount(f"{TOTALS}/ram:TaxBasisTotalAmount") + _invoice_currency_vat(cii))


@rule("BR-CO-16", "Amount due for payment (BT-115) = Invoice total amount with VAT (BT-112) - Paid amount (BT-113) "
                  "+ Rounding amount (BT-114).")
def br_co_16(cii: Cii) -> bool:
    expected = (cii.amount(f"{TOTALS}/ram:GrandTotalAmount") - cii.amount(f"{TOTALS}/ram:TotalPrepaidAmount")
                + cii.amount(f"{TOTALS}/ram:RoundingAmount"))
    return cii.amount(f"{TOTALS}/ram:DuePayableAmount") == expected


@rule("BR-CO-25", "In case the Amount due for payment (BT-115) is positive, either the Payment due date (BT-9) or "
                  "the Payment terms (BT-20) shall be present.")
def br_co_25(cii: Cii) -> bool:
    terms = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms"
    return (not cii.amount(f"{TOTALS}/ram:DuePayableAmount") > 0 or cii.present(f"{terms}/ram:Description")
            or cii.present(f"{terms}/ram:DueDateDateTime/udt:DateTimeString"))


# --- lines (BR-21..BR-27) ---------------------------------------------------------------------------------------

def _every_line(cii: Cii, path: str) -> bool:
    return all(cii.present(path, line) for line in cii.nodes(LINES))


@rule("BR-21", "Each Invoice line (BG-25) shall have an Invoice line identifier (BT-126).")
def br_21(cii: Cii) -> bool:
    return _every_line(cii, "ram:AssociatedDocumentLineDocument/ram:LineID")


@rule("BR-22", "Each Invoice line (BG-25) shall have an Invoiced quantity (BT-129).")
def br_22(cii: Cii) -> bool:
    return _every_line(cii, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")


@rule("BR-24", "Each Invoice line (BG-25) shall have an Invoice line net amount (BT-131).")
def br_24(cii: Cii) -> bool:
    return _every_line(cii, "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/"
                            "ram:LineTotalAmount")


@rule("BR-25", "Each Invoice line (BG-25) shall contain the Item name (BT-153).")
def br_25(cii: Cii) -> bool:
    return _every_line(cii, "ram:SpecifiedTradeProduct/ram:Name")


@rule("BR-26", "Each Invoice line (BG-25) shall contain the Item net price (BT-146).")
def br_26(cii: Cii) -> bool:
    return _every_line(cii, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount")


@rule("BR-27", "The Item net price (BT-146) shall NOT be negative.")
def br_27(cii: Cii) -> bool:
    prices = cii.amounts(f"{LINES}/ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount")
    return all(price >= 0 for price in prices)


@rule("BR-CO-04", "Each Invoice line (BG-25) shall be categorized with an Invoiced item VAT category code (BT-151).")
def br_co_04(cii: Cii) -> bool:
    return _every_line(cii, "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode")


# --- exempt from VAT (BR-E-*): CGI art. 261-4-4° a --------------------------------------------------------------

@rule("BR-E-1", "An Invoice that contains an Invoice line where the VAT category code is Exempt from VAT shall "
                "contain exactly one VAT breakdown (BG-23) with the VAT category code (BT-118) equal to Exempt.")
def br_e_1(cii: Cii) -> bool:
    return not cii.exempt_lines() or len(cii.exempt_breakdowns()) == 1


@rule("BR-E-2", "An Invoice that contains an Invoice line where the VAT category code is Exempt from VAT shall "
                "contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or "
                "the Seller tax representative VAT identifier (BT-63).")
def br_e_2(cii: Cii) -> bool:
    registered = cii.present(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID") or cii.present(
        f"{TRADE}/ram:ApplicableHeaderTradeAgreement/ram:SellerTaxRepresentativeTradeParty/"
        "ram:SpecifiedTaxRegistration/ram:ID")
    return not cii.exempt_lines() or registered


@rule("BR-E-5", "In an Invoice line where the Invoiced item VAT category code is Exempt from VAT, the Invoiced "
                "item VAT rate (BT-152) shall be 0 (zero).")
def br_e_5(cii: Cii) -> bool:
    return all(cii.amount("ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent", line)
               == 0 for line in cii.exempt_lines())


@rule("BR-E-8", "In a VAT breakdown where the VAT category code is Exempt from VAT, the VAT category taxable amount "
                "(BT-116) shall equal the sum of Invoice line net amounts minus the document level allowance "
                "amounts plus the document level charge amounts where the VAT category code is Exempt.")
def br_e_8(cii: Cii) -> bool:
    lines = sum((cii.amount("ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/"
                            "ram:LineTotalAmount", line) for line in cii.exempt_lines()), Decimal(0))
    charges = f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge[ram:CategoryTradeTax/ram:CategoryCode='E']"
    allowances = sum(cii.amounts(f"{charges}[ram:ChargeIndicator/udt:Indicator='false']/ram:ActualAmount"),
                     Decimal(0))
    extra = sum(cii.amounts(f"{charges}[ram:ChargeIndicator/udt:Indicator='true']/ram:ActualAmount"), Decimal(0))
    return all(cii.amount("ram:BasisAmount", b) == lines - allowances + extra for b in cii.exempt_breakdowns())


@rule("BR-E-9", "The VAT category tax amount (BT-117) in a VAT breakdown where the VAT category code is Exempt "
                "from VAT shall equal 0 (zero).")
def br_e_9(cii: Cii) -> bool:
    return all(cii.amount("ram:CalculatedAmount", b) == 0 for b in cii.exempt_breakdowns())


@rule("BR-E-10", "A VAT breakdown with VAT Category code Exempt from VAT shall have a VAT exemption reason code "
                 "(BT-121) or a VAT exemption reason text (BT-120).")
def br_e_10(cii: Cii) -> bool:
    return all(cii.present("ram:ExemptionReason", b) or cii.present("ram:ExemptionReasonCode", b)
               for b in cii.exempt_breakdowns())


# --- payment (BR-61, CII-SR-470) --------------------------------------------------------------------------------

@rule("BR-61", "If the Payment means type code (BT-81) means SEPA credit transfer, Local credit transfer or "
               "Non-SEPA international credit transfer, the Payment account identifier (BT-84) shall be present.")
def br_61(cii: Cii) -> bool:
    return all(cii.present("ram:PayeePartyCreditorFinancialAccount/ram:IBANID", m)
               or cii.present("ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID", m)
               for m in cii.nodes(CREDIT_TRANSFERS))


@rule("CII-SR-470", "Either the IBAN or a Proprietary ID (BT-84) shall be used.")
def cii_sr_470(cii: Cii) -> bool:
    return all(len(cii.nodes("ram:PayeePartyCreditorFinancialAccount/ram:IBANID | "
                             "ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID", m)) >= 1
               for m in cii.nodes(CREDIT_TRANSFERS))


# --- decimals (BR-DEC-*): amounts with at most two decimals -----------------------------------------------------

def _two_decimals(path: str) -> Rule:
    def check(cii: Cii) -> bool:
        return all(value.is_finite() and -int(value.as_tuple().exponent) <= 2 for value in cii.amounts(path))
    return check


for _id, _term, _path in [
    ("BR-DEC-09", "Sum of Invoice line net amount (BT-106)", f"{TOTALS}/ram:LineTotalAmount"),
    ("BR-DEC-10", "Sum of allowances on document level (BT-107)", f"{TOTALS}/ram:AllowanceTotalAmount"),
    ("BR-DEC-11", "Sum of charges on document level (BT-108)", f"{TOTALS}/ram:ChargeTotalAmount"),
    ("BR-DEC-12", "Invoice total amount without VAT (BT-109)", f"{TOTALS}/ram:TaxBasisTotalAmount"),
    ("BR-DEC-13", "Invoice total VAT amount (BT-110)", f"{TOTALS}/ram:TaxTotalAmount"),
    ("BR-DEC-14", "Invoice total amount with VAT (BT-112)", f"{TOTALS}/ram:GrandTotalAmount"),
    ("BR-DEC-18", "Amount due for payment (BT-115)", f"{TOTALS}/ram:DuePayableAmount"),
    ("BR-DEC-19", "VAT category taxable amount (BT-116)", f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:BasisAmount"),
    ("BR-DEC-20", "VAT category tax amount (BT-117)", f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CalculatedAmount"),
    ("BR-DEC-23", "Invoice line net amount (BT-131)",
     f"{LINES}/ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"),
]:
    rule(_id, f"The allowed maximum number of decimals for the {_term} is 2.")(_two_decimals(_path))


# --- this product's own (French law) ----------------------------------------------------------------------------

@rule("RF-AVOIR", "A credit note (BT-3 381) names the invoice it corrects (BG-3: BT-25 and its date BT-26): "
                  "CGI annexe II art. 242 nonies A, an issued invoice is corrected by a credit note referencing it.")
def rf_avoir(cii: Cii) -> bool:
    if cii.text(f"{DOC}/ram:TypeCode") not in CREDIT_NOTE_TYPES:
        return True
    reference = f"{SETTLEMENT}/ram:InvoiceReferencedDocument"
    return (cii.present(f"{reference}/ram:IssuerAssignedID")
            and cii.present(f"{reference}/ram:FormattedIssueDateTime/qdt:DateTimeString"))


@rule("RF-DATE", "Every date is a calendar date written YYYYMMDD with format 102 (UNTDID 2379), as EN 16931 asks "
                 "of CII dates.")
def rf_date(cii: Cii) -> bool:
    for node in cii.nodes("//udt:DateTimeString | //qdt:DateTimeString"):
        if node.get("format") != "102":
            return False
        try:
            datetime.strptime(node.text or "", "%Y%m%d")
        except ValueError:
            return False
    return True
