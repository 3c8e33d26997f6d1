"""The claim letter for late-payment interest (reportlab, French), in the invoices' font and layout."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from workflow.adapters.invoice_pdf import BOLD, FONT
from workflow.domain.form_rules import euros
from workflow.domain.interest_claim import ClaimLetter
from workflow.domain.payment_rules import INTEREST_PAYABLE_WITHIN_DAYS

_BODY = ParagraphStyle("claim-body", parent=getSampleStyleSheet()["Normal"], fontName=FONT, fontSize=10,
                       leading=13, splitLongWords=1)
_TITLE = ParagraphStyle("claim-title", parent=_BODY, fontName=BOLD, fontSize=13, leading=17)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _percent(value: object) -> str:
    return f"{value} %".replace(".", ",")


def render_claim_pdf(letter: ClaimLetter) -> bytes:
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"Intérêts moratoires {letter.number}",
                            author=letter.seller_lines[0], lang="fr-FR", initialFontName=FONT)
    parties = Table([[_p("\n".join(letter.seller_lines)), _p("\n".join(letter.buyer_lines))]],
                    colWidths=[85 * mm, 85 * mm],
                    style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    computation = Table([
        ["Facture", letter.invoice_number],
        ["Montant principal", euros(letter.principal)],
        ["Date d'échéance", f"{letter.due_on:%d/%m/%Y}"],
        ["Date de paiement du principal", f"{letter.paid_on:%d/%m/%Y}"],
        ["Jours de retard", str(letter.days_late)],
        ["Taux annuel", _percent(letter.percent)],
        ["Source du taux", _p(letter.rate_source)],
        ["Intérêts moratoires", euros(letter.interest)],
        [_p("Indemnité forfaitaire pour frais de recouvrement (CCP R2192-35)"), euros(letter.indemnity)],
        ["Total à payer", euros(letter.total)],
    ], colWidths=[85 * mm, 85 * mm], style=TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTNAME", (0, -1), (-1, -1), BOLD),
        ("GRID", (0, 0), (-1, -1), 0.4, "#999999"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    payment = (f"Règlement par virement sur le compte IBAN {letter.iban}, en rappelant la référence {letter.number}."
               if letter.iban else f"Règlement par virement, en rappelant la référence {letter.number}.")
    story: list[object] = [
        parties, Spacer(1, 10 * mm),
        _p(f"Demande de paiement d'intérêts moratoires N° {letter.number}", _TITLE),
        _p(f"Émise le {letter.issued_on:%d/%m/%Y}"), Spacer(1, 5 * mm),
        _p(f"Madame, Monsieur,\n\nLa facture {letter.invoice_number}, échue le {letter.due_on:%d/%m/%Y}, a été "
           f"réglée le {letter.paid_on:%d/%m/%Y}, soit {letter.days_late} jour(s) après son échéance. En application "
           "des articles R2192-31 à R2192-36 du code de la commande publique, ce retard fait courir de "
           "plein droit des intérêts moratoires et l'indemnité forfaitaire de 40 euros pour frais de recouvrement, "
           f"payables dans les {INTEREST_PAYABLE_WITHIN_DAYS} jours suivant la mise en paiement du principal."),
        Spacer(1, 4 * mm),
        _p("Intérêts = montant payé en retard × taux annuel × jours de retard / 365, pour chaque part payée en "
           "retard."),
        Spacer(1, 3 * mm), computation, Spacer(1, 6 * mm),
        _p(f"Merci de régler {euros(letter.total)} au plus tard le {letter.payable_by:%d/%m/%Y}. {payment}"),
        Spacer(1, 6 * mm), _p("Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées."),
    ]
    pdf.build(story)
    return buffer.getvalue()
