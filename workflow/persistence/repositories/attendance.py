"""The attendance sheet as stored: the trainer's corrections and the signed sheet (service fait)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.persistence.orm import AttendanceMarkRow, SignedSheetRow


class SqlAttendance:
    def __init__(self, session: Session) -> None:
        self._session = session

    def signed_sheet(self, session_id: str) -> SignedSheetRow | None:
        return self._session.get(SignedSheetRow, session_id)

    def marks(self, session_id: str) -> dict[tuple[str, int], AttendanceMarkRow]:
        """The trainer's corrections by (access, part)."""
        return {(m.access_id, m.part): m for m in self._session.scalars(
            select(AttendanceMarkRow).where(AttendanceMarkRow.session_id == session_id))}
