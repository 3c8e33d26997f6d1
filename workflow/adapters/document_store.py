"""Where generated documents go (the e-invoicing platform port is in `workflow.adapters.einvoicing`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

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


# The Chorus Pro port moved to `workflow.adapters.einvoicing` (an e-invoicing platform port, with a PA beside it
# later); these names stay for the callers that import them from here.
from workflow.adapters.einvoicing import ChorusDeposit, ChorusPro, EInvoicingPlatform  # noqa: E402
from workflow.adapters.einvoicing.file_drop import FileDropChorusPro  # noqa: E402

__all__ = ["ChorusDeposit", "ChorusPro", "DocumentKind", "DocumentNotFoundError", "DocumentStore",
           "EInvoicingPlatform", "FileDropChorusPro", "document_name"]
