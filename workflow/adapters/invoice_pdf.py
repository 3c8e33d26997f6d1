"""Renders an InvoiceDocument to PDF (reportlab), then makes it a Factur-X PDF/A-3 with its EN 16931 XML.

Every value the contract accepts is drawn (schemas/limits.py): long values wrap, a word longer than its column is
split, and the parties' block is one table row per line so that it continues on the next page rather than raising
reportlab's LayoutError. The font is DejaVu Sans (Debian's fonts-dejavu-core), embedded as PDF/A asks, which
shows Latin of every language, Greek, Cyrillic, Armenian, Georgian, Hebrew and basic Arabic letters; scripts it
lacks (CJK, Devanagari, Thai, emoji...) are drawn as empty boxes, never an error. Without the font files the
standard Helvetica (Latin-1 only, not embedded) is used, with a warning.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import structlog
from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from workflow.domain.form_rules import euros
from workflow.domain.identifiers import grouped_by_four
from workflow.domain.invoice import OPERATION_CATEGORY, VAT_EXEMPTION, InvoiceDocument

log = structlog.get_logger("invoice_pdf")

# Where distributions put DejaVu Sans: Debian and Ubuntu (fonts-dejavu-core), Fedora, Arch, Alpine.
FONT_DIRECTORIES = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu-sans-fonts"),
                    Path("/usr/share/fonts/TTF"), Path("/usr/share/fonts/dejavu"))


def _register_fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans when its files are found, else Helvetica."""
    for folder in FONT_DIRECTORIES:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
            for italic in (0, 1):
                addMapping("DejaVuSans", 0, italic, "DejaVuSans")
                addMapping("DejaVuSans", 1, italic, "DejaVuSans-Bold")
            return "DejaVuSans", "DejaVuSans-Bold"
    log.warning("DejaVu Sans not found (apt-get install fonts-dejavu-core): invoices use Helvetica, which shows "
                "Latin-1 only and is not embedded", searched=[str(f) for f in FONT_DIRECTORIES])
    return "Helvetica", "Helvetica-Bold"


FONT, BOLD = _register_fonts()

_STYLES = getSampleStyleSheet()
# splitLongWords: a word wider than its column (a 200-character name without a space) is cut, not overflowing.
_BODY = ParagraphStyle("body", parent=_STYLES["Normal"], fontName=FONT, fontSize=9, leading=11.5, splitLongWords=1)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=7.5, leading=9.5)
_TITLE = ParagraphStyle("title", parent=_BODY, fontName=BOLD, fontSize=15, leading=18)
_HEAD = ParagraphStyle("head", parent=_BODY, fontName=BOLD, fontSize=10, leading=13, spaceBefore=6)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render_pdf(doc: InvoiceDocument) -> bytes:
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{doc.title} {doc.number}", author=doc.seller.name,
                            subject=doc.training_title, lang="fr-FR", initialFontName=FONT)
    s = doc.seller
    story: list[object] = [
        _parties(doc),
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
                           style=TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                             ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)])))
    story += [_p("Conditions de paiement", _HEAD), _p(doc.payment_terms), _p(doc.late_payment_terms)]
    if doc.seller.iban and doc.kind == "invoice":  # what a client paying by transfer types in (EN 16931 BG-17)
        story += [_p("Règlement par virement", _HEAD), _p(f"Titulaire du compte : {s.name}"),
                  _p(f"IBAN : {grouped_by_four(doc.seller.iban)}"),
                  *([_p(f"BIC : {doc.seller.bic}")] if doc.seller.bic else []),
                  _p(f"Référence à rappeler : facture n° {doc.number}")]
    # The reform's mentions; no delivery address: a webinar is delivered at a distance, where the client follows it.
    story += [Spacer(1, 2 * mm), _p(f"{OPERATION_CATEGORY}. {VAT_EXEMPTION}.", _SMALL)]
    story += [Spacer(1, 5 * mm), _p(s.activity_declaration + " (cet enregistrement ne vaut pas agrément de l'État).",
                                    _SMALL)]
    pdf.build(story)
    return buffer.getvalue()


_COLUMN = 87 * mm - 12  # a column of the parties' table, less the cells' padding (6 points each side)
_FIRST_ROW = A4[1] / 3


def _parties(doc: InvoiceDocument) -> Table:
    """Seller on the left, buyer on the right. The buyer's lines share the seller's row while they fit in a third of
    the page (always, for the addresses one meets), then take a row each: a value of the contract's length in wide
    glyphs wraps on a dozen lines, and a table continues on the next page between rows, where one cell holding the
    whole block could be taller than a page and not be drawn at all (LayoutError)."""
    s, b = doc.seller, doc.buyer
    seller = [s.name, s.street, f"{s.postal_code} {s.city}", f"Tél. {s.phone} – {s.email}", f"SIRET {s.siret}"]
    buyer = [b.name, b.street, *([b.complement] if b.complement else []), f"{b.postal_code} {b.city}"]
    if b.country != "FR":
        buyer.append(b.country)
    if b.siren and b.siret:
        buyer.append(f"SIREN {b.siren} – SIRET {b.siret}")
    if b.chorus_service_code:
        buyer.append(f"Code service Chorus Pro : {b.chorus_service_code}")
    if b.chorus_commitment_number:
        buyer.append(f"N° d'engagement : {b.chorus_commitment_number}")
    buyer += [f"À l'attention de {b.contact}", f"({b.contact_email})"]
    head = len(buyer)  # the whole block, measured once: it fits for every address one meets
    if _p("\n".join(buyer)).wrap(_COLUMN, A4[1])[1] > _FIRST_ROW:
        head = 1
        while head < len(buyer) and _p("\n".join(buyer[:head + 1])).wrap(_COLUMN, A4[1])[1] <= _FIRST_ROW:
            head += 1
    rows: list[list[object]] = [[_p("\n".join(seller)), _p("\n".join(buyer[:head]))],
                                *[["", _p(line)] for line in buyer[head:]]]
    return Table(rows, colWidths=[87 * mm, 87 * mm], style=TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))


def _lines_table(doc: InvoiceDocument) -> Table:
    sign = Decimal(-1) if doc.kind == "credit_note" else Decimal(1)
    rows: list[list[object]] = [["Désignation", "Quantité", "Prix unitaire net", "Montant net"]]
    rows += [[_p(line.description), str(line.quantity), euros(line.unit_price * sign), euros(line.total * sign)]
             for line in doc.lines]
    rows += [["", "", "Total net", euros(doc.total * sign)],
             [_p(VAT_EXEMPTION, _SMALL), "", "TVA", euros(Decimal("0.00"))],
             ["", "", "Net à payer" if doc.kind == "invoice" else "Montant de l'avoir", euros(doc.total * sign)]]
    return Table(rows, colWidths=[96 * mm, 18 * mm, 30 * mm, 30 * mm], style=TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTNAME", (0, 0), (-1, 0), BOLD), ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("LINEABOVE", (2, -3), (-1, -3), 0.5, colors.black),
        ("FONTNAME", (2, -1), (-1, -1), BOLD)]))
