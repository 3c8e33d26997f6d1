"""The platform as a folder: what would be deposited is written there, and what the platform would answer is read
back from files a person (or a test) writes, so the whole lifecycle runs without the platform.

- `<number>.pdf` and `<number>.json`: a deposit (the routing file, written last, records it);
- `<number>.status.json`: the platform's answer, `{"statut": "MISE_A_DISPOSITION", "date": "2026-12-03",
  "motif": "...", "datePaiementPrevue": "2027-01-15"}` (Chorus Pro's status codes);
- `structures/<siret>.json`: a buyer's requirements, `{"parametres": {"codeServiceDoitEtreRenseigne": true,
  "numeroEJDoitEtreRenseigne": false}}` as `structures/v1/consulter` answers; no file: nothing required;
- `<number>-recycle-<n>.json`, `<number>-complete-<name>.pdf`: the corrections sent."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from workflow.adapters.einvoicing import ChorusDeposit
from workflow.domain.clock import PARIS
from workflow.domain.einvoicing import BuyerRequirements, PlatformAnswerError, StatusReport, platform_status

_INVOICE = re.compile(r"[0-9]{4}-[0-9]{6,9}")  # workflow.domain.invoice.invoice_number
_ATTACHMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")  # an attachment's name in the drop
_SIRET = re.compile(r"[0-9]{14}")
MAX_ANSWER_BYTES = 64 * 1024
MAX_REASON = 500


class FileDropChorusPro:
    """Keyed by number: a number deposited again overwrites its own files."""

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
        if not _INVOICE.fullmatch(invoice_number) or not routing.is_file():
            return None
        try:
            reference = json.loads(routing.read_text(encoding="utf-8")).get("reference")
        except ValueError:
            return None  # damaged: deposited again, which overwrites it
        return reference if isinstance(reference, str) else None

    def attach(self, invoice_number: str, name: str, pdf: bytes) -> str:
        _check_attachment(invoice_number, name)
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(pdf).hexdigest()
        reference = f"file-drop:{invoice_number}:{name}:{digest[:12]}"
        _write_atomically(self.folder / f"{invoice_number}-pj-{name}.pdf", pdf)
        _write_atomically(self.folder / f"{invoice_number}-pj-{name}.json", json.dumps({
            "invoice_number": invoice_number, "attachment": name, "sha256": digest, "reference": reference},
            indent=2).encode("utf-8"))
        return reference

    def attached(self, invoice_number: str, name: str) -> str | None:
        if not (_INVOICE.fullmatch(invoice_number) and _ATTACHMENT.fullmatch(name)):
            return None
        routing = self.folder / f"{invoice_number}-pj-{name}.json"
        try:
            reference = json.loads(routing.read_text(encoding="utf-8")).get("reference") if routing.is_file() else None
        except ValueError:
            return None
        return reference if isinstance(reference, str) else None

    def status(self, invoice_number: str) -> StatusReport | None:
        if not _INVOICE.fullmatch(invoice_number):
            raise PlatformAnswerError(f"not an invoice number: {invoice_number[:20]!r}")
        answer = _read_json(self.folder / f"{invoice_number}.status.json")
        if answer is None:
            return None
        return StatusReport(status=platform_status(answer.get("statut")), at=_instant(answer.get("date")),
                            reason=_text(answer.get("motif")),
                            expected_payment_on=_day(answer.get("datePaiementPrevue")))

    def recycle(self, invoice_number: str, service_code: str | None, commitment_number: str | None) -> None:
        _check_attachment(invoice_number, "recycle")
        existing = len(list(self.folder.glob(f"{invoice_number}-recycle-*.json")))
        _write_atomically(self.folder / f"{invoice_number}-recycle-{existing + 1}.json", json.dumps({
            "invoice_number": invoice_number, "codeServiceExecutant": service_code,
            "numeroEngagement": commitment_number}, indent=2).encode("utf-8"))
        (self.folder / f"{invoice_number}.status.json").unlink(missing_ok=True)  # back to the platform's hands

    def complete(self, invoice_number: str, name: str, pdf: bytes, comment: str) -> None:
        _check_attachment(invoice_number, name)
        _write_atomically(self.folder / f"{invoice_number}-complete-{name}.pdf", pdf)
        _write_atomically(self.folder / f"{invoice_number}-complete-{name}.json", json.dumps({
            "invoice_number": invoice_number, "commentaire": comment[:MAX_REASON]}, indent=2).encode("utf-8"))
        (self.folder / f"{invoice_number}.status.json").unlink(missing_ok=True)

    def requirements(self, buyer_siret: str) -> BuyerRequirements:
        if not _SIRET.fullmatch(buyer_siret):
            raise PlatformAnswerError(f"not a SIRET: {buyer_siret[:20]!r}")
        answer = _read_json(self.folder / "structures" / f"{buyer_siret}.json")
        return requirements_of(answer or {})


def requirements_of(answer: dict[str, Any]) -> BuyerRequirements:
    """`structures/v1/consulter`'s `parametres`, read strictly: a flag that is not a boolean is refused."""
    found = answer.get("parametres") or {}
    if not isinstance(found, dict):
        raise PlatformAnswerError("parametres is not an object")
    flags = {}
    for key in ("codeServiceDoitEtreRenseigne", "numeroEJDoitEtreRenseigne", "gestionNumeroEJOuCodeService"):
        value = found.get(key, False)
        if not isinstance(value, bool):
            raise PlatformAnswerError(f"{key} is not a boolean")
        flags[key] = value
    return BuyerRequirements(service_code=flags["codeServiceDoitEtreRenseigne"],
                             commitment_number=flags["numeroEJDoitEtreRenseigne"],
                             service_code_or_commitment=flags["gestionNumeroEJOuCodeService"])


def _check_attachment(invoice_number: str, name: str) -> None:
    if not (_INVOICE.fullmatch(invoice_number) and _ATTACHMENT.fullmatch(name)):
        raise ValueError(f"not a document of the drop: {invoice_number[:20]!r} {name[:40]!r}")


def _read_json(path: Path) -> dict[str, Any] | None:
    if path.is_symlink() or not path.is_file():
        return None
    raw = path.read_bytes()[:MAX_ANSWER_BYTES + 1]
    if len(raw) > MAX_ANSWER_BYTES:
        raise PlatformAnswerError(f"{path.name}: over {MAX_ANSWER_BYTES} bytes")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PlatformAnswerError(f"{path.name}: not JSON ({exc})") from exc
    if not isinstance(answer, dict):
        raise PlatformAnswerError(f"{path.name}: not a JSON object")
    return answer


def _instant(value: object) -> datetime:
    """A date (`2026-12-03`: that day at noon in Paris) or an aware ISO datetime."""
    if not isinstance(value, str) or len(value) > 40:
        raise PlatformAnswerError("date missing or not a string")
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(12), tzinfo=PARIS)
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PlatformAnswerError(f"date {value!r} is not ISO 8601") from exc
    if instant.tzinfo is None:
        raise PlatformAnswerError(f"date {value!r} has no time zone")
    return instant


def _day(value: object) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 10:
        raise PlatformAnswerError("datePaiementPrevue is not a date")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PlatformAnswerError(f"datePaiementPrevue {value!r} is not a date") from exc


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PlatformAnswerError("motif is not a string")
    cleaned = " ".join(value.split())
    return cleaned[:MAX_REASON] or None


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
