"""The figures of the bilan pédagogique et financier (code du travail L6352-11, Cerfa 10443) that the data
supports, from rows the queries hand over (`workflow.ops.bpf`): no I/O, rows in, figures out.

The form is Cerfa 10443*17, its lines as read from (re-read the notice on service-public.fr before filing):
- CAERP's BPF specification `Cerfa_10443_17` (its INCOME_SOURCES and TRAINEE_TYPES; "*17 vs *16: remote
  trainees count f_1_ligne_1bis removed, b_ligne_2 added: distance actions yes/no");
- QualiOF's design note "Génération du BPF (Cerfa 10443*17)", whose cadres B, C, F-1 and F-3 labels were read
  from a filed 10443*17 (mention FA 08);
- ANFH, "Bilan pédagogique et financier : nouvelle version 2017" (anfh.fr/actualites/bilan-pedagogique-et-
  financier-nouvelle-version-2017): cadre C "Origine des produits", cadre F-3 "Objectif général".

Rules, each tested (tests/unit/test_bpf.py):
- revenue (cadre C): invoices by their issue date in the year, less the credit notes issued in the year (by
  their own date, whichever year the invoice), on the line of the client's category (`REVENUE_LINE_OF`);
  hors taxes is the invoiced amount, the trainings being VAT-exempt (CGI art. 261-4-4° a);
- trainees (cadre F-1): the seats of the sessions held in the year, one per session attended; hours followed =
  minutes_followed / 60; without measured minutes (service fait recorded by operations, no signed sheet) a
  present participant is credited with the brochure's day (6 h), an absent one with none; a participant absent
  all day followed nothing and is not a trainee; the line is the client's category (`TRAINEE_LINE_OF`);
- distance (cadre B): a session is at a distance when its training's format says so or it has a video room.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from schemas.form import ClientCategory
from schemas.limits import quoted

CERFA = "10443*17"
FIRST_YEAR = 2000
CENTS = Decimal("0.01")
NO_CERTIFICATION = "le catalogue ne vise aucune certification (RNCP, RS), ni bilan de compétences, ni VAE"
DISTANCE_WORDS = ("distance", "distanciel", "webinaire", "webinar", "classe virtuelle", "visio", "e-learning",
                  "en ligne")


class BpfYearError(ValueError):
    """A year the BPF cannot be asked for (not four digits, before 2000, after the current year)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(f"{fr} / {en}")
        self.fr, self.en = fr, en


def bpf_year(text: str, current_year: int) -> int:
    """The year typed (`--year`, `?year=`), checked: four ASCII digits, from FIRST_YEAR to the current year
    (a year not over gives the figures so far)."""
    value = text.strip()
    if not re.fullmatch(r"[0-9]{4}", value) or not FIRST_YEAR <= int(value) <= current_year:
        raise BpfYearError(f"année « {quoted(text)} » invalide : de {FIRST_YEAR} à {current_year}, quatre chiffres",
                           f"invalid year '{quoted(text)}': {FIRST_YEAR} to {current_year}, four digits")
    return int(value)


class RevenueLine(StrEnum):
    """Cadre C, "Bilan financier hors taxes : origine des produits de l'organisme", line by line."""

    C1 = "1"  # des entreprises pour la formation de leurs salariés
    C2 = "2"  # des organismes gestionnaires des fonds de la formation (lines a to h: OPCO, CPF...)
    C3 = "3"  # des pouvoirs publics pour la formation de leurs agents (État, collectivités, EPA)
    C4 = "4"  # pouvoirs publics pour la formation de publics spécifiques: instances européennes
    C5 = "5"  # ... État
    C6 = "6"  # ... conseils régionaux
    C7 = "7"  # ... France Travail (ex Pôle emploi)
    C8 = "8"  # ... autres ressources publiques
    C9 = "9"  # de contrats conclus avec des personnes à titre individuel et à leurs frais
    C10 = "10"  # de contrats conclus avec d'autres organismes de formation (y compris CFA)
    C11 = "11"  # autres produits au titre de la formation professionnelle


