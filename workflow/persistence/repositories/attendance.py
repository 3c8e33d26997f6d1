"""The attendance sheet as stored (the trainer's corrections, the signed sheet: service fait) and the certificates
of completion issued from it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.persistence.orm import AttendanceMarkRow, CertificateRow, SignedSheetRow


class SqlAttendance:
    def __init__(self, session: Session) -> None:
        self._session = session

    def signed_sheet(self, session_id: str) -> SignedSheetRow | None:
        return self._session.get(SignedSheetRow, session_id)

    def marks(self, session_id: str) -> dict[tuple[str, int], AttendanceMarkRow]:
        """The trainer's corrections by (access, part)."""
        return {(m.access_id, m.part): m for m in self._session.scalars(
            select(AttendanceMarkRow).where(AttendanceMarkRow.session_id == session_id))}


class SqlCertificates:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, certificate: CertificateRow) -> None:
        self._session.add(certificate)

    def get(self, number: str) -> CertificateRow | None:
        return self._session.get(CertificateRow, number)

    def of_registration(self, registration_id: str, session_id: str) -> list[CertificateRow]:
        return list(self._session.scalars(select(CertificateRow).where(
            CertificateRow.registration_id == registration_id, CertificateRow.session_id == session_id)
            .order_by(CertificateRow.trainee, CertificateRow.number)))
