"""The named rules of the registration form. Pure: the date of today is a parameter.

Each rule returns every violation it finds, with the path of the field and a message in French (for
the person who filled the form) and in English (for operations). `check_form` runs them all, so a
rejection lists every error at once, not just the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel

from schemas.form import RegistrationForm
from schemas.limits import FIELD_MAX_LENGTH, MAX_PARTICIPANTS, field_key, quoted
from schemas.messages import RuleViolation
from workflow.domain.catalogue import Catalogue, SessionDate, SessionState
from workflow.domain.form_limits import (
    amount_format,
    amount_in_range,
    bounded,
    country_code,
    field_characters,
    field_length,
    participant_limit,
)
from workflow.domain.identifiers import (
    is_digits,
    is_valid_siret,
    normalise_email,
    normalise_french_phone,
)
from workflow.domain.rule_kit import Context, Rule, blank, violation
from workflow.domain.signature_rules import signature_date, signature_method, signature_place, signature_signatory

CIVILITES = ("Mme", "M.")
_M = TypeVar("_M", bound=BaseModel)


def euros(amount: Decimal) -> str:
    """French amount: '1 190,00 €'."""
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + " €"


def _too_long(path: str, value: object) -> bool:
    """Over its contract length: `field_length` reports it, the other rules do not parse it."""
    return isinstance(value, str) and len(value) > 2 * FIELD_MAX_LENGTH.get(field_key(path), 0) + 20


_amount_in_range = amount_in_range


# --- rules ---------------------------------------------------------------------------------------


def required(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'required': every field of the registration form is filled (the seeds' form, DOMAIN.md), and at
    least one participant is listed. Blank strings count as missing."""
    fields: list[tuple[str, object, str]] = [
        ("training_id", form.training_id, "la formation"),
        ("session_id", form.session_id, "la session choisie"),
        ("client.name", form.client.name, "la dénomination de l'organisme"),
        ("client.address.street", form.client.address.street, "l'adresse postale (voie)"),
        ("client.address.postal_code", form.client.address.postal_code, "le code postal"),
        ("client.address.city", form.client.address.city, "la commune"),
        ("client.category", form.client.category, "la nature juridique de l'organisme"),
        ("gestionnaire.email", form.gestionnaire.email, "l'adresse e-mail du gestionnaire"),
        ("gestionnaire.first_name", form.gestionnaire.first_name, "le prénom du gestionnaire"),
        ("gestionnaire.last_name", form.gestionnaire.last_name, "le nom du gestionnaire"),
        ("gestionnaire.service", form.gestionnaire.service, "le service du gestionnaire"),
        ("gestionnaire.phone", form.gestionnaire.phone, "le téléphone du gestionnaire"),
    ]
    for index, participant in enumerate(form.participants):
        fields += [
            (f"participants[{index}].civilite", participant.civilite, f"la civilité du participant n°{index + 1}"),
            (f"participants[{index}].first_name", participant.first_name,
             f"le prénom du participant n°{index + 1}"),
            (f"participants[{index}].last_name", participant.last_name, f"le nom du participant n°{index + 1}"),
            (f"participants[{index}].email", participant.email,
             f"l'adresse e-mail de connexion du participant n°{index + 1}"),
        ]
    fields += [
        ("declared_participant_count", form.declared_participant_count, "le nombre de participants"),
        ("declared_total", form.declared_total, "le montant net total"),
    ]
    for path, value, label in fields:
        if blank(value):
            yield violation("required", path, f"Champ obligatoire manquant : {label}.",
                             f"{path} is required")
    if not form.participants:
        yield violation("required", "participants", "Le formulaire doit indiquer au moins un participant.",
                         "participants: at least one participant is required")