REVENUE_LABELS = {
    RevenueLine.C1: "Produits des entreprises pour la formation de leurs salariés",
    RevenueLine.C2: "Produits des organismes gestionnaires des fonds de la formation professionnelle (a à h)",
    RevenueLine.C3: "Produits des pouvoirs publics pour la formation de leurs agents (État, collectivités "
                    "territoriales, établissements publics à caractère administratif)",
    RevenueLine.C4: "Pouvoirs publics pour des publics spécifiques : instances européennes",
    RevenueLine.C5: "Pouvoirs publics pour des publics spécifiques : État",
    RevenueLine.C6: "Pouvoirs publics pour des publics spécifiques : conseils régionaux",
    RevenueLine.C7: "Pouvoirs publics pour des publics spécifiques : France Travail (ex Pôle emploi)",
    RevenueLine.C8: "Pouvoirs publics pour des publics spécifiques : autres ressources publiques",
    RevenueLine.C9: "Contrats conclus avec des personnes à titre individuel et à leurs frais",
    RevenueLine.C10: "Contrats conclus avec d'autres organismes de formation (y compris CFA)",
    RevenueLine.C11: "Autres produits au titre de la formation professionnelle",
}

# The form's category decides the line. Line 3 names the State, the collectivités territoriales and the
# établissements publics à caractère administratif training their own agents; a company, an association or a
# public enterprise training its staff is line 1. No client of ours is an OPCO (line 2: nothing is invoiced
# to a funder in subrogation), an individual (9) or another training body (10).
REVENUE_LINE_OF: dict[ClientCategory, RevenueLine] = {
    ClientCategory.STATE: RevenueLine.C3,  # services de l'État
    ClientCategory.LOCAL_AUTHORITY: RevenueLine.C3,  # Département, région, commune
    ClientCategory.STATE_PUBLIC_ESTABLISHMENT: RevenueLine.C3,  # ARS: établissement public administratif
    ClientCategory.LOCAL_PUBLIC_ESTABLISHMENT: RevenueLine.C3,  # CCAS, EHPAD public: EP administratifs locaux
    ClientCategory.PUBLIC_HEALTH_ESTABLISHMENT: RevenueLine.C3,  # EPS, public law (CSP L6141-1), public agents
    ClientCategory.PUBLIC_ENTERPRISE: RevenueLine.C1,  # EPIC, SEM: an entreprise, not an EPA; staff salariés
    ClientCategory.ASSOCIATION: RevenueLine.C1,  # private-law employer of its salariés
    ClientCategory.COMPANY: RevenueLine.C1,
}


class TraineeLine(StrEnum):
    """Cadre F-1, "Type de stagiaires de l'organisme"."""

    A = "a"  # salariés d'employeurs privés hors apprentis
    B = "b"  # apprentis
    C = "c"  # personnes en recherche d'emploi formées par votre organisme
    D = "d"  # particuliers à leurs propres frais formés par votre organisme
    E = "e"  # autres stagiaires


TRAINEE_LABELS = {
    TraineeLine.A: "Salariés d'employeurs privés hors apprentis",
    TraineeLine.B: "Apprentis",
    TraineeLine.C: "Personnes en recherche d'emploi formées par votre organisme de formation",
    TraineeLine.D: "Particuliers à leurs propres frais formés par votre organisme de formation",
    TraineeLine.E: "Autres stagiaires",
}

# Every participant is registered by their employer. A private employer's staff (company, association, and a
# public enterprise's staff under the code du travail) are line a: the form records no apprentice, none is
# assumed. The agents of the State, of a collectivité or of a public establishment have no line of their own
# since 10443*16 ("salariés d'employeurs publics" went): line e.
TRAINEE_LINE_OF: dict[ClientCategory, TraineeLine] = {
    ClientCategory.STATE: TraineeLine.E,
    ClientCategory.LOCAL_AUTHORITY: TraineeLine.E,
    ClientCategory.STATE_PUBLIC_ESTABLISHMENT: TraineeLine.E,
    ClientCategory.LOCAL_PUBLIC_ESTABLISHMENT: TraineeLine.E,
    ClientCategory.PUBLIC_HEALTH_ESTABLISHMENT: TraineeLine.E,
    ClientCategory.PUBLIC_ENTERPRISE: TraineeLine.A,
    ClientCategory.ASSOCIATION: TraineeLine.A,
    ClientCategory.COMPANY: TraineeLine.A,
}


def _category(value: str | None) -> ClientCategory | None:
    try:
        return ClientCategory(value or "")
    except ValueError:
        return None


@dataclass(frozen=True)
class Issued:
    """An invoice or a credit note as issued (a credit note's total is positive, as printed)."""

    number: str
    issued_on: date
    total: Decimal
    category: str | None  # the client's ClientCategory value; None or another text: not known
    credit_note: bool = False


