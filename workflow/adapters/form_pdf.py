"""The registration form, pre-filled, as a PDF to print, stamp and sign (reportlab): the brochures' form with every
answer printed, the amount line computed, "Fait à / Le / Par" to write in and the "Signature et cachet" box. Its
reference (the registration's id) is printed on every page: a scan sent back is matched by it. Long values wrap as
on the invoice (`invoice_pdf`'s fonts and paragraphs)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from schemas.form import RegistrationForm
from workflow.adapters.email_message import french_date
from workflow.adapters.invoice_pdf import _HEAD, _SMALL, _TITLE, FONT, _p
from workflow.domain.form_rules import euros
from workflow.domain.invoice import Seller


@dataclass(frozen=True)
class FilledForm:
    reference: str  # the registration's id
    form: RegistrationForm
    training_title: str
    session_day: date
    unit_price: Decimal
    seller: Seller


def _grid(rows: list[list[str]], widths: list[float], *, header: bool = False) -> Table:
    style = [("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf2")))
    return Table([[_p(cell) for cell in row] for row in rows], colWidths=widths, style=TableStyle(style),
                 repeatRows=1 if header else 0)


def render_filled_form(doc: FilledForm) -> bytes:
    form, s = doc.form, doc.seller
    client, g, address = form.client, form.gestionnaire, form.client.address
    count = len(form.participants)
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title=f"Formulaire d'inscription {doc.reference}",
                            author=s.name, subject=doc.training_title, lang="fr-FR", initialFontName=FONT)
    lines = [line for line in (address.street, address.complement,
                               " ".join(p for p in (address.postal_code, address.city) if p)) if line]
    story: list[object] = [
        _p("Formulaire d'inscription", _TITLE),
        _p(f"{doc.training_title} — journée d'étude en visioconférence du {french_date(doc.session_day)}"),
        _p(f"Référence de l'inscription : {doc.reference}", _SMALL),
        _p("Organisme-client", _HEAD),
        _grid([["Dénomination", client.name or ""], ["Adresse postale", "\n".join(lines)],
               ["SIRET", client.siret or ""], ["Code service Chorus Pro", client.chorus_service_code or ""],
               ["Numéro d'engagement", client.chorus_commitment_number or ""],
               ["Dossier de preuves joint à la facture (Chorus Pro)",
                "oui" if client.chorus_attach_evidence else "non"]], [50 * mm, 124 * mm]),
        _p("Gestionnaire de l'inscription", _HEAD),
        _grid([["Adresse e-mail", g.email or ""],
               ["Prénom et NOM", " ".join(p for p in (g.first_name, g.last_name) if p)],
               ["Service", g.service or ""], ["Téléphone", g.phone or ""]], [50 * mm, 124 * mm]),
        _p("Participants", _HEAD),
        _grid([["Civilité", "Prénom", "NOM", "Adresse e-mail de connexion"],
               *([p.civilite or "", p.first_name or "", p.last_name or "", p.email or ""]
                 for p in form.participants)], [18 * mm, 38 * mm, 42 * mm, 76 * mm], header=True),
        Spacer(1, 4 * mm),
        _p(f"Montant net total des frais d'inscription = nombre de participants ( {count} ) x "
           f"{euros(doc.unit_price)} = {euros(doc.unit_price * count)}"),
        Spacer(1, 6 * mm),
        _grid([["Fait à", ""], ["Le", ""], ["Par (nom du signataire)", ""]], [50 * mm, 124 * mm]),
        Spacer(1, 3 * mm),
        Table([[_p("Signature et cachet")], [""]], colWidths=[174 * mm], rowHeights=[7 * mm, 38 * mm],
              style=TableStyle([("BOX", (0, 0), (-1, -1), 0.6, colors.black), ("FONTNAME", (0, 0), (-1, -1), FONT)])),
        Spacer(1, 4 * mm),
        _p(f"À renvoyer signé et revêtu du cachet de l'organisme à {s.email}, ou à déposer sur la page de suivi de "
           "l'inscription. La personne ayant procédé à l'inscription recevra un e-mail de confirmation et une "
           "facture (au format pdf).", _SMALL),
    ]

    def footer(canvas: Canvas, _doc: object) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(18 * mm, 10 * mm, f"{s.name} — SIRET {s.siret} — {s.activity_declaration}"[:150])
        canvas.drawRightString(A4[0] - 18 * mm, 6 * mm, f"Réf. {doc.reference} — page {canvas.getPageNumber()}")
        canvas.restoreState()

    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
