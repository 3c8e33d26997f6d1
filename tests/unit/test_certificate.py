"""Certificates of completion (workflow/domain/certificate.py, consumers/certificates.py): the hours they state,
who gets none, the PDF's mentions read back, issued once, and the e-mails they go out with."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from consumers import invoicing
from consumers.notifications import certificates as notified
from schemas.messages import CertificateIssued, RegistrationTransitioned
from tests.unit.fakes import Office
from workflow.adapters.certificate_pdf import render_certificate
from workflow.bootstrap import seller_of
from workflow.domain.access_links import ACTIVE
from workflow.domain.certificate import (
    CertificateDocument,
    certificate_number,
    hours_text,
    minutes_to_certify,
)
from workflow.domain.clock import PARIS
from workflow.domain.machine import State
from workflow.persistence.orm import ParticipantAccessRow, SessionRecordRow
from workflow.settings import Settings

HANDICAP = "cpom-handicap-2023-09-15"
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)


@pytest.mark.parametrize(("presence", "minutes", "certified"), [
    ("present", 360, 360), ("partial", 180, 180), ("partial", 255, 255),
    ("present", None, 360),  # operations' word, no measured sheet: the day's training time
    ("absent", 0, None), ("absent", None, None), ("partial", 0, None),
])
def test_the_hours_certified_are_the_minutes_followed_and_an_absent_participant_gets_none(
        presence: str, minutes: int | None, certified: int | None) -> None:
    assert minutes_to_certify(presence, minutes, 360) == certified


def test_hours_are_written_in_hours_and_minutes() -> None:
    assert [hours_text(m) for m in (180, 360, 255, 45, 61)] == ["3 h", "6 h", "4 h 15", "0 h 45", "1 h 01"]


def test_a_seat_of_a_session_always_gets_the_same_number() -> None:
    number = certificate_number(2023, HANDICAP, "access-1")
    assert number == certificate_number(2023, HANDICAP, "access-1")
    assert number != certificate_number(2023, HANDICAP, "access-2")
    assert number[:5] == "2023-"
    assert len(number) == 17


def test_the_pdf_states_what_the_ministrys_model_asks() -> None:
    seller = seller_of(Settings(development=True))
    pdf = render_certificate(CertificateDocument(
        number="2023-0123456789AB", seller=seller, signatory="Marie Curie, directrice", trainee="Mme Claire DURAND",
        client="Département du Val-de-Marne", title="CPOM et handicap", session_day=date(2023, 9, 15),
        minutes_followed=180, place="Paris", issued_on=date(2023, 9, 16)))
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    for said in ("Certificat de réalisation", "Je soussigné(e) Marie Curie, directrice", seller.siret,
                 seller.activity_number, "Mme Claire DURAND", "Département du Val-de-Marne", "CPOM et handicap",
                 "Action de formation (article L6313-1 1° du code du travail)", "Formation à distance",
                 "le vendredi 15 septembre 2023 (une journée)", "3 h (heures de formation suivies",
                 "pendant une durée de 3 ans", "Fait à Paris, le 16/09/2023"):
        assert said in text, said


@pytest.fixture
def office() -> Office:
    return held_office()


def held_office() -> Office:
    """Registration r-1 at a session held: Claire present, Ines the morning only, Paul absent all day."""
    office = Office(invoicing.ACTOR)
    office.given("r-1", State.SESSION_HELD)
    office.uow.session_records.add(SessionRecordRow(
        session_id=HANDICAP, held_on=date(2023, 9, 15), absent_emails=[], recorded_at=EVENING,
        evidence="signed_sheet", reason=None, recorded_by="tom"))
    for access_id, last, presence, minutes in (("a-claire", "DURAND", "present", 360),
                                               ("a-ines", "ROY", "partial", 180), ("a-paul", "LEROY", "absent", 0)):
        office.uow.accesses.add(ParticipantAccessRow(
            id=access_id, registration_id="r-1", session_id=HANDICAP, email=f"{access_id}@example.org",
            civilite="Mme", first_name=access_id[2:].title(), last_name=last, token_hash=access_id.ljust(64, "0"),
            status=ACTIVE, sequence=0, created_at=EVENING, revoked_at=None, revoked_reason=None, presence=presence,
            minutes_followed=minutes))
    office.at(EVENING)
    return office


def held(office: Office, to_state: str = "session_held", trigger: str = "hold_session") -> None:
    office.handle(invoicing.handle_session_held, f"registration.{to_state}", RegistrationTransitioned(
        from_state="invoiced", to_state=to_state, trigger=trigger, session_id=HANDICAP), registration_id="r-1")


def test_service_fait_issues_a_certificate_per_participant_who_followed_and_says_who_has_none(office: Office) -> None:
    held(office)

    by_trainee = {c.trainee: (c.minutes_followed, c.access_id) for c in office.uow.certificates.rows.values()}
    assert by_trainee == {"Mme Claire DURAND": (360, "a-claire"), "Mme Ines ROY": (180, "a-ines")}
    assert sorted(office.uow.document_files.rows) == sorted(
        f"certificat-{c.number}.pdf" for c in office.uow.certificates.rows.values())
    assert office.documents.written == {}, "the store's copies are written after the commit (consumers.deposits)"
    [event] = office.uow.events("certificate.issued")
    assert [c.participant_id for c in event.certificates] == ["a-claire", "a-ines"]
    assert [(n.participant_id, n.reason[:24]) for n in event.without_certificate] == [
        ("a-paul", "absent toute la journée ")]


def test_a_redelivered_session_held_issues_nothing_new_and_tells_nobody_again(office: Office) -> None:
    held(office)
    held(office)
    assert len(office.uow.certificates.rows) == 2
    assert len(office.uow.events("certificate.issued")) == 1


def test_a_registration_paid_by_a_payment_after_service_fait_issues_nothing(office: Office) -> None:
    held(office, "paid", trigger="settle")
    assert office.uow.certificates.rows == {}
    held(office, "paid")  # settled before service fait: paid at once, its certificates then
    assert len(office.uow.certificates.rows) == 2


def test_the_gestionnaire_gets_every_certificate_in_one_e_mail_and_each_participant_their_own(office: Office) -> None:
    held(office)
    [event] = office.uow.events("certificate.issued")
    office.handle(notified.handle_certificate_issued, "certificate.issued", event, registration_id="r-1")

    [to_gestionnaire] = office.mail.of_kind("certificates")
    assert [a["number"] for a in to_gestionnaire.attachments] == [c.number for c in event.certificates]
    assert to_gestionnaire.context["absent"] == 1
    assert sorted(m.recipient for m in office.mail.of_kind("certificate")) == ["a-claire@example.org",
                                                                               "a-ines@example.org"]
    assert office.mail.sent_to("a-paul@example.org") == []


def test_an_announced_certificate_that_was_not_issued_is_an_inconsistent_message(office: Office) -> None:
    from workflow.domain.errors import InconsistentMessageError

    forged = CertificateIssued(session_id=HANDICAP, certificates=[{  # type: ignore[list-item]
        "number": "2023-0123456789AB", "participant_id": "a-claire", "minutes_followed": 360}])
    with pytest.raises(InconsistentMessageError):
        office.handle(notified.handle_certificate_issued, "certificate.issued", forged, registration_id="r-1")
    assert office.mail.queued == []


@settings(max_examples=15, deadline=None)
@given(trainee=st.text(min_size=1, max_size=420), client=st.text(min_size=1, max_size=300),
       title=st.text(min_size=1, max_size=300), minutes=st.integers(1, 1440))
def test_whatever_the_contracts_accept_the_certificate_is_drawn(trainee: str, client: str, title: str,
                                                                minutes: int) -> None:
    """The invariant: every name, client and title of their columns' lengths is drawn (wrapped, cut), never an
    error that would stop the invoicing consumer on a session held."""
    pdf = render_certificate(CertificateDocument(
        number="2023-0123456789AB", seller=seller_of(Settings(development=True)), signatory="S", trainee=trainee,
        client=client, title=title, session_day=date(2023, 9, 15), minutes_followed=minutes, place="Paris",
        issued_on=date(2023, 9, 16)))
    assert pdf.startswith(b"%PDF")