@dataclass(frozen=True)
class HeldSession:
    session_id: str
    training_id: str | None
    held_on: date
    training_format: str | None
    join_url: str | None

    @property
    def at_a_distance(self) -> bool:
        """Distance when the training's format says so or operations set its video room (the join service's
        302): the catalogue has no venue, so nothing else would be a sign of a room."""
        text = (self.training_format or "").casefold()
        return bool(self.join_url) or any(word in text for word in DISTANCE_WORDS)


@dataclass(frozen=True)
class Seat:
    """A participant's seat in a session held, with the presence service fait recorded."""

    session_id: str
    email: str
    category: str | None
    presence: str  # present | partial | absent
    minutes_followed: int | None  # None: operations' word, nothing measured


@dataclass
class Trainees:
    count: int = 0
    minutes: int = 0

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(CENTS)


@dataclass
class BpfFigures:
    year: int
    revenue: dict[RevenueLine, Decimal] = field(default_factory=lambda: dict.fromkeys(RevenueLine, Decimal("0.00")))
    unclassified_documents: list[str] = field(default_factory=list)  # numbers whose client category is unknown
    unclassified_revenue: Decimal = Decimal("0.00")
    trainees: dict[TraineeLine, Trainees] = field(default_factory=lambda: {line: Trainees() for line in TraineeLine})
    unclassified_trainees: Trainees = field(default_factory=Trainees)
    absent: int = 0  # seats absent all day: no hours, not trainees
    day_credited: Trainees = field(default_factory=Trainees)  # seats credited with the brochure's day
    persons: int = 0  # distinct e-mails among the trainees
    trainings: int = 0
    sessions: int = 0
    distance_sessions: int = 0
    distance_minutes: int = 0
    day_minutes: int = 0

    @property
    def revenue_total(self) -> Decimal:
        return sum(self.revenue.values(), Decimal("0.00")) + self.unclassified_revenue

    @property
    def trainees_total(self) -> Trainees:
        every = [*self.trainees.values(), self.unclassified_trainees]
        return Trainees(sum(t.count for t in every), sum(t.minutes for t in every))


def _minutes(seat: Seat, day_minutes: int) -> int:
    if seat.presence == "absent":
        return 0
    return day_minutes if seat.minutes_followed is None else max(seat.minutes_followed, 0)


def bpf_figures(year: int, documents: Iterable[Issued], held: Iterable[HeldSession], seats: Iterable[Seat], *,
                day_minutes: int) -> BpfFigures:
    """The year's figures. `day_minutes`: the brochure's day of training (360), credited to a present
    participant when nothing was measured."""
    figures = BpfFigures(year, day_minutes=day_minutes)
    for doc in (d for d in documents if d.issued_on.year == year):
        amount = -doc.total if doc.credit_note else doc.total
        category = _category(doc.category)
        if category is None:
            figures.unclassified_revenue += amount
            figures.unclassified_documents.append(doc.number)
        else:
            figures.revenue[REVENUE_LINE_OF[category]] += amount
    sessions = {s.session_id: s for s in held if s.held_on.year == year}
    figures.sessions = len(sessions)
    figures.trainings = len({s.training_id or s.session_id for s in sessions.values()})
    figures.distance_sessions = sum(s.at_a_distance for s in sessions.values())
    persons: set[str] = set()
    for seat in (s for s in seats if s.session_id in sessions):
        minutes = _minutes(seat, day_minutes)
        if minutes == 0:
            figures.absent += 1
            continue
        category = _category(seat.category)
        counted = figures.unclassified_trainees if category is None else figures.trainees[TRAINEE_LINE_OF[category]]
        counted.count, counted.minutes = counted.count + 1, counted.minutes + minutes
        if seat.minutes_followed is None:
            figures.day_credited.count += 1
            figures.day_credited.minutes += minutes
        if sessions[seat.session_id].at_a_distance:
            figures.distance_minutes += minutes
        persons.add(seat.email.strip().lower())
    figures.persons = len(persons)
    return figures


@dataclass(frozen=True)
class FigureLine:
    """One figure, labelled with the frame and line of the Cerfa it fills ("hors Cerfa": an aid, no line)."""

    key: str  # stable, for scripts: "C-1", "F-1a-stagiaires"...
    frame: str
    line: str
    label: str
    value: Decimal | int | str
    unit: str
    basis: str


def _share(part: int, whole: int) -> Decimal:
    return (Decimal(100 * part) / whole).quantize(Decimal("0.1")) if whole else Decimal("0.0")


