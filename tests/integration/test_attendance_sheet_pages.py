"""The attendance sheet on the back office, through Flask's test client over the real database: the trainer sees
the evidence, corrects a mark (checked, nothing stored when one is wrong), signs once after the session; the
signature is kept even when the broker does not confirm service fait, and the page offers to send it again."""

from __future__ import annotations

import io
import re
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from regflow.web import create_app
from regflow.web.users import UserStore
from tests.integration.test_backoffice_pages import PASSWORD, login, token
from workflow.adapters.clocks import FileClock
from workflow.adapters.data_files import load_catalogue
from workflow.domain.access_links import ACTIVE
from workflow.domain.attendance_sheet import digest
from workflow.domain.clock import PARIS
from workflow.ops.attendance import import_report
from workflow.ops.attendance_sheet import SheetDesk
from workflow.ops.catalogue import CatalogueDesk
from workflow.persistence.orm import AttendanceLineRow, AttendanceMarkRow, ParticipantAccessRow, SignedSheetRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration

HANDICAP = "cpom-handicap-2023-09-15"
NOWHERE = "amqp://127.0.0.1:1/%2F"  # no broker: service fait cannot be sent, the signature stays
CLAIRE, PAUL = "access-claire", "access-paul"
REPORT = ("email,name,join,leave\r\n"
          "claire.durand@valdemarne.fr,Claire Durand,2023-09-15 09:28:00,2023-09-15 12:46:00\r\n"
          "claire.durand@valdemarne.fr,Claire Durand,2023-09-15 13:44:00,2023-09-15 17:01:00\r\n"
          "paul.leroy@valdemarne.fr,Paul Leroy,2023-09-15 10:45:00,2023-09-15 11:30:00\r\n"
          "inconnu@example.org,Un invité,2023-09-15 10:00:00,2023-09-15 10:20:00\r\n").encode()


@pytest.fixture
def seats(sessions: sessionmaker[Session], clock: FileClock) -> None:
    """Two participants' accesses (what the notifications consumer writes) and the platform's report imported."""
    with sessions() as session, session.begin():
        for access_id, email, first, last in ((CLAIRE, "claire.durand@valdemarne.fr", "Claire", "Durand"),
                                              (PAUL, "paul.leroy@valdemarne.fr", "Paul", "Leroy")):
            session.add(ParticipantAccessRow(
                id=access_id, registration_id="dep-94", session_id=HANDICAP, email=email, civilite=None,
                first_name=first, last_name=last, token_hash=access_id.ljust(64, "0"), status=ACTIVE, sequence=0,
                created_at=clock.now(), revoked_at=None, revoked_reason=None))
    import_report(sessions, clock, HANDICAP, REPORT)


def client_for(settings: Settings, tmp_path: Path, name: str, role: str, full_name: str | None = None
               ) -> FlaskClient:
    users = UserStore(tmp_path / f"{name}.json")
    users.add(name, PASSWORD, [role], full_name=full_name)
    client = create_app(settings.model_copy(update={"web_users_file": users.path, "broker_url": NOWHERE,
                                                    "development": True})).test_client()
    login(client, name=name)
    return client


