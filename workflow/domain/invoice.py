"""What an invoice or a credit note says: every mandatory mention, as data. Pure: no PDF, no database.

Sources: CGI annexe II art. 242 nonies A (mentions, numbering), code de commerce L441-9 and L441-10
(due date, late-payment penalties, 40 € indemnity), CGI art. 261-4-4° a (VAT exemption of continuing
professional training), code du travail R6351-6 (activity declaration number) and D6353-1 (what a
training agreement, or the approved order standing for it, states).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from schemas.form import RegistrationForm
from workflow.domain.catalogue import Catalogue, SessionDate, Training
from workflow.domain.form_rules import euros
from workflow.domain.payment_rules import PRIVATE_PENALTY_MARGIN, PUBLIC_INTEREST_MARGIN, payment_deadline_days

# CGI art. 261-4-4° a exempts continuing vocational training: the invoice states the exemption and its basis
# (CGI annexe II art. 242 nonies A, I-12°). "TVA non applicable, art. 293 B" is the small-business franchise,
# another regime. EN 16931 BT-120 carries the text, BT-121 the code: VAT Directive 2006/112/EC art. 132-1 (i)
# (vocational training), in the CEF VATEX list; the list's VATEX-FR codes are for the franchise, not for this.
VAT_EXEMPTION = "Exonération de TVA – article 261-4-4° a du CGI"
VAT_EXEMPTION_CODE = "VATEX-EU-132-1I"
# One of the mentions the e-invoicing reform adds to CGI annexe II art. 242 nonies A (with the client's SIREN,
# the delivery address when it differs and the option for VAT on debits): the category of the operation, goods,
# services or both. A webinar is a service. The French CIUS codes it as the
# first letter of the billing framework BT-23 ("S1": an invoice for services).
OPERATION_CATEGORY = "Catégorie d'opération : prestation de services"


@dataclass(frozen=True)
class Seller:
    name: str
    street: str
    postal_code: str
    city: str
    siret: str
    activity_number: str
    activity_region: str
    email: str
    phone: str
    iban: str | None = None  # the payee's account (EN 16931 BT-84), checked by the settings
    bic: str | None = None  # its bank (BT-86)

    @property
    def siren(self) -> str:
        """The first 9 digits of a SIRET are the company's SIREN (INSEE)."""
        return self.siret[:9]

    @property
    def activity_declaration(self) -> str:
        """Code du travail R6351-6: the number and the prefect it was registered with."""
        return (f"Déclaration d'activité enregistrée sous le numéro {self.activity_number} auprès du "
                f"préfet de région {self.activity_region}")


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Buyer:
    name: str
    street: str
    postal_code: str
    city: str
    siret: str | None
    is_public: bool
    chorus_service_code: str | None
    chorus_commitment_number: str | None
    contact: str
    contact_email: str
    complement: str | None = None  # the address's second line (bâtiment, BP, service...)
    country: str = "FR"  # ISO 3166-1 alpha-2, as the form's address gives it

    @property
    def siren(self) -> str | None:
        """The reform's mention of the client's SIREN: the first 9 digits of its SIRET, when it gave one."""
        return self.siret[:9] if self.siret else None


@dataclass(frozen=True)
class InvoiceDocument:
    kind: str  # "invoice" | "credit_note"
    number: str
    issued_on: date
    seller: Seller
    buyer: Buyer
    registration_id: str
    training_title: str
    session_label: str
    lines: list[Line]
    due_on: date
    payment_terms: str
    late_payment_terms: str
    participants: list[str]
    agreement: list[tuple[str, str]] = field(default_factory=list)
    agreement_mention: str | None = None
    credited_invoice: str | None = None
    credited_invoice_issued_on: date | None = None  # EN 16931 BT-26, beside BT-25 the credited invoice's number
    reason: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))

    @property
    def title(self) -> str:
        return "AVOIR" if self.kind == "credit_note" else "FACTURE"

    def mentions(self) -> list[str]:
        """Every legal mention, in the order the PDF prints them (tests read the PDF against this)."""
        buyer_siren = [f"SIREN du client : {self.buyer.siren}"] if self.buyer.siren else []
        return [self.seller.activity_declaration, f"SIRET {self.seller.siret}", *buyer_siren, OPERATION_CATEGORY,
                VAT_EXEMPTION, self.payment_terms, self.late_payment_terms]


def buyer_of(form: RegistrationForm) -> Buyer:
    client, g = form.client, form.gestionnaire
    return Buyer(
        name=client.name or "", street=client.address.street or "", postal_code=client.address.postal_code or "",
        city=client.address.city or "", siret=client.siret,
        is_public=bool(client.category and client.category.is_public),
        chorus_service_code=client.chorus_service_code, chorus_commitment_number=client.chorus_commitment_number,
        contact=f"{g.first_name} {g.last_name}, {g.service}", contact_email=g.email or "",
        complement=client.address.complement or None, country=(client.address.country or "FR").strip().upper())


def session_label(catalogue: Catalogue, session: SessionDate) -> str:
    parts = ", ".join(f"{p.start:%Hh%M}–{p.end:%Hh%M}" for p in catalogue.schedule.parts)
    return f"{session.date:%d/%m/%Y}, {parts} (heure de Paris), à distance"


