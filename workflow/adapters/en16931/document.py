"""EN 16931 rules on the document, its parties, the payment means and this product's own (French law)."""

from __future__ import annotations

from datetime import datetime

from workflow.adapters.en16931.cii import BUYER, CREDIT_NOTE_TYPES, CREDIT_TRANSFERS, DOC, SELLER, SETTLEMENT, Cii, rule

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
