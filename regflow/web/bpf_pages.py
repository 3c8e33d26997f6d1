"""Finance's page of the BPF figures (bilan pédagogique et financier, code du travail L6352-11, Cerfa 10443*17):
the same figures as `regflow bpf` (`workflow.ops.bpf`), each with the frame and line of the form it fills; in
French first. `?year=YYYY`, checked as `--year` is (400 and why, never a traceback); without it, last year, the
one filed in the spring."""

from __future__ import annotations

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from regflow.web.auth import requires
from regflow.web.context import back_office, pages
from regflow.web.users import Role
from workflow.domain.bpf import CERFA, FIRST_YEAR, BpfYearError, bpf_year, figure_lines
from workflow.domain.payment_rules import paris_date
from workflow.ops.bpf import year_figures

FRAMES = {
    "B": "Cadre B — Informations générales",
    "C": "Cadre C — Bilan financier hors taxes : origine des produits de l'organisme",
    "F-1": "Cadre F-1 — Type de stagiaires de l'organisme",
    "F-3": "Cadre F-3 — Objectif général des prestations dispensées",
    "hors Cerfa": "Hors Cerfa — aides au remplissage, sans ligne du formulaire",
}


@pages.get("/bpf")
@requires(Role.FINANCE)
def bpf() -> ResponseReturnValue:
    office = back_office()
    current = paris_date(office.clock.now()).year
    asked = request.args.get("year")
    try:
        year = max(FIRST_YEAR, current - 1) if asked is None else bpf_year(asked, current)
    except BpfYearError as refused:
        abort(400, str(refused))
    lines = figure_lines(year_figures(office.sessions, office.schedule, year))
    sections = [(title, [line for line in lines if line.frame == frame]) for frame, title in FRAMES.items()]
    return render_template("bpf.html", year=year, years=range(current, FIRST_YEAR - 1, -1), cerfa=CERFA,
                           sections=[(title, found) for title, found in sections if found])
