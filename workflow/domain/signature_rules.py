"""The rules of the signature block ("Fait à", "Le", "Par", the stamp or the e-signature's reference): they apply
only to a signed form; an unsigned one is valid and waits for its signature."""

from __future__ import annotations

from collections.abc import Iterator

from schemas.form import RegistrationForm
from schemas.messages import RuleViolation
from workflow.domain.rule_kit import Context, blank, violation


def signature_place(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'signature_place': a signed form says where ('Fait à')."""
    if form.signature is not None and blank(form.signature.place):
        yield violation("signature_place", "signature.place", "Le lieu de signature (« Fait à ») manque.",
                         "signature.place is required on a signed form")


def signature_date(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'signature_date': a signed form is dated ('Le'), and not after today."""
    if form.signature is None:
        return
    signed_on = form.signature.signed_on
    if signed_on is None:
        yield violation("signature_date", "signature.signed_on", "La date de signature (« Le ») manque.",
                         "signature.signed_on is required on a signed form")
    elif signed_on > ctx.today:
        yield violation("signature_date", "signature.signed_on",
                         f"La date de signature ({signed_on:%d/%m/%Y}) est dans le futur.",
                         f"signature.signed_on {signed_on} is in the future")


def signature_signatory(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'signature_signatory': a signed form names its signatory ('Par')."""
    if form.signature is not None and blank(form.signature.signatory):
        yield violation("signature_signatory", "signature.signatory", "Le nom du signataire manque.",
                         "signature.signatory is required on a signed form")


def signature_method(form: RegistrationForm, ctx: Context) -> Iterator[RuleViolation]:
    """'signature_method': stamped ('cachet de la collectivité'), or signed electronically, then with
    the signature platform's reference so that the signature can be traced."""
    if form.signature is None:
        return
    if form.signature.method is None:
        yield violation("signature_method", "signature.method",
                         "Le formulaire doit porter le cachet de l'organisme ou une signature électronique.",
                         "signature.method is required: 'stamp' or 'electronic'")
    elif form.signature.method == "electronic" and blank(form.signature.electronic_reference):
        yield violation("signature_method", "signature.electronic_reference",
                         "La référence de la signature électronique manque.",
                         "signature.electronic_reference is required for an electronic signature")
