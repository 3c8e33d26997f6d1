"""EN 16931 rules on amounts: totals, lines, exempt VAT (CGI art. 261-4-4° a) and decimals."""

from __future__ import annotations

from decimal import Decimal

from workflow.adapters.en16931.cii import LINES, SELLER, SETTLEMENT, TOTALS, TRADE, Cii, Rule, rule

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

@rule("BR-E-01", "An Invoice that contains an Invoice line where the VAT category code is Exempt from VAT shall "
                "contain exactly one VAT breakdown (BG-23) with the VAT category code (BT-118) equal to Exempt.")
def br_e_01(cii: Cii) -> bool:
    return not cii.exempt_lines() or len(cii.exempt_breakdowns()) == 1


@rule("BR-E-02", "An Invoice that contains an Invoice line where the VAT category code is Exempt from VAT shall "
                "contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or "
                "the Seller tax representative VAT identifier (BT-63).")
def br_e_02(cii: Cii) -> bool:
    registered = cii.present(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA' or @schemeID='FC']") \
        or cii.present(f"{TRADE}/ram:ApplicableHeaderTradeAgreement/ram:SellerTaxRepresentativeTradeParty/"
                       "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']")
    return not cii.exempt_lines() or registered


@rule("BR-E-05", "In an Invoice line where the Invoiced item VAT category code is Exempt from VAT, the Invoiced "
                "item VAT rate (BT-152) shall be 0 (zero).")
def br_e_05(cii: Cii) -> bool:
    return all(cii.amount("ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent", line)
               == 0 for line in cii.exempt_lines())


@rule("BR-E-08", "In a VAT breakdown where the VAT category code is Exempt from VAT, the VAT category taxable amount "
                "(BT-116) shall equal the sum of Invoice line net amounts minus the document level allowance "
                "amounts plus the document level charge amounts where the VAT category code is Exempt.")
def br_e_08(cii: Cii) -> bool:
    lines = sum((cii.amount("ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/"
                            "ram:LineTotalAmount", line) for line in cii.exempt_lines()), Decimal(0))
    charges = f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge[ram:CategoryTradeTax/ram:CategoryCode='E']"
    allowances = sum(cii.amounts(f"{charges}[ram:ChargeIndicator/udt:Indicator='false']/ram:ActualAmount"),
                     Decimal(0))
    extra = sum(cii.amounts(f"{charges}[ram:ChargeIndicator/udt:Indicator='true']/ram:ActualAmount"), Decimal(0))
    return all(cii.amount("ram:BasisAmount", b) == lines - allowances + extra for b in cii.exempt_breakdowns())


@rule("BR-E-09", "The VAT category tax amount (BT-117) in a VAT breakdown where the VAT category code is Exempt "
                "from VAT shall equal 0 (zero).")
def br_e_09(cii: Cii) -> bool:
    return all(cii.amount("ram:CalculatedAmount", b) == 0 for b in cii.exempt_breakdowns())


@rule("BR-E-10", "A VAT breakdown with VAT Category code Exempt from VAT shall have a VAT exemption reason code "
                 "(BT-121) or a VAT exemption reason text (BT-120).")
def br_e_10(cii: Cii) -> bool:
    return all(cii.present("ram:ExemptionReason", b) or cii.present("ram:ExemptionReasonCode", b)
               for b in cii.exempt_breakdowns())


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
