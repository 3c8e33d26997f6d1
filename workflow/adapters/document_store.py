"""Where generated documents go, and the Chorus Pro deposit port with its file-drop implementation."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

DocumentKind = Literal["invoice", "credit_note", "certificate", "interest_claim"]
_PREFIX: dict[str, str] = {"invoice": "facture", "credit_note": "avoir", "certificate": "certificat",
                           "interest_claim": "interets"}
_KIND = {prefix: kind for kind, prefix in _PREFIX.items()}
# workflow.domain.invoice.invoice_number; workflow.domain.certificate.certificate_number;
# workflow.domain.interest_claim.claim_number
_NUMBER = {"invoice": re.compile(r"[0-9]{4}-[0-9]{6,9}"), "credit_note": re.compile(r"[0-9]{4}-[0-9]{6,9}"),
           "certificate": re.compile(r"[0-9]{4}-[0-9A-F]{12}"),
           "interest_claim": re.compile(r"INT-[0-9]{4}-[0-9]{6,9}")}
_NAME = re.compile(r"(facture|avoir)-[0-9]{4}-[0-9]{6,9}\.pdf|(certificat)-[0-9]{4}-[0-9A-F]{12}\.pdf"
                   r"|(interets)-INT-[0-9]{4}-[0-9]{6,9}\.pdf")


class DocumentNotFoundError(LookupError):
    """No such document in the store, or a name that is not one of the store's (refused, never opened)."""


def document_name(kind: DocumentKind, number: str) -> str:
    """`facture-2026-000123.pdf`: the only names the store knows; a number of another shape is refused."""
    if kind not in _PREFIX or not _NUMBER[kind].fullmatch(number):
        raise DocumentNotFoundError(f"not a document of the store: {kind} {number[:40]!r}")
    return f"{_PREFIX[kind]}-{number}.pdf"


class DocumentStore:
    """PDFs on disk, written atomically, addressed by kind and number, never by a path from outside.

    The copy of a document whose issue committed (`consumers.deposits`, after the `*.issued` event): writing it
    again, on a redelivery, writes the same bytes under the same name. Reading resolves the name inside the
    store's own root and refuses anything else (a link, `..`, another shape of name): no message can make a
    process open a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, name: str) -> Path:
        """Where the document of that name is (or will be) kept; nothing is written."""
        return self._inside(name)

    def write(self, name: str, content: bytes) -> Path:
        path = self._inside(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
        return path.resolve()

    def read(self, kind: DocumentKind, number: str) -> bytes:
        path = self._inside(document_name(kind, number))
        if path.is_symlink() or not path.is_file():
            raise DocumentNotFoundError(f"{path.name} is not in the document store")
        return path.read_bytes()

    def read_named(self, name: str) -> bytes:
        """A document by its file name (`facture-2026-000123.pdf`), checked like a number."""
        match = _NAME.fullmatch(name)
        if match is None:
            raise DocumentNotFoundError(f"not a document of the store: {name[:60]!r}")
        kind: DocumentKind = _KIND[match[1] or match[2] or match[3]]  # type: ignore[assignment]
        return self.read(kind, name.split("-", 1)[1].removesuffix(".pdf"))

    def _inside(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise DocumentNotFoundError(f"not a document of the store: {name[:60]!r}")
        root = self.folder.resolve()
        path = (root / name).resolve()
        if path.parent != root:
            raise DocumentNotFoundError(f"{name[:60]!r} resolves outside the document store")
        return path


_ATTACHMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")  # an attachment's name in the drop


@dataclass(frozen=True)
class ChorusDeposit:
    invoice_number: str
    buyer_siret: str
    service_code: str | None
    commitment_number: str | None


class ChorusPro(Protocol):
    """The deposit of an e-invoice to a public buyer (mandatory since 1 January 2020), keyed by the document's
    number: an adapter deposits a number once, and answers whether it already holds one."""

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        """Deposit the Factur-X PDF; returns the platform's deposit reference."""
        ...

    def deposited(self, invoice_number: str) -> str | None:
        """The reference of the deposit the platform already holds for this number, if any: asked before
        depositing, so that a deposit whose acceptance was not recorded (a crash before our commit) is not
        sent again."""
        ...

    def attach(self, invoice_number: str, name: str, pdf: bytes) -> str:
        """Add a supporting document (a "pièce jointe complémentaire": the evidence pack) to a deposited invoice;
        returns its reference. Keyed by (number, name): attached again, it replaces itself."""
        ...

    def attached(self, invoice_number: str, name: str) -> str | None:
        """The reference of that supporting document if the platform holds it already (asked before attaching)."""
        ...


class FileDropChorusPro:
    """Writes what would be deposited (the Factur-X PDF and its routing data) to a folder, for a
    batch upload or an API client to pick up. Keyed by number: a number deposited again overwrites its
    own files, and the routing file, written last, is the record that the deposit was made."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(facturx_pdf).hexdigest()
        reference = f"file-drop:{deposit.invoice_number}:{digest[:12]}"
        _write_atomically(self.folder / f"{deposit.invoice_number}.pdf", facturx_pdf)
        _write_atomically(self.folder / f"{deposit.invoice_number}.json", json.dumps({
            "invoice_number": deposit.invoice_number, "format": "FACTURX", "buyer_siret": deposit.buyer_siret,
            "service_code": deposit.service_code, "commitment_number": deposit.commitment_number,
            "sha256": digest, "reference": reference}, indent=2).encode("utf-8"))
        return reference

    def deposited(self, invoice_number: str) -> str | None:
        routing = self.folder / f"{invoice_number}.json"
        if not _NUMBER["invoice"].fullmatch(invoice_number) or not routing.is_file():
            return None
        try:
            reference = json.loads(routing.read_text(encoding="utf-8")).get("reference")
        except ValueError:
            return None  # damaged: deposited again, which overwrites it
        return reference if isinstance(reference, str) else None


    def attach(self, invoice_number: str, name: str, pdf: bytes) -> str:
        if not (_NUMBER["invoice"].fullmatch(invoice_number) and _ATTACHMENT.fullmatch(name)):
            raise ValueError(f"not an attachment of the drop: {invoice_number[:20]!r} {name[:40]!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(pdf).hexdigest()
        reference = f"file-drop:{invoice_number}:{name}:{digest[:12]}"
        _write_atomically(self.folder / f"{invoice_number}-pj-{name}.pdf", pdf)
        _write_atomically(self.folder / f"{invoice_number}-pj-{name}.json", json.dumps({
            "invoice_number": invoice_number, "attachment": name, "sha256": digest, "reference": reference},
            indent=2).encode("utf-8"))
        return reference

    def attached(self, invoice_number: str, name: str) -> str | None:
        if not (_NUMBER["invoice"].fullmatch(invoice_number) and _ATTACHMENT.fullmatch(name)):
            return None
        routing = self.folder / f"{invoice_number}-pj-{name}.json"
        try:
            reference = json.loads(routing.read_text(encoding="utf-8")).get("reference") if routing.is_file() else None
        except ValueError:
            return None
        return reference if isinstance(reference, str) else None


def _write_atomically(path: Path, content: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
