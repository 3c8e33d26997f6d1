"""The join service's pages, over the real database and the shared file clock: each answer a participant can meet
(unknown, transferred, too early with its .ics, during the session: recorded then 302, ended), the participant's
page of the session (/j/<token>/seance), its guards (token shape, constant-time check, rate limit, nothing
personal in logs) and its health."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select

from regflow.join import RequestRate, create_join_app
from tests.conftest import wait_until
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.access_links import ACTIVE, REVOKED, new_access_id, token_for, token_hash
from workflow.domain.clock import PARIS
from workflow.ops.catalogue import CatalogueDesk
from workflow.persistence.orm import EmailRow, JoinRecordRow, ParticipantAccessRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration
SESSION = "cpom-handicap-2023-09-15"  # 15 September 2023, 9h30-17h00 Paris
ROOM = "https://visio.example.org/salle/cpom-handicap"


def grant(deps: Deps, status: str = ACTIVE, session_id: str = SESSION) -> str:
    """An access as the notifications consumer grants it; its token, as the invitation's link ends."""
    access_id = new_access_id()
    token = token_for(deps.settings.require_secret("link_secret"), access_id)
    with deps.sessions() as session:
        session.add(ParticipantAccessRow(
            id=access_id, registration_id="r-1", session_id=session_id, email="claire.durand@valdemarne.fr",
            civilite="Mme", first_name="Claire", last_name="DURAND", token_hash=token_hash(token), status=status,
            sequence=0, created_at=deps.clock.now(), revoked_at=None if status == ACTIVE else deps.clock.now(),
            revoked_reason=None if status == ACTIVE else "replaced"))
        session.commit()
    return token


@pytest.fixture
def join(settings: Settings, deps: Deps) -> FlaskClient:
    CatalogueDesk(deps.sessions, deps.clock, deps.schedule).edit_session(SESSION, {"join_url": ROOM})
    return create_join_app(settings.model_copy(update={"join_requests_per_minute": 1000})).test_client()


def text_of(response: object) -> str:
    """What a person reads: the tags taken out, the white space folded."""
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


def mailed(deps: Deps, token: str, kind: str, sent_at: datetime, *, status: str = "sent",
           recipient: str = "claire.durand@valdemarne.fr", for_access: bool = True,
           attachments: list[dict[str, object]] | None = None) -> None:
    """An e-mail of the outbox as the notifications consumer leaves it, for the access of `token` (or not)."""
    with deps.sessions() as session:
        access = session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.token_hash == token_hash(token))).one()
        key = f"{access.registration_id}:{kind}:{recipient}:{sent_at.isoformat()}"
        session.add(EmailRow(
            idempotency_key=key, registration_id=access.registration_id, kind=kind, recipient=recipient,
            subject=f"Sujet {kind} F-2023-000042", template=kind,
            context={"access_id": access.id if for_access else None}, attachments=attachments or [],
            status=status, attempts=1, next_attempt_at=sent_at, last_error=None, message_id=f"<{key}@ipp.fr>",
            created_at=sent_at, sent_at=sent_at if status == "sent" else None))
        session.commit()


def ics_of(deps: Deps, token: str) -> list[dict[str, object]]:
    with deps.sessions() as session:
        access = session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.token_hash == token_hash(token))).one()
        return [{"type": "ics", "access_id": access.id, "session_id": SESSION, "method": "REQUEST", "sequence": 0}]


def joins(deps: Deps) -> list[tuple[str, datetime]]:
    with deps.sessions() as session:
        return [(r.session_id, r.joined_at) for r in session.scalars(select(JoinRecordRow))]


