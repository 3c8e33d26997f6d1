"""Renders a certificat de réalisation to PDF (reportlab), as the Ministry's model lays it out: the body that
certifies, the trainee and the client, the action, its nature, dates and hours, the keeping commitment, place,
date and signatory. The fonts and the wrapping of long values are the invoice's (`invoice_pdf`): every value the
contracts accept is drawn, on as many lines as it takes."""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from workflow.adapters.email_message import french_date
from workflow.adapters.invoice_pdf import _BODY, _HEAD, _SMALL, _TITLE, FONT, _p
from workflow.domain.certificate import KEEPING, MODALITY, NATURE, CertificateDocument


def render_certificate(doc: CertificateDocument) -> bytes:
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"Certificat de réalisation {doc.number}",
                            author=doc.seller.name, subject=doc.title, lang="fr-FR", initialFontName=FONT)
    s = doc.seller
    facts = [("Intitulé de l'action", doc.title), ("Nature de l'action", NATURE), ("Modalité", MODALITY),
             ("Date", f"le {french_date(doc.session_day)} (une journée)"),
             ("Durée effectivement suivie", f"{doc.hours} (heures de formation suivies, pauses déduites)")]
    story: list[object] = [
        _p("Certificat de réalisation", _TITLE),
        _p(f"N° {doc.number}", _SMALL),
        Spacer(1, 6 * mm),
        _p(f"Je soussigné(e) {doc.signatory}, représentant(e) légal(e) de l'organisme de formation {s.name}, "
           f"{s.street}, {s.postal_code} {s.city}, SIRET {s.siret}, {s.activity_declaration},"),
        Spacer(1, 3 * mm),
        _p("atteste que :", _HEAD),
        _p(f"{doc.trainee}, salarié(e) ou agent de l'organisation {doc.client},"),
        _p("a suivi l'action suivante :"),
        Spacer(1, 2 * mm),
        Table([[_p(k), _p(v)] for k, v in facts], colWidths=[50 * mm, 120 * mm],
              style=TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)])),
        Spacer(1, 5 * mm),
        _p(KEEPING, _BODY),
        Spacer(1, 8 * mm),
        _p(f"Fait à {doc.place}, le {doc.issued_on:%d/%m/%Y}."),
        _p(f"{doc.signatory}, pour {s.name}"),
        Spacer(1, 4 * mm),
        _p("Certificat établi d'après la feuille d'émargement de la session et les relevés de connexion de la "
           "plate-forme de visioconférence (article R6313-3 du code du travail).", _SMALL),
    ]
    pdf.build(story)
    return buffer.getvalue()
