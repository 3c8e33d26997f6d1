"""An invoice's life on an e-invoicing platform (Chorus Pro for public buyers; an approved platform, PA, for
private ones from September 2026-2027): the statuses that come back, what each asks of us, and the routing a
buyer requires before anything is sent. Pure: no I/O, no clock.

Statuses are Chorus Pro's own codes (`statut` / `statutFacture` of `rechercher/fournisseur`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class PlatformStatus(StrEnum):
    DEPOSEE = "DEPOSEE"
    EN_COURS_ACHEMINEMENT = "EN_COURS_ACHEMINEMENT"
    MISE_A_DISPOSITION = "MISE_A_DISPOSITION"
    SUSPENDUE = "SUSPENDUE"
    COMPLETEE = "COMPLETEE"
    A_RECYCLER = "A_RECYCLER"
    REJETEE = "REJETEE"
    SERVICE_FAIT = "SERVICE_FAIT"
    MANDATEE = "MANDATEE"
    MISE_A_DISPOSITION_COMPTABLE = "MISE_A_DISPOSITION_COMPTABLE"
    COMPTABILISEE = "COMPTABILISEE"
    MISE_EN_PAIEMENT = "MISE_EN_PAIEMENT"


LABELS_FR: dict[PlatformStatus, str] = {
    PlatformStatus.DEPOSEE: "déposée", PlatformStatus.EN_COURS_ACHEMINEMENT: "en cours d'acheminement",
    PlatformStatus.MISE_A_DISPOSITION: "mise à disposition", PlatformStatus.SUSPENDUE: "suspendue",
    PlatformStatus.COMPLETEE: "complétée", PlatformStatus.A_RECYCLER: "à recycler",
    PlatformStatus.REJETEE: "rejetée", PlatformStatus.SERVICE_FAIT: "service fait",
    PlatformStatus.MANDATEE: "mandatée", PlatformStatus.MISE_A_DISPOSITION_COMPTABLE: "mise à disposition comptable",
    PlatformStatus.COMPTABILISEE: "comptabilisée", PlatformStatus.MISE_EN_PAIEMENT: "mise en paiement"}

# Nothing changes after these: the poll stops asking.
FINAL = frozenset({PlatformStatus.REJETEE, PlatformStatus.MISE_EN_PAIEMENT})
# Shown to finance with the expected payment date.
PAYMENT_UNDER_WAY = frozenset({PlatformStatus.MANDATEE, PlatformStatus.MISE_A_DISPOSITION_COMPTABLE,
                               PlatformStatus.COMPTABILISEE, PlatformStatus.MISE_EN_PAIEMENT})


class PlatformAnswerError(ValueError):
    """What the platform (or a status file) answered is not one of the shapes documented: kept on the deposit,
    never taken for a status."""


class DepositCorrectionError(ValueError):
    """A correction asked for a document that is not in a state to take it (told in French and English)."""


def platform_status(code: object) -> PlatformStatus:
    if not isinstance(code, str) or code not in PlatformStatus.__members__:
        raise PlatformAnswerError(f"unknown platform status {str(code)[:40]!r}")
    return PlatformStatus(code)


@dataclass(frozen=True)
class StatusReport:
    """The platform's current status of one deposited document: when it took it (`at`, aware), its reason (a
    rejection's or suspension's motive) and the expected payment date when the platform gives one."""

    status: PlatformStatus
    at: datetime
    reason: str | None = None
    expected_payment_on: date | None = None


@dataclass(frozen=True)
class BuyerRequirements:
    """What a buyer structure requires on its invoices (Chorus Pro `structures/v1/consulter` → `parametres`:
    `codeServiceDoitEtreRenseigne`, `numeroEJDoitEtreRenseigne`, `gestionNumeroEJOuCodeService`)."""

    service_code: bool = False
    commitment_number: bool = False
    service_code_or_commitment: bool = False


@dataclass(frozen=True)
class HoldReason:
    code: str
    fr: str
    en: str

    def text(self) -> str:
        return f"{self.code}: {self.fr} / {self.en}"


MISSING_SERVICE_CODE = HoldReason("missing_service_code", "l'acheteur exige un code service (BT-10), absent",
                                  "the buyer requires a service code (BT-10), missing")
MISSING_COMMITMENT = HoldReason("missing_commitment_number",
                                "l'acheteur exige un numéro d'engagement (BT-13), absent",
                                "the buyer requires a commitment number (BT-13), missing")
MISSING_EITHER = HoldReason("missing_service_code_or_commitment",
                            "l'acheteur exige un code service ou un numéro d'engagement, tous deux absents",
                            "the buyer requires a service code or a commitment number, both missing")


def routing_hold(required: BuyerRequirements, *, service_code: str | None,
                 commitment_number: str | None) -> HoldReason | None:
    """Why an invoice must not be deposited yet, or None. A missing service code or commitment number where the
    buyer requires one is a certain rejection (Chorus Pro's routing rules; EN 16931 BT-10 and BT-13): the invoice
    is held with this reason instead of being sent to be rejected."""
    if required.service_code and not service_code:
        return MISSING_SERVICE_CODE
    if required.commitment_number and not commitment_number:
        return MISSING_COMMITMENT
    if required.service_code_or_commitment and not (service_code or commitment_number):
        return MISSING_EITHER
    return None