def test_before_the_doors_open_the_page_gives_the_date_the_paris_time_and_the_ics(
        join: FlaskClient, deps: Deps, clock: FileClock) -> None:
    token = grant(deps)
    clock.set(datetime(2023, 9, 15, 8, 59, tzinfo=PARIS))
    answer = join.get(f"/j/{token}")
    page = text_of(answer)
    assert answer.status_code == 200
    assert "vendredi 15 septembre 2023, de 9h30 à 12h45 et de 13h45 à 17h00 (heure de Paris)" in page
    assert "La salle de visioconférence ouvre à 9h00" in page
    assert joins(deps) == []
    ics = join.get(f"/j/{token}/invitation.ics")
    assert ics.headers["Content-Type"].startswith("text/calendar")
    [event] = Calendar.from_ical(ics.data).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2023, 9, 15, 9, 30, tzinfo=PARIS)
    assert str(event["url"]).endswith(f"/{token}")


def test_during_the_session_the_join_is_recorded_then_the_participant_sent_to_the_room(
        join: FlaskClient, deps: Deps, clock: FileClock) -> None:
    token = grant(deps)
    clock.set(datetime(2023, 9, 15, 9, 0, tzinfo=PARIS))  # the doors open 30 minutes before
    answer = join.get(f"/j/{token}")
    assert (answer.status_code, answer.headers["Location"]) == (302, ROOM)
    clock.set(datetime(2023, 9, 15, 13, 50, tzinfo=PARIS))  # back after lunch
    assert join.get(f"/j/{token}").status_code == 302
    assert joins(deps) == [(SESSION, datetime(2023, 9, 15, 9, 0, tzinfo=PARIS)),
                           (SESSION, datetime(2023, 9, 15, 13, 50, tzinfo=PARIS))]


def test_after_the_session_the_page_says_it_has_ended_and_records_nothing(
        join: FlaskClient, deps: Deps, clock: FileClock) -> None:
    token = grant(deps)
    clock.set(datetime(2023, 9, 15, 17, 0, tzinfo=PARIS))
    answer = join.get(f"/j/{token}")
    assert answer.status_code == 410
    assert "La séance est terminée" in text_of(answer)
    assert joins(deps) == []


def test_a_revoked_link_says_the_seat_was_transferred_and_whom_to_contact(
        join: FlaskClient, deps: Deps, settings: Settings, clock: FileClock) -> None:
    token = grant(deps, status=REVOKED)
    clock.set(datetime(2023, 9, 15, 10, tzinfo=PARIS))
    answer = join.get(f"/j/{token}")
    page = text_of(answer)
    assert answer.status_code == 410
    assert "a été transférée à une autre personne" in page
    assert settings.seller_email in page
    assert "Claire" not in page
    assert joins(deps) == []
    assert join.get(f"/j/{token}/invitation.ics").status_code == 404


def test_the_session_page_gives_the_title_the_paris_times_the_programme_the_link_and_what_was_sent(
        join: FlaskClient, deps: Deps, settings: Settings, clock: FileClock) -> None:
    token = grant(deps)
    other = grant(deps)  # a colleague of the same registration
    mailed(deps, token, "invitation", datetime(2023, 9, 1, 10, 0, tzinfo=PARIS), attachments=ics_of(deps, token))
    mailed(deps, token, "reminder", datetime(2023, 9, 14, 9, 30, tzinfo=PARIS))
    mailed(deps, token, "session_moved", datetime(2023, 9, 5, 11, 15, tzinfo=PARIS), attachments=[
        *ics_of(deps, token), {"type": "document", "path": "/etc/passwd", "filename": "../../../../etc/passwd"}])
    mailed(deps, token, "reminder", datetime(2023, 9, 15, 6, 30, tzinfo=PARIS), status="pending")
    mailed(deps, token, "invoice", datetime(2023, 9, 2, 8, 0, tzinfo=PARIS), for_access=False,
           attachments=[{"type": "invoice", "number": "F-2023-000042"}])  # the gestionnaire's, at the same address
    mailed(deps, other, "invitation", datetime(2023, 9, 1, 10, 5, tzinfo=PARIS), recipient="l.martin@valdemarne.fr")
    clock.set(datetime(2023, 9, 10, 18, 0, tzinfo=PARIS))
    answer = join.get(f"/j/{token}/seance")
    page, html = text_of(answer), answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'Etablissements et services "Handicap" : les outils de construction d\'un CPOM' in page
    assert "Vendredi 15 septembre 2023, de 9h30 à 12h45 et de 13h45 à 17h00 (heure de Paris)" in page
    assert "Construire un CPOM d'ESMS \"Handicap\" d'un point de vue pratique" in page
    assert "Les autorités de contrôle et tarification (ARS et Départements)" in page
    assert "Intervenant : Jean-François LE TROQUIER" in page
    assert f"{settings.join_base_url.rstrip('/')}/{token}" in page
    assert "à partir de 9h00 (30 minutes avant le début)" in page
    assert f'href="/j/{token}/invitation.ics"' in html
    assert join.get(f"/j/{token}/invitation.ics").headers["Content-Type"].startswith("text/calendar")
    assert re.findall(r"<li>([^<]+)</li>", html.split('id="mails"')[1].split("</ul>")[0]) == [
        "Vendredi 1er septembre 2023 à 10h00 : invitation, avec le fichier pour votre agenda (invitation.ics)",
        "Mardi 5 septembre 2023 à 11h15 : changement de date, avec le fichier pour votre agenda (invitation.ics)",
        "Jeudi 14 septembre 2023 à 9h30 : rappel"]
    for never in ("passwd", "F-2023-000042", "Sujet", "l.martin", other, "Claire", "DURAND"):
        assert never not in html
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<script" not in html
    assert joins(deps) == []