def postal_code_format(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'postal_code_format': a French postal code has 5 digits (La Poste); other countries are not checked."""
    code = (form.client.address.postal_code or "").strip()
    if code and form.client.address.country.upper() == "FR" and not (len(code) == 5 and is_digits(code)):
        yield violation("postal_code_format", "client.address.postal_code",
                         f"Le code postal « {quoted(code)} » doit compter 5 chiffres.",
                         f"client.address.postal_code must have 5 digits: '{quoted(code)}'")


def email_syntax(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'email_syntax': the gestionnaire's and each participant's e-mail is an address (the invoice and
    the invitations go there)."""
    addresses = [("gestionnaire.email", form.gestionnaire.email, "du gestionnaire")]
    addresses += [(f"participants[{i}].email", p.email, f"du participant n°{i + 1}")
                  for i, p in enumerate(form.participants)]
    for path, value, whose in addresses:
        # Surrounding spaces are a copy-paste artefact that normalise_form removes, not a wrong address.
        if not blank(value) and not _too_long(path, value) and normalise_email(str(value).strip()) is None:
            yield violation("email_syntax", path,
                             f"L'adresse e-mail {whose} n'est pas une adresse unique valide : « {quoted(value)} ».",
                             f"{path} is not one valid e-mail address: '{quoted(value)}'")


def phone_format(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'phone_format': the gestionnaire's phone is French, 0X XX XX XX XX or +33 X XX XX XX XX (the form)."""
    phone = form.gestionnaire.phone
    if not blank(phone) and not _too_long("gestionnaire.phone", phone) and normalise_french_phone(str(phone)) is None:
        yield violation("phone_format", "gestionnaire.phone",
                         f"Le téléphone « {quoted(phone)} » n'est pas un numéro français (0X XX XX XX XX ou "
                         "+33 X XX XX XX XX).",
                         f"gestionnaire.phone is not a French phone number: '{quoted(phone)}'")


def civilite(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'civilite': 'Mme' or 'M.', the two boxes of the form's participant table."""
    for index, participant in enumerate(form.participants):
        if not blank(participant.civilite) and participant.civilite not in CIVILITES:
            yield violation("civilite", f"participants[{index}].civilite",
                             f"La civilité du participant n°{index + 1} doit être « Mme » ou « M. » "
                             f"(reçu : « {quoted(participant.civilite)} »).",
                             f"participants[{index}].civilite must be 'Mme' or 'M.': "
                             f"'{quoted(participant.civilite)}'")


def duplicate_participant(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'duplicate_participant': one login e-mail per participant (case-insensitive), because each one
    receives their own invitation link. The second occurrence is the error."""
    seen: dict[str, int] = {}
    for index, participant in enumerate(form.participants):
        if blank(participant.email):
            continue
        key = str(participant.email).strip().lower()
        if key in seen:
            yield violation("duplicate_participant", f"participants[{index}].email",
                             f"Le participant n°{index + 1} a la même adresse de connexion que le "
                             f"participant n°{seen[key] + 1} : « {quoted(participant.email)} ».",
                             f"participants[{index}].email repeats participants[{seen[key]}].email")
        else:
            seen[key] = index


def session_exists(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'session_exists': the training is one of the catalogue's (the brochures)."""
    if not blank(form.training_id) and ctx.catalogue.training(str(form.training_id)) is None:
        yield violation("session_exists", "training_id",
                         f"La formation « {quoted(form.training_id)} » n'existe pas au catalogue.",
                         f"training_id '{quoted(form.training_id)}' is not in the catalogue")


def session_offered(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'session_offered': the session is one of the dates offered for that training (one box ticked on
    the form). Silent when the training is unknown: session_exists already says so."""
    training = ctx.catalogue.training(str(form.training_id)) if form.training_id else None
    if training is None or blank(form.session_id):
        return
    if all(s.id != form.session_id for s in training.sessions):
        offered = ", ".join(s.date.strftime("%d/%m/%Y") for s in training.sessions)
        yield violation("session_offered", "session_id",
                         f"La session « {quoted(form.session_id)} » n'est pas proposée pour cette formation "
                         f"(dates proposées : {offered}).",
                         f"session_id '{quoted(form.session_id)}' is not a session of training '{training.id}'")


def session_open(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'session_open' and its named cases: the session takes forms only while operations keep it open and
    until its last registration day.

    'session_open': the session is past or today. Registrations close the day before at the latest: the
    invitations, the invoice and the agreement must all reach the client before it starts.
    'session_cancelled': the organiser cancelled it (its registrations were cancelled and credited).
    'session_closed': operations closed its registrations, or it was already held.
    'session_deadline': its registration deadline, set by operations, has passed.
    """
    session = _chosen_session(form, ctx)
    if session is None:
        return
    on = f"{session.date:%d/%m/%Y}"
    if session.state is SessionState.CANCELLED:
        yield violation("session_cancelled", "session_id",
                         f"La session du {on} est annulée : elle n'accepte plus d'inscription.",
                         f"session_id: the session of {session.date} is cancelled")
    elif session.date <= ctx.today:
        yield violation("session_open", "session_id",
                         f"La session du {on} est passée ou a lieu aujourd'hui : les inscriptions sont closes.",
                         f"session_id: the session of {session.date} is past, registrations are closed")
    elif session.state is not SessionState.OPEN:
        yield violation("session_closed", "session_id",
                         f"Les inscriptions à la session du {on} sont closes.",
                         f"session_id: registrations to the session of {session.date} are closed")
    elif ctx.today > session.last_registration_day:
        yield violation("session_deadline", "session_id",
                         f"La date limite d'inscription à la session du {on} "
                         f"({session.last_registration_day:%d/%m/%Y}) est passée.",
                         f"session_id: the registration deadline of the session of {session.date} "
                         f"({session.last_registration_day}) has passed")


def _chosen_session(form: RegistrationForm, ctx: Context) -> SessionDate | None:
    """The form's session when it is one of its training's (else 'session_exists' / 'session_offered' speak)."""
    found = ctx.catalogue.session(str(form.session_id)) if form.session_id else None
    return found[1] if found is not None and found[0].id == form.training_id else None


def session_full(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'session_full': the participants listed fit in the seats left (capacity less the participants of
    the session's other registrations still holding a seat). A full session rejects the form rather than
    keeping a waiting list: support raises the capacity and the same form goes through validation again."""
    session = _chosen_session(form, ctx)
    if session is None or session.capacity is None:
        return
    left = max(session.capacity - ctx.seats_taken.get(session.id, 0), 0)
    if len(form.participants) > left:
        yield violation("session_full", "participants",
                         f"La session du {session.date:%d/%m/%Y} est complète : il reste {left} place(s) pour "
                         f"{len(form.participants)} participant(s) inscrit(s).",
                         f"participants: the session of {session.date} is full: {left} seat(s) left for "
                         f"{len(form.participants)} participant(s)")


def participant_count_matches(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'participant_count_matches': the form's 'nombre de participants' is the number listed. Silent
    with no participant listed: 'required' already reports it."""
    declared = form.declared_participant_count
    if (declared is not None and 0 < declared <= MAX_PARTICIPANTS and form.participants
            and declared != len(form.participants)):
        yield violation("participant_count_matches", "declared_participant_count",
                         f"Le nombre de participants déclaré ({declared}) ne correspond pas aux "
                         f"{len(form.participants)} participants inscrits.",
                         f"declared_participant_count is {declared}, {len(form.participants)} are listed")


def total_matches(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'total_matches': montant net total = participants listed x catalogue price, to the cent (exact
    Decimal, never floats; the form states both, they must agree)."""
    training = ctx.catalogue.training(str(form.training_id)) if form.training_id else None
    if training is None or not _amount_in_range(form.declared_total) or not form.participants:
        return
    assert form.declared_total is not None
    expected = training.price_per_participant * len(form.participants)
    if form.declared_total != expected:
        yield violation("total_matches", "declared_total",
                         f"Le montant total déclaré ({euros(form.declared_total)}) devrait être "
                         f"{len(form.participants)} x {euros(training.price_per_participant)} = "
                         f"{euros(expected)}.",
                         f"declared_total is {form.declared_total}, expected {expected} "
                         f"({len(form.participants)} x {training.price_per_participant})")


def siret_format(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'siret_format': a SIRET, when given, is 14 digits with a valid Luhn key (INSEE; La Poste's
    exception handled in workflow.domain.identifiers)."""
    siret = form.client.siret
    if not blank(siret) and not is_valid_siret(str(siret)):
        yield violation("siret_format", "client.siret",
                         f"Le SIRET « {quoted(siret)} » n'est pas valide (14 chiffres avec une clé de contrôle).",
                         f"client.siret is not a valid SIRET (14 digits, Luhn key): '{quoted(siret)}'")


def siret_required_public(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'siret_required_public': a public-law client is invoiced through Chorus Pro, which identifies the
    buyer by its SIRET (code de la commande publique L2192-1: e-invoicing of public buyers; L2192-5:
    the portail public de facturation)."""
    if form.client.category is not None and form.client.category.is_public and blank(form.client.siret):
        yield violation("siret_required_public", "client.siret",
                         "Le SIRET est obligatoire pour un organisme public : sans lui, la facture ne peut "
                         "pas être déposée sur Chorus Pro.",
                         "client.siret is required for a public-law client: it cannot be invoiced through "
                         "Chorus Pro without it")


RULES: tuple[Rule, ...] = (
    field_length, field_characters, country_code, amount_format, participant_limit,
    required, postal_code_format, email_syntax, phone_format, civilite, duplicate_participant,
    session_exists, session_offered, session_open, session_full, participant_count_matches, total_matches,
    siret_format, siret_required_public, signature_place, signature_date, signature_signatory,
    signature_method,
)


def check_form(form: RegistrationForm, catalogue: Catalogue, today: date,
               seats_taken: Mapping[str, int] | None = None) -> list[RuleViolation]:
    """Every violation of every rule, in the order of RULES then of the form's fields, so that the
    person who filled the form sees all errors at once.

    The signature rules apply only to a signed form: an unsigned one is valid and waits for its signature.
    `seats_taken`: per session, the participants other registrations hold (the rule of a full session).
    """
    ctx = Context(catalogue, today, seats_taken or {})
    return bounded([violation for rule in RULES for violation in rule(form, ctx)])


def already_registered_warnings(form: RegistrationForm, registered_emails: set[str]) -> list[RuleViolation]:
    """'participant_already_registered': a participant already registered to the same session by another
    registration. A warning only (a colleague may have registered them too; support decides).

    `registered_emails` are the login e-mails of the session's other registrations; compared stripped and
    lower-cased on both sides.
    """
    registered = {e.strip().lower() for e in registered_emails}
    return [RuleViolation(
        rule="participant_already_registered", field=f"participants[{i}].email", severity="warning",
        message_fr=f"Le participant n°{i + 1} ({p.email}) est déjà inscrit à cette session par une autre "
                   "inscription.",
        message_en=f"participants[{i}].email {p.email} is already registered to this session")
        for i, p in enumerate(form.participants) if p.email and p.email.strip().lower() in registered]
