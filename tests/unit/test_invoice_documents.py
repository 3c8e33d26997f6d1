"""The invoice PDF says what French law and the brochures require, and carries valid EN 16931 XML."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from schemas.form import RegistrationForm
from workflow.adapters.data_files import load_catalogue
from workflow.adapters.facturx_xml import cii_xml, facturx_pdf
from workflow.adapters.invoice_pdf import render_pdf
from workflow.bootstrap import seller_of
from workflow.domain.invoice import InvoiceDocument, credit_note_document, invoice_document
from workflow.settings import Settings

FORMS = Path(__file__).parent.parent / "forms" / "valid"
CATALOGUE = load_catalogue()
SETTINGS = Settings()
NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}


def document(form_file: str, number: str = "2023-000001", due_on: date = date(2023, 10, 15)) -> InvoiceDocument:
    form = RegistrationForm.model_validate_json((FORMS / form_file).read_text(encoding="utf-8"))
    found = CATALOGUE.session(form.session_id or "")
    assert found is not None
    return invoice_document(number=number, issued_on=date(2023, 9, 1), due_on=due_on, seller=seller_of(SETTINGS),
                            registration_id="r-1", form=form, catalogue=CATALOGUE, training=found[0],
                            session=found[1], agreement_mention=SETTINGS.agreement_mention)


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text)


def embedded_xml(pdf: bytes) -> etree._Element:
    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert name == "factur-x.xml"
    return etree.fromstring(xml)


def test_a_public_invoice_states_every_mandatory_mention() -> None:
    doc = document("handicap-departement.json")
    text = pdf_text(facturx_pdf(render_pdf(doc), cii_xml(doc), title="Facture"))
    for expected in [
        "FACTURE N° 2023-000001", "Date d'émission : 01/09/2023", "Échéance : 15/10/2023",
        # seller, with SIRET and the activity declaration (R6351-6)
        SETTINGS.seller_name, f"SIRET {SETTINGS.seller_siret}",
        f"Déclaration d'activité enregistrée sous le numéro {SETTINGS.seller_activity_number} auprès du préfet "
        f"de région {SETTINGS.seller_activity_region}",
        # buyer
        "Département du Val-de-Marne", "Avenue du Général de Gaulle", "94054 Créteil", "SIRET 22940028800010",
        # description, quantity, unit price, total
        "Etablissements et services \"Handicap\" : les outils de construction d'un CPOM", "session du 15/09/2023",
        "595,00 €", "1 190,00 €", "Mme Claire DURAND, M. Paul LEROY",
        # VAT exemption and its basis, in the exemption's words (not the small-business franchise's)
        "Exonération de TVA – article 261-4-4° a du CGI",
        # the e-invoicing reform's mentions: the client's SIREN, the category of the operation
        "SIREN 229400288", "Catégorie d'opération : prestation de services",
        # how to pay by transfer
        "Règlement par virement", "IBAN : FR76 3000 6000 0112 3456 7890 189", "BIC : AGRIFRPP",
        # public payment terms, late interest and the 40 € indemnity
        "délai global de paiement de 30 jours", "R2192-10", "intérêts moratoires au taux BCE + 8 points",
        "indemnité forfaitaire pour frais de recouvrement de 40 €",
    ]:
        assert expected in text, f"missing on the invoice: {expected}"
    assert "TVA non applicable" not in text  # the small-business franchise's wording, another regime


def test_a_long_account_holders_name_wraps_and_the_iban_stays_on_one_line() -> None:
    seller = dataclasses.replace(seller_of(SETTINGS), name="Institut " * 30 + "de la Performance Publique",
                                 iban="MT84MALT011000012345MTLCAST001S", bic="MALTMTMTXXX")
    doc = dataclasses.replace(document("aide-domicile-association-unsigned.json"), seller=seller)
    lines = [line for page in PdfReader(io.BytesIO(render_pdf(doc))).pages for line in page.extract_text().splitlines()]
    assert "IBAN : MT84 MALT 0110 0001 2345 MTLC AST0 01S" in lines  # the longest IBAN of SEPA, 31 characters
    assert "BIC : MALTMTMTXXX" in lines


def test_an_invoice_that_stands_as_the_training_agreement_says_so_with_the_agreements_mentions() -> None:
    text = pdf_text(render_pdf(document("handicap-departement.json")))
    for expected in ["Facture valant convention de formation simplifiée", "Intitulé", "Objectif",
                     "15/09/2023, 09h30–12h45, 13h45–17h00 (heure de Paris)", "6 heures de formation",
                     "595,00 € net par participant, soit 1 190,00 €",
                     "formulaire d'inscription signé à Créteil le 28/08/2023 par Sophie MARTIN"]:
        assert expected in text, f"missing in the agreement block: {expected}"


def test_a_private_clients_invoice_is_payable_on_receipt_with_the_commercial_penalties() -> None:
    doc = document("aide-domicile-association-unsigned.json", due_on=date(2023, 9, 1))
    text = pdf_text(render_pdf(doc))
    assert "Payable à réception de facture, au plus tard le 01/09/2023" in text
    assert "pénalités au taux BCE + 10 points" in text
    assert "L441-10" in text
    assert "40 €" in text
    assert "convention de formation" not in text  # this training's invoice is not the agreement


def test_the_facturx_xml_validates_and_carries_what_chorus_pro_needs() -> None:
    doc = document("aide-domicile-departement-october.json")
    root = embedded_xml(facturx_pdf(render_pdf(doc), cii_xml(doc), title="Facture"))

    def value(path: str) -> str:
        return str(root.xpath(f"string({path})", namespaces=NS))

    assert value("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == "urn:cen.eu:en16931:2017"
    assert value("//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert value("//rsm:ExchangedDocument/ram:ID") == "2023-000001"
    assert value("//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == "22330001300016"
    assert value("//ram:BuyerReference") == "DGAS-AUTONOMIE"
    assert value("//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "EJ-2023-000451"
    assert value("//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == SETTINGS.seller_siret
    assert value("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == "E"
    assert Decimal(value("//ram:GrandTotalAmount")) == Decimal("1875.00")
    assert value("//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == "20231015"


def test_the_facturx_file_is_one_pdf_1_6_without_a_leftover_of_the_drawn_one() -> None:
    """PDF/A-3 wants the header at byte 0 and nothing else before it: factur-x's generate_from_binary once left
    44 KB of the drawn PDF in front of the Factur-X one (a file twice its size, starting %PDF-1.4)."""
    doc = document("aide-domicile-departement-october.json")
    drawn = render_pdf(doc)
    pdf = facturx_pdf(drawn, cii_xml(doc), title="Facture")
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert pdf.startswith(b"%PDF-1.6\n")
    assert pdf.count(b"%PDF-") == 1
    assert pdf.count(b"%%EOF") == 1
    assert len(reader.pages) == len(PdfReader(io.BytesIO(drawn)).pages)
    assert list(reader.attachments) == ["factur-x.xml"]


def test_a_credit_note_references_the_invoice_it_cancels() -> None:
    invoice = document("handicap-departement.json")
    credit = credit_note_document(invoice, number="2023-000007", issued_on=date(2023, 9, 10),
                                  reason="session annulée par l'organisateur")
    pdf = facturx_pdf(render_pdf(credit), cii_xml(credit), title="Avoir")
    text = pdf_text(pdf)
    assert "AVOIR N° 2023-000007" in text
    assert "Avoir se rapportant à la facture n° 2023-000001. Motif : session annulée par l'organisateur" in text
    assert "Exonération de TVA – article 261-4-4° a du CGI" in text
    assert "Règlement par virement" not in text  # nothing to pay on a credit note
    assert "-1 190,00 €" in text
    root = embedded_xml(pdf)
    assert root.xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=NS) == "381"
    assert root.xpath("string(//ram:InvoiceReferencedDocument/ram:IssuerAssignedID)", namespaces=NS) == "2023-000001"


@pytest.mark.parametrize("form_file", sorted(p.name for p in FORMS.glob("*.json")))
def test_every_source_document_invoice_builds_a_valid_facturx(form_file: str) -> None:
    doc = document(form_file)
    embedded_xml(facturx_pdf(render_pdf(doc), cii_xml(doc), title="Facture"))