def test_the_session_page_follows_the_link_state_and_records_no_join(
        join: FlaskClient, deps: Deps, clock: FileClock) -> None:
    token = grant(deps)
    clock.set(datetime(2023, 9, 15, 8, 0, tzinfo=PARIS))
    assert f'href="/j/{token}/seance"' in join.get(f"/j/{token}").get_data(as_text=True)  # too early: linked
    clock.set(datetime(2023, 9, 15, 12, 50, tzinfo=PARIS))  # lunch: the room stays open
    during = join.get(f"/j/{token}/seance")
    assert during.status_code == 200
    assert "La salle est ouverte jusqu'à la fin de la journée : rejoindre la séance" in text_of(during)
    assert f'href="/j/{token}"' in during.get_data(as_text=True)
    assert joins(deps) == []  # only the link itself records a join
    clock.set(datetime(2023, 9, 15, 17, 0, tzinfo=PARIS))
    after = join.get(f"/j/{token}/seance")
    assert after.status_code == 200
    assert "La séance est terminée : ce lien n'ouvre plus la salle." in text_of(after)
    assert "Construire un CPOM" in text_of(after)
    assert f'href="/j/{token}/seance"' in join.get(f"/j/{token}").get_data(as_text=True)  # ended: linked


def test_the_session_page_of_a_revoked_link_says_the_seat_was_transferred(
        join: FlaskClient, deps: Deps, settings: Settings, clock: FileClock) -> None:
    token = grant(deps, status=REVOKED)
    mailed(deps, token, "invitation", datetime(2023, 9, 1, 10, 0, tzinfo=PARIS), attachments=ics_of(deps, token))
    clock.set(datetime(2023, 9, 10, 18, 0, tzinfo=PARIS))
    answer = join.get(f"/j/{token}/seance")
    page = text_of(answer)
    assert answer.status_code == 410
    assert "a été transférée à une autre personne" in page
    assert settings.seller_email in page
    for never in ("Claire", "invitation.ics", "Vendredi 1er septembre", token):
        assert never not in answer.get_data(as_text=True)


def test_the_session_page_of_an_unknown_odd_or_overlong_token_is_a_404_that_reflects_nothing(
        join: FlaskClient, deps: Deps) -> None:
    token = grant(deps)
    for path in ("/j/" + "A" * 43 + "/seance", "/j/short/seance", f"/j/{token[:-1]}%0A/seance",
                 f"/j/{token}x/seance", f"/j/{token[:-1]}%00/seance", "/j/%3Cscript%3Ealert(1)%3C%2Fscript%3E/seance",
                 "/j/" + "é" * 43 + "/seance", "/j/" + "A" * 10_000 + "/seance", f"/j/{token}/seance/" + "x" * 5_000,
                 f"/j/{token}/seance/../../../etc/passwd", f"/j/{token}/SEANCE"):
        answer = join.get(path)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 404, path[:60]
        assert "Lien inconnu" in text_of(answer)
        assert "<script" not in html
        assert token not in html
        assert "AAAAAAAAAAAAAAAAAAAA" not in html


