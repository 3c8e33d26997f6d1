"""Renders a session's evidence pack (`workflow.ops.evidence`) to PDF: the session, how service fait was
recorded, the trainer's signed attestation with the sheet's SHA-256, the sheet per participant and half-day with
the connection evidence beside it, the certificates. The invoice's fonts and wrapping (`invoice_pdf`)."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from workflow.adapters.invoice_pdf import _BODY, _HEAD, _SMALL, _TITLE, BOLD, FONT, _p

PRESENCE = {"present": "présent", "partial": "partiel", "absent": "absent"}
_GRID = TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTNAME", (0, 0), (-1, 0), BOLD),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)])


def render_evidence(pack: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"Dossier de preuves {pack['session_id']}",
                            subject=pack["title"], lang="fr-FR", initialFontName=FONT)
    parts = " et ".join(f"{p['from']}–{p['to']}" for p in pack["parts"])
    story: list[object] = [
        _p("Dossier de preuves de réalisation", _TITLE),
        _p(f"{pack['title']} — séance {pack['session_id']} du {pack['date']} ({parts}, heure de Paris), à distance. "
           f"Formateur : {pack['trainer'] or 'non renseigné'}."),
        _p("Preuves de réalisation d'une formation à distance (articles R6313-3 et D6313-3-1 du code du travail) : "
           "relevés de connexion et attestation signée du formateur.", _SMALL),
        Spacer(1, 3 * mm), _p("Service fait", _HEAD), _p(_service_fait(pack)),
        _p("Attestation du formateur", _HEAD), *_signature(pack),
        _p("Feuille d'émargement et relevés de connexion", _HEAD), _sheet(pack),
        _p(f"Lignes du rapport de la plate-forme sans participant : {pack['unmatched_report_lines']}.", _SMALL),
        _p("Certificats de réalisation", _HEAD), _certificates(pack),
    ]
    pdf.build(story)
    return buffer.getvalue()


def _service_fait(pack: dict[str, Any]) -> str:
    record = pack["service_fait"]
    if record is None:
        return "Pas encore enregistré."
    how = ("sur la feuille d'émargement signée" if record["evidence"] == "signed_sheet"
           else f"par les opérations, sans feuille signée : {record['reason']}")
    return f"Enregistré le {record['recorded_at'][:10]} pour le {record['held_on']}, {how} ({record['recorded_by']})."


def _signature(pack: dict[str, Any]) -> list[object]:
    signed = pack["signature"]
    if signed is None:
        return [_p("La feuille n'est pas signée : les présences ci-dessous sont celles des relevés de connexion.")]
    return [_p(signed["attestation"]),
            _p(f"Signé par {signed['signer_name']} ({signed['signed_by']}) le {signed['signed_at'][:16]} UTC."),
            _p(f"Empreinte SHA-256 de la feuille signée : {signed['sheet_sha256']}", _SMALL)]


def _sheet(pack: dict[str, Any]) -> Table:
    head = ["Participant", "Inscription", *(f"{p['from']}–{p['to']}" for p in pack["parts"]), "Journée",
            "Ouvertures du lien", "Rapport : lignes, minutes connectées"]
    rows: list[list[object]] = [[_p(h, _BODY) for h in head]]
    for person in pack["participants"]:
        marks = [f"{PRESENCE[m['presence']]}, {m['minutes']} min" for m in person["marks"]]
        rows.append([_p(f"{person['name']}\n{person['email']}"), _p(person["registration_id"]), *map(_p, marks),
                     _p(f"{PRESENCE[person['presence']]}, {person['minutes_followed']} min"),
                     _p(", ".join(t[11:16] for t in person["link_openings"]) or "aucune"),
                     _p(f"{person['report_lines']} ; {' + '.join(map(str, person['connected_minutes']))} min")])
    if len(rows) == 1:
        rows.append([_p("Aucun participant."), *([""] * (len(head) - 1))])
    widths = [62 * mm, 38 * mm, *([33 * mm] * len(pack["parts"])), 30 * mm, 30 * mm, 31 * mm]
    return Table(rows, colWidths=widths, style=_GRID, repeatRows=1)


def _certificates(pack: dict[str, Any]) -> Table:
    rows: list[list[object]] = [[_p(h) for h in ("Participant", "Heures suivies", "Certificat n°", "Émis le")]]
    rows += [[_p(c["trainee"]), _p(c["hours"]), _p(c["number"]), _p(c["issued_on"])] for c in pack["certificates"]]
    if len(rows) == 1:
        rows.append([_p("Aucun certificat émis."), "", "", ""])
    return Table(rows, colWidths=[100 * mm, 40 * mm, 60 * mm, 40 * mm], style=_GRID, repeatRows=1)