def payment_terms(form: RegistrationForm, due_on: date, session_date: date) -> str:
    """Private clients pay on receipt; public ones by the rules of public accounting (the brochures)."""
    category = form.client.category
    days = payment_deadline_days(category) if category is not None else None
    if days is None:
        return f"Payable à réception de facture, au plus tard le {due_on:%d/%m/%Y}, par virement."
    return (f"Payable selon les règles de la comptabilité publique : délai global de paiement de {days} jours "
            f"à compter de la réception de la facture ou, s'il est postérieur, du service fait (session du "
            f"{session_date:%d/%m/%Y}) – code de la commande publique, art. R2192-10 à R2192-13. "
            f"Échéance indicative : {due_on:%d/%m/%Y}.")


def late_payment_terms(is_public: bool) -> str:
    if is_public:
        return (f"En cas de retard : intérêts moratoires au taux BCE + {PUBLIC_INTEREST_MARGIN} points "
                "(CCP art. R2192-31) et indemnité forfaitaire pour frais de recouvrement de 40 € (art. R2192-35).")
    return (f"En cas de retard : pénalités au taux BCE + {PRIVATE_PENALTY_MARGIN} points, exigibles dès le "
            "lendemain de l'échéance sans rappel, et indemnité forfaitaire pour frais de recouvrement de 40 € "
            "(code de commerce, art. L441-10 et D441-5).")


def agreement_block(catalogue: Catalogue, training: Training, session: SessionDate, form: RegistrationForm,
                    total: Decimal) -> list[tuple[str, str]]:
    """What a training agreement states (code du travail D6353-1), when the invoice stands for one."""
    hours = catalogue.schedule.training_duration.total_seconds() / 3600
    signature = form.signature
    approved = (f"formulaire d'inscription signé à {signature.place} le {signature.signed_on:%d/%m/%Y} par "
                f"{signature.signatory}" if signature and signature.signed_on else "formulaire d'inscription signé")
    return [
        ("Intitulé", training.title),
        ("Objectif", training.objective),
        ("Dates et horaires", session_label(catalogue, session)),
        ("Durée", f"{hours:g} heures de formation"),
        ("Modalités", f"{training.format} ; plate-forme de vidéoconférence ; dossier documentaire adressé avant "
                      "la session ; échanges oraux et écrits avec l'intervenant"),
        ("Intervenant", training.speaker),
        ("Prix", f"{euros(training.price_per_participant)} net par participant, soit {euros(total)}"),
        ("Commande approuvée", approved),
    ]


def invoice_document(*, number: str, issued_on: date, due_on: date, seller: Seller, registration_id: str,
                     form: RegistrationForm, catalogue: Catalogue, training: Training, session: SessionDate,
                     agreement_mention: str) -> InvoiceDocument:
    buyer = buyer_of(form)
    participants = [f"{p.civilite} {p.first_name} {p.last_name}" for p in form.participants]
    lines = [Line(f"{training.title} – session du {session.date:%d/%m/%Y} – frais d'inscription par participant",
                  len(form.participants), training.price_per_participant)]
    total = lines[0].total
    is_agreement = training.invoice_is_training_agreement
    return InvoiceDocument(
        kind="invoice", number=number, issued_on=issued_on, seller=seller, buyer=buyer,
        registration_id=registration_id, training_title=training.title,
        session_label=session_label(catalogue, session), lines=lines, due_on=due_on,
        payment_terms=payment_terms(form, due_on, session.date), late_payment_terms=late_payment_terms(buyer.is_public),
        participants=participants,
        agreement=agreement_block(catalogue, training, session, form, total) if is_agreement else [],
        agreement_mention=agreement_mention if is_agreement else None)


def credit_note_document(invoice: InvoiceDocument, *, number: str, issued_on: date, reason: str) -> InvoiceDocument:
    """An avoir cancelling the whole invoice it references (CGI: an issued invoice is never deleted)."""
    return InvoiceDocument(
        kind="credit_note", number=number, issued_on=issued_on, seller=invoice.seller, buyer=invoice.buyer,
        registration_id=invoice.registration_id, training_title=invoice.training_title,
        session_label=invoice.session_label,
        lines=[Line(f"Annulation de la facture n° {invoice.number} – {line.description}", line.quantity,
                    line.unit_price) for line in invoice.lines],
        due_on=issued_on, payment_terms=f"Avoir sur la facture n° {invoice.number} du {invoice.issued_on:%d/%m/%Y} : "
                                        "montant remboursé ou déduit, sans pénalité.",
        late_payment_terms=invoice.late_payment_terms, participants=invoice.participants,
        credited_invoice=invoice.number, credited_invoice_issued_on=invoice.issued_on, reason=reason)


def invoice_number(year: int, sequence: int) -> str:
    """One continuous chronological sequence per year, e.g. 2026-000123.

    CGI annexe II art. 242 nonies A: a unique number, in a continuous chronological sequence; separate
    yearly series are allowed (BOI-TVA-DECLA-30-20-20-10, § 290).
    """
    if sequence < 1:
        raise ValueError(f"invoice sequence starts at 1, got {sequence}")
    return f"{year}-{sequence:06d}"