@pytest.mark.parametrize("path", [
    "/j/" + "A" * 43, "/j/short", "/j/" + "A" * 44, "/j/%00" + "A" * 40, "/j/" + "é" * 43, "/j/",
    "/j/../../etc/passwd", "/nothing-here"])
def test_an_unknown_or_malformed_token_is_a_404_that_says_nothing_about_why(
        join: FlaskClient, deps: Deps, path: str) -> None:
    grant(deps)
    answer = join.get(path)
    assert answer.status_code == 404
    assert "Lien inconnu" in text_of(answer)


def test_a_token_of_another_secret_opens_nothing_even_with_its_hash_in_the_table(
        join: FlaskClient, deps: Deps, clock: FileClock) -> None:
    """The hash finds the row; the HMAC, compared in constant time, must match this service's secret too."""
    forged = token_for("another secret entirely, 32 chars+", "some-access")
    with deps.sessions() as session:
        session.add(ParticipantAccessRow(
            id="some-access", registration_id="r-1", session_id=SESSION, email="x@example.org", civilite=None,
            first_name=None, last_name=None, token_hash=token_hash(forged), status=ACTIVE, sequence=0,
            created_at=deps.clock.now(), revoked_at=None, revoked_reason=None))
        session.commit()
    clock.set(datetime(2023, 9, 15, 10, tzinfo=PARIS))
    assert join.get(f"/j/{forged}").status_code == 404
    assert joins(deps) == []


def test_an_address_that_asks_too_often_gets_429_and_others_are_still_answered(
        settings: Settings, deps: Deps) -> None:
    client = create_join_app(settings.model_copy(update={"join_requests_per_minute": 3})).test_client()
    answers = [client.get("/j/" + "B" * 43, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
               for _ in range(5)]
    assert answers == [404, 404, 404, 429, 429]
    assert client.get("/j/" + "B" * 43, environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 404
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_the_rate_window_slides() -> None:
    now = [0.0]
    rate = RequestRate(2, 60, now=lambda: now[0])
    assert [rate.allow("a"), rate.allow("a"), rate.allow("a")] == [True, True, False]
    now[0] = 60.1
    assert rate.allow("a")


def test_the_logs_and_metrics_hold_no_token_name_or_address(
        join: FlaskClient, deps: Deps, clock: FileClock, capsys: pytest.CaptureFixture[str]) -> None:
    token = grant(deps)
    clock.set(datetime(2023, 9, 15, 10, tzinfo=PARIS))
    assert join.get(f"/j/{token}", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302
    assert join.get(f"/j/{token}/seance", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    metrics = join.get("/metrics").get_data(as_text=True)
    assert 'regflow_join_requests_total{outcome="open"}' in metrics
    assert 'regflow_join_requests_total{outcome="seance"}' in metrics
    said = capsys.readouterr()
    logged = said.out + said.err + metrics
    for personal in (token, "198.51.100.7", "DURAND", "claire.durand"):
        assert personal not in logged


def test_the_join_server_runs_as_its_own_process_answers_its_health_and_stops_cleanly_on_sigterm(
        settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_CLOCK": settings.clock,
           "REGFLOW_DEVELOPMENT": "1", "REGFLOW_LOG_FORMAT": "json"}
    with (tmp_path / "join.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "regflow.cli", "join-server", "--port", str(port)],
                                   env=env, stdout=log, stderr=log)

    def health() -> int | None:
        assert process.poll() is None, (tmp_path / "join.log").read_text(errors="replace")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return int(response.status)
        except OSError:
            return None

    try:
        assert wait_until(health, "the join service's health", timeout=30) == 200
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/j/" + "C" * 43, timeout=5)
        assert unknown.value.code == 404
    finally:
        process.terminate()
    assert process.wait(15) == 0
