"""The registration form of the source documents, as a message contract.

The schema checks *shape* only (types, known fields). Business rules (required fields, e-mail and
phone syntax, SIRET key, totals...) are checked by the validation consumer, so that a person who
filled the form wrong gets a rejection listing every error instead of a message lost in a
dead-letter queue. That is why most leaves are optional here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """Base of every contract: unknown fields are a producer bug, not data to drop silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Civilite(StrEnum):
    MME = "Mme"
    M = "M."


class ClientCategory(StrEnum):
    """What kind of body the client is: it decides how and when it pays.

    Public categories follow the code de la commande publique, art. R2192-10 and R2192-11.
    """

    STATE = "state"  # services de l'État
    LOCAL_AUTHORITY = "local_authority"  # collectivité territoriale: Département, région, commune
    STATE_PUBLIC_ESTABLISHMENT = "state_public_establishment"  # ARS and other EP de l'État
    LOCAL_PUBLIC_ESTABLISHMENT = "local_public_establishment"  # CCAS, EP locaux (public EHPAD not EPS)
    PUBLIC_HEALTH_ESTABLISHMENT = "public_health_establishment"  # hôpital, EHPAD EPS (R2192-11 1°)
    PUBLIC_ENTERPRISE = "public_enterprise"  # entreprise publique (R2192-11 2°)
    ASSOCIATION = "association"  # private law, non-profit (most SAAD and ESMS operators)
    COMPANY = "company"  # private law, for-profit

    @property
    def is_public(self) -> bool:
        return self not in (ClientCategory.ASSOCIATION, ClientCategory.COMPANY)


class SignatureMethod(StrEnum):
    STAMP = "stamp"  # "cachet de la collectivité" on a scanned form
    ELECTRONIC = "electronic"  # a dematerialised signature platform


class PostalAddress(Contract):
    street: str | None = None
    complement: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str = "FR"


class ClientOrganisation(Contract):
    """Organisme-client: dénomination, adresse postale, and what the invoice needs."""

    name: str | None = Field(default=None, description="Dénomination")
    address: PostalAddress = PostalAddress()
    category: ClientCategory | None = None
    siret: str | None = Field(default=None, description="14 digits; required for public-law clients")
    chorus_service_code: str | None = Field(default=None, description="Chorus Pro 'code service'")
    chorus_commitment_number: str | None = Field(default=None, description="Numéro d'engagement")
    chorus_attach_evidence: bool = Field(
        default=False, description="The buyer asks for the session's evidence pack (attendance, signed attestation, "
                                   "certificates) beside its invoice on Chorus Pro, once service fait is recorded")


class Gestionnaire(Contract):
    """Gestionnaire de l'inscription: the person who registered and receives the invoice."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    service: str | None = None
    phone: str | None = None


class Participant(Contract):
    civilite: str | None = Field(default=None, description="'Mme' or 'M.'")
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = Field(default=None, description="Adresse e-mail de connexion (one invitation)")


class Signature(Contract):
    """Fait à / le / par, and how it was signed (stamp or electronic platform)."""

    place: str | None = Field(default=None, description="Fait à")
    signed_on: date | None = Field(default=None, description="Le")
    signatory: str | None = Field(default=None, description="Par (nom du signataire)")
    method: SignatureMethod | None = None
    electronic_reference: str | None = Field(
        default=None, description="Reference given by the electronic-signature platform"
    )


class RegistrationForm(Contract):
    """One 'formulaire d'inscription', as filled by the client."""

    training_id: str | None = None
    session_id: str | None = None
    client: ClientOrganisation = ClientOrganisation()
    gestionnaire: Gestionnaire = Gestionnaire()
    participants: list[Participant] = []
    declared_participant_count: int | None = Field(default=None, description="nombre de participants")
    declared_total: Decimal | None = Field(default=None, description="Montant net total, in euros")
    signature: Signature | None = Field(default=None, description="Absent while the form is unsigned")