def text(html: str) -> str:
    """What the reader sees: the tags gone, the spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def page_of(client: FlaskClient) -> str:
    return text(client.get(f"/feuilles/{HANDICAP}").get_data(as_text=True))


def marks_form(client: FlaskClient, action: str, **changes: str) -> dict[str, str]:
    """The form as the page renders it (every select and input with its value), with `changes` applied."""
    html = client.get(f"/feuilles/{HANDICAP}").get_data(as_text=True)
    form = {}
    for select_name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]+)" selected', body)
        form[unescape(select_name)] = chosen.group(1) if chosen else ""
    for name, value in re.findall(r'<input name="(minutes:[^"]+)" type="number"[^>]*value="([^"]*)"', html):
        form[unescape(name)] = value
    return {**form, **changes, "action": action, "csrf_token": token(client, f"/feuilles/{HANDICAP}")}


@pytest.mark.usefixtures("seats")
def test_the_trainer_sees_the_evidence_corrects_a_mark_and_signs_after_the_session(
        settings: Settings, tmp_path: Path, clock: FileClock, sessions: sessionmaker[Session]) -> None:
    trainer = client_for(settings, tmp_path, "tom", "trainer")
    page = page_of(trainer)
    assert "Etablissements et services" in page
    assert "(09:30–12:45 et 13:45–17:00, heure de Paris)" in page
    assert "connecté 45 min" in page  # Paul, 10h45-11h30
    assert "ligne 5 (inconnu@example.org, Un invité)" in page  # the unmatched line, shown
    assert "La feuille se signe après la fin de la séance." in page

    wrong = trainer.post(f"/feuilles/{HANDICAP}", data=marks_form(
        trainer, "save", **{f"presence:{PAUL}:0": "absent", f"minutes:{PAUL}:0": "45"}))
    assert wrong.status_code == 400
    assert "absent avec 45 minutes suivies : une absence, c'est 0 minute" in unescape(wrong.get_data(as_text=True))
    with sessions() as session:
        assert session.scalars(select(AttendanceMarkRow)).all() == []  # nothing stored

    saved = trainer.post(f"/feuilles/{HANDICAP}", data=marks_form(
        trainer, "save", **{f"presence:{PAUL}:1": "partial", f"minutes:{PAUL}:1": "30"}), follow_redirects=True)
    assert "Corrections enregistrées" in unescape(saved.get_data(as_text=True))
    with sessions() as session:
        [correction] = session.scalars(select(AttendanceMarkRow)).all()
    assert (correction.access_id, correction.part, correction.presence, correction.minutes,
            correction.corrected_by) == (PAUL, 1, "partial", 30, "tom")

    early = trainer.post(f"/feuilles/{HANDICAP}", data=marks_form(
        trainer, "sign", signer_name="Jeanne Martin", attest="yes"))
    assert "la session se termine le 15/09/2023 à 17:00 : la feuille se signe après" in unescape(
        early.get_data(as_text=True))

    clock.set(datetime(2023, 9, 15, 17, 30, tzinfo=PARIS))
    unattested = trainer.post(f"/feuilles/{HANDICAP}", data=marks_form(trainer, "sign", signer_name="Jeanne Martin"))
    assert "cochez l'attestation pour signer" in unescape(unattested.get_data(as_text=True))

    signed = trainer.post(f"/feuilles/{HANDICAP}", data=marks_form(
        trainer, "sign", signer_name="Jeanne Martin", attest="yes"), follow_redirects=True)
    shown = text(signed.get_data(as_text=True))
    assert "Feuille signée. Le service fait n'a pas pu être transmis" in shown  # the broker is away
    assert "Signée par Jeanne Martin (tom) le 15/09/2023 17:30." in shown
    assert "Transmettre le service fait" in shown
    with sessions() as session:
        row = session.get(SignedSheetRow, HANDICAP)
    assert row is not None
    assert row.sheet_sha256 == digest(row.sheet)
    people = {p["access_id"]: p for p in row.sheet["participants"]}
    assert [(m["presence"], m["minutes"]) for m in people[CLAIRE]["marks"]] == [("present", 180), ("present", 180)]
    assert [(m["presence"], m["minutes"], m["corrected"]) for m in people[PAUL]["marks"]] == [
        ("partial", 45, False), ("partial", 30, True)]
    assert row.attestation.startswith("Je soussigné(e) Jeanne Martin")

    again = trainer.post(f"/feuilles/{HANDICAP}", data={"action": "save", f"presence:{PAUL}:0": "absent",
                                                        "csrf_token": token(trainer, f"/feuilles/{HANDICAP}")})
    assert "la feuille est signée : elle ne change plus" in unescape(again.get_data(as_text=True))


@pytest.mark.usefixtures("seats")
@pytest.mark.parametrize("field", [
    {"presence:access-nobody:0": "present"},
    {f"presence:{PAUL}:7": "present"},
    {f"presence:{PAUL}:0": "<script>"},
    {f"presence:{PAUL}:0": "partial", f"minutes:{PAUL}:0": "1e9"},
    {f"presence:{PAUL}:0": "partial", f"minutes:{PAUL}:0": "99999999999999999999"},
])
def test_a_forged_or_impossible_mark_is_refused_and_nothing_is_stored(
        settings: Settings, tmp_path: Path, sessions: sessionmaker[Session], field: dict[str, str]) -> None:
    trainer = client_for(settings, tmp_path, "tom", "trainer")
    answer = trainer.post(f"/feuilles/{HANDICAP}", data={**field, "action": "save",
                                                         "csrf_token": token(trainer, f"/feuilles/{HANDICAP}")})
    assert answer.status_code == 400
    assert "Rien n'a été enregistré" in unescape(answer.get_data(as_text=True))
    with sessions() as session:
        assert session.scalars(select(AttendanceMarkRow)).all() == []


def test_operations_read_the_sheet_but_only_a_trainer_changes_it_and_support_does_not_see_it(
        settings: Settings, tmp_path: Path) -> None:
    operations = client_for(settings, tmp_path, "olga", "operations")
    assert operations.get(f"/feuilles/{HANDICAP}").status_code == 200
    assert "Seul le formateur ou la formatrice corrige et signe" in page_of(operations)
    english = text(operations.get(f"/feuilles/{HANDICAP}", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert "Only the trainer corrects and signs the sheet." in english
    assert "(09:30–12:45 and 13:45–17:00, Paris time)" in english
    assert "15/09/2023" not in english  # the date as English writes it
    assert operations.post(f"/feuilles/{HANDICAP}", data={
        "action": "sign", "csrf_token": token(operations, f"/feuilles/{HANDICAP}")}).status_code == 403
    support = client_for(settings, tmp_path, "alice", "support")
    assert support.get("/feuilles").status_code == 403
    assert operations.get("/feuilles/no-such-session").status_code == 404


def test_a_bigbluebutton_report_without_e_mails_is_matched_by_a_name_only_one_participant_has(
        sessions: sessionmaker[Session], clock: FileClock) -> None:
    """BigBlueButton's export has no e-mail: "DURAND Claire" and "claire durand" are Claire; two Paul Leroy in
    the session would be unmatched both, never one taken for the other."""
    with sessions() as session, session.begin():
        for access_id, first, last in (("a-claire", "Claire", "DURAND"), ("a-paul", "Paul", "LEROY"),
                                       ("a-paul-2", "Paul", "Leroy"), ("a-ines", "Inès", "ROY")):
            session.add(ParticipantAccessRow(
                id=access_id, registration_id="dep-94", session_id=HANDICAP, email=f"{access_id}@example.org",
                civilite=None, first_name=first, last_name=last, token_hash=access_id.ljust(64, "0"), status=ACTIVE,
                sequence=0, created_at=clock.now(), revoked_at=None, revoked_reason=None))
    header = ("Name,Moderator,Activity Score,Talk Time,Webcam Time,Messages,Reactions,Poll Votes,Raise Hands,Join,"
              "Left,Duration")
    rows = ['"DURAND Claire","FALSE","0","-","-","0","0","0","0","9/15/2023, 09:31:12 AM","9/15/2023, 05:00:00 PM",'
            '"07:28:48"', '"ines  roy","FALSE","0","-","-","0","0","0","0","9/15/2023, 09:35:00 AM",'
            '"9/15/2023, 12:45:00 PM","03:10:00"', '"Paul Leroy","FALSE","0","-","-","0","0","0","0",'
            '"9/15/2023, 09:35:00 AM","9/15/2023, 12:45:00 PM","03:10:00"']
    done = import_report(sessions, clock, HANDICAP, "\r\n".join([header, *rows]).encode())
    assert (done.layout, done.added) == ("bigbluebutton", 3)
    assert [line["name"] for line in done.unmatched] == ["Paul Leroy"]  # two of them in the session
    with sessions() as session:
        matched = dict(session.execute(select(AttendanceLineRow.name, AttendanceLineRow.access_id)).all())
    assert matched == {"DURAND Claire": "a-claire", "ines  roy": "a-ines", "Paul Leroy": None}


def test_a_trainer_sees_and_signs_only_the_sheets_of_the_sessions_that_name_them(
        settings: Settings, tmp_path: Path, sessions: sessionmaker[Session], clock: FileClock) -> None:
    CatalogueDesk(sessions, clock, load_catalogue().schedule).edit_session(HANDICAP, {"trainer": "Jeanne Martin"})
    other = client_for(settings, tmp_path, "marc", "trainer", full_name="Marc Petit")
    assert other.get(f"/feuilles/{HANDICAP}").status_code == 403
    assert HANDICAP not in text(other.get("/feuilles").get_data(as_text=True))
    assert other.post(f"/feuilles/{HANDICAP}", data={
        "action": "save", "csrf_token": token(other, "/feuilles")}).status_code == 403
    jeanne = client_for(settings, tmp_path, "jeanne", "trainer", full_name="jeanne  MARTIN")
    assert HANDICAP in text(jeanne.get("/feuilles").get_data(as_text=True))
    page = jeanne.get(f"/feuilles/{HANDICAP}").get_data(as_text=True)
    assert 'name="signer_name" maxlength="200" autocomplete="name" value="jeanne  MARTIN"' in page


@pytest.mark.usefixtures("seats")
def test_the_evidence_pack_gives_the_signed_sheet_its_digest_and_the_connections_to_finance(
        settings: Settings, tmp_path: Path, clock: FileClock, sessions: sessionmaker[Session]) -> None:
    clock.set(datetime(2023, 9, 15, 17, 30, tzinfo=PARIS))
    desk = SheetDesk(sessions, clock, load_catalogue().schedule)
    signed = desk.sign(HANDICAP, signer="Jeanne Martin", attested=True, by="tom")
    finance = client_for(settings, tmp_path, "fanny", "finance")

    data = finance.get(f"/feuilles/{HANDICAP}/dossier.json").get_json()
    assert data["signature"]["sheet_sha256"] == signed.sheet_sha256
    assert data["signature"]["attestation"].startswith("Je soussigné(e) Jeanne Martin")
    people = {p["email"]: p for p in data["participants"]}
    assert (people["paul.leroy@valdemarne.fr"]["presence"], people["paul.leroy@valdemarne.fr"]["connected_minutes"],
            people["paul.leroy@valdemarne.fr"]["report_lines"]) == ("partial", [45, 0], 1)
    assert data["unmatched_report_lines"] == 1

    pdf = finance.get(f"/feuilles/{HANDICAP}/dossier.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    for said in ("Dossier de preuves de réalisation", "Je soussigné(e) Jeanne Martin", signed.sheet_sha256,
                 "Paul Leroy", "partiel, 45 min", "Aucun certificat émis."):
        assert said in text, said
    assert finance.get(f"/feuilles/{HANDICAP}/dossier.exe").status_code == 404
    assert finance.get("/feuilles/no-such-session/dossier.pdf").status_code == 404
    support = client_for(settings, tmp_path, "alice", "support")
    assert support.get(f"/feuilles/{HANDICAP}/dossier.json").status_code == 403
