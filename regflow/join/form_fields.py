"""The online registration form's fields, as the brochures' form lays them out, and the form they make (pure).

A field's HTML name is its path in `RegistrationForm` (`client.name`, `participants[2].email`): the rules'
messages (`RuleViolation.field`) then land next to the field they concern. Rows of participants are added and
removed by the form's own buttons (`action=add`, `action=remove:N`), so the page works without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from schemas.form import ClientCategory
from schemas.limits import FIELD_MAX_LENGTH, MAX_PARTICIPANTS


@dataclass(frozen=True)
class Field:
    path: str
    fr: str
    en: str
    kind: str = "text"  # the input's type: text, email, tel
    hint: str = ""

    @property
    def maxlength(self) -> int:
        return FIELD_MAX_LENGTH[self.path]


CLIENT = (
    Field("client.name", "Dénomination", "Name"),
    Field("client.address.street", "Adresse postale (numéro et voie)", "Street address"),
    Field("client.address.complement", "Complément d'adresse (facultatif)", "Address line 2 (optional)"),
    Field("client.address.postal_code", "Code postal", "Postal code"),
    Field("client.address.city", "Ville", "City"),
    Field("client.siret", "SIRET (14 chiffres ; obligatoire pour un organisme public)", "SIRET",
          hint="Un organisme public reçoit sa facture par Chorus Pro."),
    Field("client.chorus_service_code", "Code service Chorus Pro (si votre organisme l'exige)", "Chorus Pro service"),
    Field("client.chorus_commitment_number", "Numéro d'engagement (si votre organisme l'exige)", "Commitment number"),
)
GESTIONNAIRE = (
    Field("gestionnaire.email", "Adresse e-mail", "E-mail", "email",
          hint="La confirmation et la facture (PDF) y seront envoyées."),
    Field("gestionnaire.first_name", "Prénom", "First name"),
    Field("gestionnaire.last_name", "NOM", "Last name"),
    Field("gestionnaire.service", "Service", "Department"),
    Field("gestionnaire.phone", "Téléphone", "Phone", "tel"),
)
PARTICIPANT = ("civilite", "first_name", "last_name", "email")
CATEGORIES = {  # the form's words for each kind of client (code de la commande publique, R2192-10 and R2192-11)
    ClientCategory.LOCAL_AUTHORITY: "Collectivité territoriale (Département, région, commune)",
    ClientCategory.STATE: "Service de l'État",
    ClientCategory.STATE_PUBLIC_ESTABLISHMENT: "Établissement public de l'État (ARS…)",
    ClientCategory.LOCAL_PUBLIC_ESTABLISHMENT: "Établissement public local (CCAS, EHPAD public non hospitalier…)",
    ClientCategory.PUBLIC_HEALTH_ESTABLISHMENT: "Établissement public de santé (hôpital, EHPAD hospitalier)",
    ClientCategory.PUBLIC_ENTERPRISE: "Entreprise publique",
    ClientCategory.ASSOCIATION: "Association, fondation (droit privé, non lucratif)",
    ClientCategory.COMPANY: "Entreprise (droit privé)",
}
_ROW = re.compile(r"^participants\[(\d{1,3})\]\.(civilite|first_name|last_name|email)$")
Row = dict[str, str]


def rows_of(sent: Mapping[str, str]) -> list[Row]:
    """The participants' rows as sent, in their order; at most MAX_PARTICIPANTS, every row with its four fields."""
    found: dict[int, Row] = {}
    for name, value in sent.items():
        matched = _ROW.fullmatch(name)
        if matched and int(matched.group(1)) < MAX_PARTICIPANTS:
            found.setdefault(int(matched.group(1)), dict.fromkeys(PARTICIPANT, ""))[matched.group(2)] = value
    return [found[i] for i in sorted(found)] or [dict.fromkeys(PARTICIPANT, "")]


def apply_action(rows: list[Row], action: str) -> list[Row]:
    """`add`: one more empty row (up to MAX_PARTICIPANTS); `remove:N`: row N taken out (one row always stays)."""
    if action == "add" and len(rows) < MAX_PARTICIPANTS:
        return [*rows, dict.fromkeys(PARTICIPANT, "")]
    removed = re.fullmatch(r"remove:(\d{1,3})", action)
    if removed and int(removed.group(1)) < len(rows) and len(rows) > 1:
        return [r for i, r in enumerate(rows) if i != int(removed.group(1))]
    return rows


def filled(rows: list[Row]) -> list[Row]:
    """The rows someone wrote in: an empty row is the form's spare line, not a participant."""
    return [r for r in rows if any(v.strip() for v in r.values())]


def form_data(sent: Mapping[str, str], rows: list[Row], *, training_id: str, session_id: str,
              price: Decimal) -> dict[str, Any]:
    """The `RegistrationForm` the page's fields make, unsigned: the count and the total are the page's own (the
    number of participants written in, times the catalogue's price), as the brochure's line computes them."""
    data: dict[str, Any] = {"training_id": training_id, "session_id": session_id}
    for one in (*CLIENT, *GESTIONNAIRE):
        value = sent.get(one.path, "")
        if value.strip():
            node = data
            *parents, leaf = one.path.split(".")
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = value
    category = sent.get("client.category", "")
    if category:
        data.setdefault("client", {})["category"] = category
    if sent.get("client.chorus_attach_evidence") == "1":
        data.setdefault("client", {})["chorus_attach_evidence"] = True
    participants = [{k: v for k, v in r.items() if v.strip()} for r in filled(rows)]
    data["participants"] = participants
    data["declared_participant_count"] = len(participants)
    data["declared_total"] = str(price * len(participants))
    return data
