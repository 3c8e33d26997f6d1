"""Where generated documents go, and the Chorus Pro deposit port with its file-drop implementation."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class DocumentStore:
    """PDFs on disk, written atomically. Rewriting the same name is harmless: a number that a rolled-back
    transaction gave back is reissued with a new document under the same name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, name: str, content: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
        return path.resolve()


@dataclass(frozen=True)
class ChorusDeposit:
    invoice_number: str
    buyer_siret: str
    service_code: str | None
    commitment_number: str | None


class ChorusPro(Protocol):
    """The deposit of an e-invoice to a public buyer (mandatory since 1 January 2020)."""

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        """Deposit the Factur-X PDF; returns the platform's deposit reference."""
        ...


class FileDropChorusPro:
    """Writes what would be deposited (the Factur-X PDF and its routing data) to a folder, for a
    batch upload or an API client to pick up. Idempotent: the reference is derived from the content."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(facturx_pdf).hexdigest()
        (self.folder / f"{deposit.invoice_number}.pdf").write_bytes(facturx_pdf)
        (self.folder / f"{deposit.invoice_number}.json").write_text(json.dumps({
            "invoice_number": deposit.invoice_number, "format": "FACTURX", "buyer_siret": deposit.buyer_siret,
            "service_code": deposit.service_code, "commitment_number": deposit.commitment_number,
            "sha256": digest}, indent=2), encoding="utf-8")
        return f"file-drop:{deposit.invoice_number}:{digest[:12]}"
