"""A session's evidence pack (the back office's "Dossier de preuves", PDF and JSON): what a funder or a public
accountant asks to see that the training took place (R6313-3: any convincing evidence; the connection records
with the trainer's signed attestation) — the attendance sheet as signed with its SHA-256, per participant the
link openings and the platform's report lines summarised, how service fait was recorded, the certificates.

Built from the stored records each time it is asked for: the signed sheet never changes, so the pack of a held
session is the same pack whenever it is drawn (its data says which sheet, by digest)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.catalogue import Schedule
from workflow.domain.certificate import hours_text
from workflow.domain.clock import Clock
from workflow.ops.attendance import attendance_sheet
from workflow.ops.attendance_sheet import SheetDesk
from workflow.persistence.orm import CertificateRow, SessionRecordRow
from workflow.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class EvidencePack:
    desk: SheetDesk

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.desk.sessions

    def data(self, session_id: str) -> dict[str, Any]:
        """Raises ReportError for an unknown session (as the sheet does)."""
        sheet = self.desk.sheet(session_id)
        with self.sessions() as session:
            record = session.get(SessionRecordRow, session_id)
            certificates = list(session.scalars(select(CertificateRow).where(CertificateRow.session_id == session_id)
                                                .order_by(CertificateRow.trainee)))
        found = attendance_sheet(self.sessions, self.desk.schedule, session_id,
                                 threshold_minutes=self.desk.threshold_minutes)
        computed = {p["access_id"]: p for p in found["participants"]}
        signed = sheet["signed"]
        return {
            "session_id": session_id, "title": sheet["title"], "date": sheet["date"], "trainer": sheet["trainer"],
            "parts": sheet["parts_shown"],
            "signature": None if signed is None else {
                "signer_name": signed["signer_name"], "signed_by": signed["signed_by"],
                "signed_at": signed["signed_at"].isoformat(), "attestation": signed["attestation"],
                "sheet_sha256": signed["sha256"]},
            "service_fait": None if record is None else {
                "held_on": record.held_on.isoformat(), "evidence": record.evidence, "reason": record.reason,
                "recorded_by": record.recorded_by, "recorded_at": record.recorded_at.isoformat()},
            "participants": [_participant(person, computed.get(person["access_id"], {}))
                             for person in sheet["participants"]],
            "unmatched_report_lines": len(sheet["unmatched"]),
            "certificates": [{"number": c.number, "trainee": c.trainee, "hours": hours_text(c.minutes_followed),
                              "issued_on": c.issued_on.isoformat()} for c in certificates],
        }


def _participant(person: dict[str, Any], evidence: dict[str, Any]) -> dict[str, Any]:
    return {"name": person["name"], "email": person["email"], "registration_id": person["registration_id"],
            "presence": person["presence"], "minutes_followed": person["minutes_followed"],
            "marks": [{"part": m["part"], "presence": m["presence"], "minutes": m["minutes"]} for m in person["marks"]],
            "link_openings": evidence.get("joins", []),
            "report_lines": len(evidence.get("report_lines", [])),
            "connected_minutes": [p["connected_minutes"] for p in evidence.get("parts", [])]}


def evidence_pdf(clock: Clock, schedule: Schedule, present_minutes: int | None) -> Callable[[UnitOfWork, str], bytes]:
    """The evidence pack of a session as a PDF, drawn on demand from the committed records through the handler's
    own unit of work (a second connection would wait on its write lock under SQLite): what the invoicing consumer
    attaches beside a public buyer's invoice (`consumers.deposits`)."""
    from workflow.adapters.evidence_pdf import render_evidence

    def draw(uow: UnitOfWork, session_id: str) -> bytes:
        lent = cast("sessionmaker[Session]", _Lent(uow.session))
        return render_evidence(EvidencePack(SheetDesk(lent, clock, schedule, present_minutes)).data(session_id))

    return draw


class _Lent:
    """A session lent to code that opens its own (`with sessions() as session`): entered, it is the lender's;
    left, it stays open, its transaction the lender's to commit."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self) -> _Lent:
        return self

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc: object) -> None:
        return None