def figure_lines(f: BpfFigures) -> list[FigureLine]:
    """Every figure in the order of the form, then the aids that are no line of it."""
    by_date = "factures par date d'émission dans l'année, moins les avoirs émis dans l'année"
    lines = [FigureLine("B-exercice", "B", "", "Exercice comptable", f"du 01/01/{f.year} au 31/12/{f.year}", "",
                        "année civile"),
             FigureLine("B-distance", "B", "", "Actions de formation en tout ou partie à distance",
                        "oui" if f.distance_sessions else "non", "oui/non",
                        f"{f.distance_sessions} séance(s) à distance sur {f.sessions} tenue(s) dans l'année")]
    for line, amount in f.revenue.items():
        mapped = [c.value for c, target in REVENUE_LINE_OF.items() if target is line]
        lines.append(FigureLine(f"C-{line.value}", "C", line.value, REVENUE_LABELS[line], amount.quantize(CENTS),
                                "EUR HT", f"{by_date} ; clients {', '.join(mapped)}" if mapped
                                else "aucune catégorie de client sur cette ligne"))
    if f.unclassified_documents:
        lines.append(FigureLine("C-non-classe", "C", "?", "Catégorie de client inconnue : à ranger à la main",
                                f.unclassified_revenue.quantize(CENTS), "EUR HT",
                                ", ".join(f.unclassified_documents)))
    lines.append(FigureLine("C-total", "C", "Total", "Total des produits réalisés au titre de la formation "
                            "professionnelle (1 à 11)", f.revenue_total.quantize(CENTS), "EUR HT",
                            "exonérées de TVA (CGI art. 261-4-4° a) : HT = montant facturé"))
    seats = "une place suivie dans une séance tenue dans l'année (heures = minutes suivies / 60)"
    for kind, counted in f.trainees.items():
        label = TRAINEE_LABELS[kind]
        mapped = [c.value for c, target in TRAINEE_LINE_OF.items() if target is kind]
        basis = f"{seats} ; clients {', '.join(mapped)}" if mapped else "aucun stagiaire de ce type"
        lines += [FigureLine(f"F-1{kind.value}-stagiaires", "F-1", kind.value, f"{label} : nombre de stagiaires",
                             counted.count, "stagiaires", basis),
                  FigureLine(f"F-1{kind.value}-heures", "F-1", kind.value, f"{label} : heures de formation suivies",
                             counted.hours, "heures", basis)]
    if f.unclassified_trainees.count:
        lines.append(FigureLine("F-1-non-classe", "F-1", "?", "Catégorie de client inconnue : à ranger à la main",
                                f.unclassified_trainees.count, "stagiaires", f"{f.unclassified_trainees.hours} h"))
    total = f.trainees_total
    credited = (f"dont {f.day_credited.count} place(s) sans minutes mesurées créditée(s) de la journée "
                f"({f.day_minutes // 60} h) ; {f.absent} absent(s) toute la journée, non compté(s)")
    lines += [FigureLine("F-1-total-stagiaires", "F-1", "Total (1)", "Total : nombre de stagiaires", total.count,
                         "stagiaires", credited),
              FigureLine("F-1-total-heures", "F-1", "Total (1)", "Total : heures de formation suivies", total.hours,
                         "heures", credited),
              FigureLine("F-3d-stagiaires", "F-3", "d", "Autres formations professionnelles : nombre de stagiaires",
                         total.count, "stagiaires", NO_CERTIFICATION),
              FigureLine("F-3d-heures", "F-3", "d", "Autres formations professionnelles : heures suivies",
                         total.hours, "heures", NO_CERTIFICATION)]
    aid = "hors Cerfa"
    lines += [FigureLine("formations", aid, "", "Formations dont une séance a été tenue", f.trainings, "formations",
                         "séances tenues (service fait) dans l'année"),
              FigureLine("seances", aid, "", "Séances tenues", f.sessions, "séances", "date du service fait"),
              FigureLine("heures-dispensees", aid, "", "Heures de formation dispensées (aide au cadre E)",
                         (Decimal(f.sessions * f.day_minutes) / 60).quantize(CENTS), "heures",
                         f"séances × {f.day_minutes // 60} h ; formateurs internes ou sous-traitants : non enregistré"),
              FigureLine("part-distance-seances", aid, "", "Part des séances à distance",
                         _share(f.distance_sessions, f.sessions), "%", "format de la formation ou salle de visio"),
              FigureLine("part-distance-heures", aid, "", "Part des heures suivies à distance",
                         _share(f.distance_minutes, total.minutes), "%", "heures-stagiaires des séances à distance"),
              FigureLine("personnes", aid, "", "Personnes distinctes formées", f.persons, "personnes",
                         "adresses e-mail distinctes parmi les stagiaires")]
    return lines
