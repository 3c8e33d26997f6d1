"""Scans of signed forms kept for support's check, whichever way they came (the tracking page, an e-mail): checked
by content (`workflow.domain.scans`, then decoded when an image), kept once per (registration, SHA-256)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.adapters.scan_images import check_image
from workflow.domain.scans import TO_CHECK, scan_type
from workflow.persistence.orm import SignatureScanRow


def checked_scan(content: bytes) -> str:
    """The scan's media type; ScanError when it is no PDF, JPEG or PNG, or an image that does not decode."""
    media_type = scan_type(content)
    if media_type != "application/pdf":
        check_image(content)
    return media_type


def keep_scan(session: Session, registration_id: str, content: bytes, media_type: str, now: datetime) -> bool:
    """Add the scan to check, in the caller's transaction; False when the same file is already kept for it."""
    digest = hashlib.sha256(content).hexdigest()
    if session.scalars(select(SignatureScanRow.id).where(SignatureScanRow.registration_id == registration_id,
                                                         SignatureScanRow.sha256 == digest)).first() is not None:
        return False
    session.add(SignatureScanRow(registration_id=registration_id, media_type=media_type, size=len(content),
                                 sha256=digest, content=content, uploaded_at=now, status=TO_CHECK, checked_by=None,
                                 checked_at=None, reason=None))
    return True
