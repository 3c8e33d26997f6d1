"""Service fait on the payments consumer (`cmd.session.hold`): the trainer's signed sheet, or operations' word
with a reason; each participant's presence recorded; what an absence changes (nothing on the invoice)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from consumers import payments
from schemas.messages import HoldSession, ParticipantAttendance, PartPresence
from tests.unit.fakes import Office, seed_form
from workflow.domain.access_links import ACTIVE
from workflow.domain.clock import PARIS
from workflow.domain.errors import SessionRefusedError
from workflow.domain.machine import State
from workflow.persistence.orm import InvoiceRow, ParticipantAccessRow, SignedSheetRow

HANDICAP = "cpom-handicap-2023-09-15"
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)
CLAIRE, PAUL = "claire.durand@valdemarne.fr", "paul.leroy@valdemarne.fr"


@pytest.fixture
def office() -> Office:
    office = Office(payments.ACTOR)
    office.given("r-1", State.INVOICED, seed_form("handicap-departement.json"))
    office.uow.invoices.add(InvoiceRow(
        number="2023-000001", year=2023, sequence=1, registration_id="r-1", issued_on=date(2023, 9, 1), lines=[],
        quantity=2, unit_price=Decimal("595.00"), total=Decimal("1190.00"), due_on=None, document_path=None,
        created_at=office.clock.now()))
    for email in (CLAIRE, PAUL):
        office.uow.accesses.add(ParticipantAccessRow(
            id=f"access-{email[:5]}", registration_id="r-1", session_id=HANDICAP, email=email, civilite=None,
            first_name=None, last_name=None, token_hash=email[:5] * 12, status=ACTIVE, sequence=0,
            created_at=office.clock.now(), revoked_at=None, revoked_reason=None))
    office.at(EVENING)
    return office


def signed(office: Office, paul_morning: str = "absent", paul_afternoon: str = "absent") -> None:
    """The back office stored the trainer's signature (what `SheetDesk.sign` writes)."""
    def line(email: str, morning: tuple[str, int], afternoon: tuple[str, int]) -> dict[str, object]:
        return {"access_id": f"access-{email[:5]}", "registration_id": "r-1", "name": email, "email": email,
                "marks": [{"part": 0, "presence": morning[0], "minutes": morning[1]},
                          {"part": 1, "presence": afternoon[0], "minutes": afternoon[1]}]}
    minutes = {"absent": 0, "partial": 90, "present": 180}
    office.uow.attendance.sheets[HANDICAP] = SignedSheetRow(
        session_id=HANDICAP, signed_by="tom", signer_name="Jeanne Martin", signed_at=EVENING, attestation="…",
        sheet={"participants": [line(CLAIRE, ("present", 180), ("present", 175)),
                                line(PAUL, (paul_morning, minutes[paul_morning]),
                                     (paul_afternoon, minutes[paul_afternoon]))]},
        sheet_sha256="0" * 64)


def hold(office: Office, reason: str | None = None, absent: list[str] | None = None) -> None:
    office.handle(payments.handle_hold_session, "cmd.session.hold", HoldSession(
        session_id=HANDICAP, held_on=date(2023, 9, 15), requested_by="tom", reason=reason,
        absent_emails=absent or []))


def test_without_a_signed_sheet_operations_must_give_a_reason() -> None:
    office = Office(payments.ACTOR)
    office.given("r-1", State.INVOICED)
    office.at(EVENING)
    with pytest.raises(SessionRefusedError) as refused:
        hold(office)
    assert refused.value.reason_fr == ("Aucune feuille d'émargement signée : indiquez pourquoi le service fait est "
                                       "enregistré sans elle (--reason).")
    assert office.registration("r-1").state is State.INVOICED
    assert office.uow.events("session.held") == []


def test_the_signed_sheet_is_service_fait_and_its_attendance_goes_out_with_session_held(office: Office) -> None:
    signed(office)
    hold(office)

    assert office.registration("r-1").state is State.SESSION_HELD
    entry = office.uow.registrations.history["r-1"][-1]
    assert (entry.actor, entry.reason) == ("tom", "service fait 2023-09-15 — feuille d'émargement signée par Jeanne "
                                                  "Martin; absent(s) : 1 (applied by payments)")
    [event] = office.uow.events("session.held")
    assert (event.evidence, event.signed_by, event.reason) == ("signed_sheet", "Jeanne Martin", None)
    assert event.attendance == [
        ParticipantAttendance(participant_id="access-clair", registration_id="r-1", presence="present",
                              minutes_followed=355, parts=[PartPresence(part=0, presence="present", minutes=180),
                                                           PartPresence(part=1, presence="present", minutes=175)]),
        ParticipantAttendance(participant_id="access-paul.", registration_id="r-1", presence="absent",
                              minutes_followed=0, parts=[PartPresence(part=0, presence="absent", minutes=0),
                                                         PartPresence(part=1, presence="absent", minutes=0)])]
    assert office.uow.session_records.rows[HANDICAP].absent_emails == [PAUL]
    assert office.uow.session_records.rows[HANDICAP].evidence == "signed_sheet"


def test_an_absence_is_recorded_on_the_participant_and_changes_nothing_on_the_invoice(office: Office) -> None:
    """ABSENCE_POLICY: the registration is final, the invoice stands, nothing is credited."""
    signed(office, paul_morning="partial")
    hold(office)

    presence = {a.email: (a.presence, a.minutes_followed) for a in office.uow.accesses.rows}
    assert presence == {CLAIRE: ("present", 355), PAUL: ("partial", 90)}
    assert office.registration("r-1").state is State.SESSION_HELD
    assert office.uow.credit_notes.rows == []
    assert office.uow.invoices.get("2023-000001").total == Decimal("1190.00")  # type: ignore[union-attr]
    assert office.uow.events("credit_note.requested") == []


def test_operations_word_records_the_named_absent_and_no_minutes(office: Office) -> None:
    hold(office, reason="feuille perdue, attestation du formateur par courrier", absent=["Paul.Leroy@valdemarne.fr"])

    presence = {a.email: (a.presence, a.minutes_followed) for a in office.uow.accesses.rows}
    assert presence == {CLAIRE: ("present", None), PAUL: ("absent", None)}
    entry = office.uow.registrations.history["r-1"][-1]
    assert entry.reason == ("service fait 2023-09-15 — sans feuille d'émargement signée : feuille perdue, attestation "
                            "du formateur par courrier; absent(s) : 1 (applied by payments)")
    [event] = office.uow.events("session.held")
    assert (event.evidence, event.reason) == ("operations", "feuille perdue, attestation du formateur par courrier")


def test_a_second_hold_changes_nothing(office: Office) -> None:
    signed(office)
    hold(office)
    hold(office, reason="again")
    assert len(office.uow.events("session.held")) == 1
