"""Renders an InvoiceDocument to PDF (reportlab), then makes it a Factur-X PDF/A-3 with its EN 16931 XML."""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from workflow.form_rules import euros
from workflow.invoice_document import InvoiceDocument

_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["Normal"], fontName="Helvetica", fontSize=9, leading=11.5)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=7.5, leading=9.5)
_TITLE = ParagraphStyle("title", parent=_BODY, fontName="Helvetica-Bold", fontSize=15, leading=18)
_HEAD = ParagraphStyle("head", parent=_BODY, fontName="Helvetica-Bold", fontSize=10, leading=13, spaceBefore=6)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render_pdf(doc: InvoiceDocument) -> bytes:
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{doc.title} {doc.number}", author=doc.seller.name,
                            subject=doc.training_title, lang="fr-FR")
    s, b = doc.seller, doc.buyer
    seller = (f"{s.name}\n{s.street}\n{s.postal_code} {s.city}\nTél. {s.phone} – {s.email}\n"
              f"SIRET {s.siret}")
    buyer_lines = [b.name, b.street, f"{b.postal_code} {b.city}"]
    if b.siret:
        buyer_lines.append(f"SIRET {b.siret}")
    if b.chorus_service_code:
        buyer_lines.append(f"Code service Chorus Pro : {b.chorus_service_code}")
    if b.chorus_commitment_number:
        buyer_lines.append(f"N° d'engagement : {b.chorus_commitment_number}")
    buyer_lines.append(f"À l'attention de {b.contact} ({b.contact_email})")
    story: list[object] = [
        Table([[_p(seller), _p("\n".join(buyer_lines))]], colWidths=[87 * mm, 87 * mm],
              style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])),
        Spacer(1, 8 * mm),
        _p(f"{doc.title} N° {doc.number}", _TITLE),
        _p(f"Date d'émission : {doc.issued_on:%d/%m/%Y}    Échéance : {doc.due_on:%d/%m/%Y}    "
           f"Référence d'inscription : {doc.registration_id}"),
    ]
    if doc.credited_invoice:
        story.append(_p(f"Avoir se rapportant à la facture n° {doc.credited_invoice}. Motif : {doc.reason}"))
    story += [Spacer(1, 4 * mm), _lines_table(doc), Spacer(1, 3 * mm),
              _p(f"Participants : {', '.join(doc.participants)}"),
              _p(f"Session : {doc.session_label}")]
    if doc.agreement:
        story.append(_p(doc.agreement_mention or "Convention de formation simplifiée", _HEAD))
        story.append(Table([[_p(k), _p(v)] for k, v in doc.agreement], colWidths=[35 * mm, 139 * mm],
                           style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                             ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)])))
    story += [_p("Conditions de paiement", _HEAD), _p(doc.payment_terms), _p(doc.late_payment_terms)]
    if doc.seller.iban:
        story.append(_p(f"IBAN : {doc.seller.iban}"))
    story += [Spacer(1, 5 * mm), _p(s.activity_declaration + " (cet enregistrement ne vaut pas agrément de l'État).",
                                    _SMALL)]
    pdf.build(story)
    return buffer.getvalue()


def _lines_table(doc: InvoiceDocument) -> Table:
    sign = Decimal(-1) if doc.kind == "credit_note" else Decimal(1)
    rows: list[list[object]] = [["Désignation", "Quantité", "Prix unitaire net", "Montant net"]]
    rows += [[_p(line.description), str(line.quantity), euros(line.unit_price * sign), euros(line.total * sign)]
             for line in doc.lines]
    rows += [["", "", "Total net", euros(doc.total * sign)],
             [_p("TVA non applicable – article 261-4-4° a du CGI", _SMALL), "", "TVA", euros(Decimal("0.00"))],
             ["", "", "Net à payer" if doc.kind == "invoice" else "Montant de l'avoir", euros(doc.total * sign)]]
    return Table(rows, colWidths=[96 * mm, 18 * mm, 30 * mm, 30 * mm], style=TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("LINEABOVE", (2, -3), (-1, -3), 0.5, colors.black),
        ("FONTNAME", (2, -1), (-1, -1), "Helvetica-Bold")]))
