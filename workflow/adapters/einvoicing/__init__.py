"""The e-invoicing platform port: Chorus Pro for public buyers today, an approved platform (PA) for private
buyers when small businesses must issue e-invoices (September 2027) beside it, behind the same methods.

Every method is keyed by the document's number, so that asking first (`deposited`, `attached`) makes a retried
or redelivered message send nothing twice. Adapters: `ChorusProApi` (the PISTE gateway, `chorus_api.py`) and
`FileDropChorusPro` (a folder, `file_drop.py`, for local runs and the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workflow.domain.einvoicing import BuyerRequirements, StatusReport


@dataclass(frozen=True)
class ChorusDeposit:
    invoice_number: str
    buyer_siret: str
    service_code: str | None
    commitment_number: str | None


class EInvoicingPlatform(Protocol):
    """Deposit, follow and correct a document on the platform. Raises `PlatformUnavailableError` (retry) or
    `PlatformRefusedError` (the platform's own refusal, kept) from `workflow.domain.errors`."""

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        """Deposit the Factur-X PDF; returns the platform's deposit reference."""
        ...

    def deposited(self, invoice_number: str) -> str | None:
        """The reference of the deposit the platform already holds for this number, if any: asked before
        depositing, so that a deposit whose acceptance was not recorded (a crash before our commit) is not
        sent again."""
        ...

    def attach(self, invoice_number: str, name: str, pdf: bytes) -> str:
        """Add a supporting document (the evidence pack) to a deposited invoice; returns its reference."""
        ...

    def attached(self, invoice_number: str, name: str) -> str | None:
        """The reference of that supporting document if the platform holds it already (asked before attaching)."""
        ...

    def status(self, invoice_number: str) -> StatusReport | None:
        """The current status of a deposited document; None while the platform does not show it yet."""
        ...

    def recycle(self, invoice_number: str, service_code: str | None, commitment_number: str | None) -> None:
        """Send an invoice *à recycler* again under the same number with corrected routing."""
        ...

    def complete(self, invoice_number: str, name: str, pdf: bytes, comment: str) -> None:
        """Answer a *suspendue* invoice: the missing document attached, and it goes on."""
        ...

    def requirements(self, buyer_siret: str) -> BuyerRequirements:
        """What the buyer structure requires on its invoices (service code, commitment number)."""
        ...


ChorusPro = EInvoicingPlatform  # its first name, kept for the callers that say Chorus Pro
