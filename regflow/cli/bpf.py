"""Finance's yearly BPF figures (bilan pédagogique et financier, code du travail L6352-11, Cerfa 10443*17),
each labelled with the frame and line of the form it fills: `regflow bpf --year YEAR [--json|--csv]`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import Command, command, json_option
from regflow.cli.output import Column, clean, print_lines, print_table, to_json

if TYPE_CHECKING:
    from workflow.settings import Settings

COLUMNS = ("key", "frame", "line", "label", "value", "unit", "basis")
TABLE = (Column("cadre", "frame", 10), Column("ligne", "line", 9), Column("valeur", "value", 12, right=True),
         Column("unité", "unit", 10), Column("libellé", "label"))
NOTES = ("Produits (cadre C) : factures par date d'émission dans l'année, avoirs déduits à leur propre date ; "
         "la catégorie du client décide de la ligne.",
         "Stagiaires (cadre F-1) : places des séances tenues dans l'année, heures = minutes suivies / 60 ; sans "
         "feuille mesurée, un présent compte la journée de la plaquette, un absent rien.")


@command("bpf", "finance: the year's BPF figures (Cerfa 10443*17), each with the line of the form it fills",
         details="Revenue by kind of client (cadre C), trainees and hours followed (cadre F-1), distance training "
                 "(cadre B), and aids that are no line of the form (trainings, sessions held). The year runs "
                 "from 2000 to the current one (a year not over: its figures so far).",
         exclusive=[("as_json", "as_csv")])
@click.option("--year", required=True, metavar="YYYY", help="the calendar year reported, e.g. 2023")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="print it as CSV, for a spreadsheet")
def bpf(settings: Settings, *, year: str, as_json: bool, as_csv: bool) -> int:
    import csv
    from dataclasses import asdict

    from workflow.adapters.clocks import clock_from_spec
    from workflow.adapters.data_files import load_catalogue
    from workflow.domain.bpf import CERFA, bpf_year, figure_lines
    from workflow.domain.payment_rules import paris_date
    from workflow.ops.bpf import year_figures
    from workflow.persistence.db import make_engine, session_factory

    checked = bpf_year(year, paris_date(clock_from_spec(settings.clock).now()).year)  # BpfYearError: exit 2
    figures = year_figures(session_factory(make_engine(settings.database_url)),
                           load_catalogue(settings.catalogue_path).schedule, checked)
    rows = [asdict(line) for line in figure_lines(figures)]
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(clean(rows))
    elif as_json:
        print(to_json({"year": checked, "cerfa": CERFA, "lines": rows, "notes": list(NOTES)}))
    else:
        print(f"BPF {checked} · Cerfa {CERFA} (bilan pédagogique et financier, L6352-11)")
        print_table(TABLE, rows)
        print_lines("\n".join(NOTES))
    return 0


COMMANDS: tuple[Command, ...] = (bpf,)
