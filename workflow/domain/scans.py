"""What a scan of the signed form may be (issue #19): a PDF, a JPEG or a PNG, told by its first bytes (never by
the name or the type the browser gives), of at most SCAN_MAX_BYTES; anything else gets a named error in French
and English. Pure: the bytes are a parameter."""

from __future__ import annotations

from dataclasses import dataclass

SCAN_MAX_BYTES = 10 * 1024 * 1024  # a scanned A4 page at 300 dpi is 1 to 3 MB
SCAN_MIN_BYTES = 100  # less cannot be a picture of a page
TO_CHECK, ACCEPTED, REFUSED = "to_check", "accepted", "refused"
_SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class ScanError(ValueError):
    code: str
    fr: str
    en: str

    def __str__(self) -> str:
        return f"{self.fr} / {self.en}"


def scan_type(content: bytes) -> str:
    """The media type of an acceptable scan, from its content; ScanError otherwise."""
    if len(content) > SCAN_MAX_BYTES:
        raise ScanError("scan_too_large", f"Le fichier dépasse {SCAN_MAX_BYTES // (1024 * 1024)} Mo.",
                        f"The file is larger than {SCAN_MAX_BYTES // (1024 * 1024)} MB.")
    if len(content) < SCAN_MIN_BYTES:
        raise ScanError("scan_empty", "Le fichier est vide ou tronqué.", "The file is empty or truncated.")
    for magic, media_type in _SIGNATURES:
        if content.startswith(magic):
            if media_type == "application/pdf" and b"%%EOF" not in content[-1024:]:
                raise ScanError("scan_truncated", "Ce PDF est incomplet (sa fin manque) : renvoyez-le.",
                                "This PDF is incomplete (its end is missing).")
            return media_type
    raise ScanError("scan_type", "Seuls un PDF, une image JPEG ou PNG sont acceptés (d'après le contenu du fichier).",
                    "Only a PDF, a JPEG or a PNG image is accepted (judged by the file's content).")
