"""The signed form sent back as a scan (issue #19), over the real database and broker: the tracking page takes a
PDF, JPEG or PNG told by its content and refuses the rest by name; support's "signatures to check" opens it and
accepts it (the sign command in the validation queue) or refuses it with a reason the gestionnaire reads."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from regflow.join.tracking import tracking_path
from regflow.web import create_app
from regflow.web.users import UserStore
from tests.conftest import load_form
from tests.integration.test_backoffice_pages import PASSWORD, login, token
from tests.integration.test_join_service import text_of
from tests.integration.test_online_form import public as public  # noqa: PLC0414 (the fixture)
from tests.integration.test_online_form import published
from workflow.bootstrap import Deps
from workflow.persistence.orm import RegistrationRow, SignatureScanRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration
NOWHERE = "amqp://127.0.0.1:1/%2F"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 280), "white").save(out, "PNG")
    return out.getvalue()


def waiting(deps: Deps, registration_id: str = "dep-94", state: str = "received") -> str:
    form = {**load_form("handicap-departement.json"), "signature": None}
    with deps.sessions() as session, session.begin():
        now = deps.clock.now()
        session.add(RegistrationRow(
            id=registration_id, state=state, version=1, training_id=form["training_id"],
            session_id=form["session_id"], client_name="Département du Val-de-Marne", client_is_public=True,
            form=form, errors=[], warnings=[], created_at=now, updated_at=now))
    return tracking_path(deps.settings.require_secret("link_secret"), registration_id)


def upload(public: FlaskClient, path: str, content: bytes, name: str = "scan.pdf") -> Any:
    return public.post(f"{path}/scan", data={"scan": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def scans(deps: Deps) -> list[tuple[str, str, str | None]]:
    with deps.sessions() as session:
        return [(s.media_type, s.status, s.reason) for s in session.scalars(select(SignatureScanRow))]


PDF = b"%PDF-1.4\n" + b"1 0 obj << >> endobj\n" * 20 + b"trailer << >>\n%%EOF\n"


@pytest.mark.parametrize(("content", "said"), [
    (b"MZ\x90\x00" + b"\x00" * 400, "Seuls un PDF, une image JPEG ou PNG sont acceptés"),  # a program named .pdf
    (PDF[:-7], "Ce PDF est incomplet"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 400, "Cette image ne peut pas être lue"),  # a JPEG's header, nothing after
    (b"", "Le fichier est vide"),
])
def test_a_file_that_is_no_scan_is_refused_by_name_and_nothing_kept(
        public: FlaskClient, deps: Deps, content: bytes, said: str) -> None:
    path = waiting(deps)
    answer = upload(public, path, content)
    assert answer.status_code == 422
    assert said in text_of(answer)
    assert scans(deps) == []


def test_a_scan_over_the_limit_is_refused_before_it_is_read(public: FlaskClient, deps: Deps) -> None:
    path = waiting(deps)
    assert upload(public, path, PDF + b"0" * (11 * 1024 * 1024)).status_code == 413
    assert scans(deps) == []


def test_a_registration_no_longer_waiting_takes_no_scan_and_a_forged_link_none(public: FlaskClient, deps: Deps) -> None:
    path = waiting(deps, state="invoiced")
    assert "n'attend plus de signature" in text_of(upload(public, path, PDF))
    assert upload(public, path[:-2] + "xx", PDF).status_code == 404
    assert scans(deps) == []


@pytest.fixture
def support(settings: Settings, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD, ["support"])
    users.add("fanny", PASSWORD, ["finance"])
    client = create_app(settings.model_copy(update={"web_users_file": users.path, "development": True})).test_client()
    login(client, name="alice")
    return client


def scan_id(support: FlaskClient) -> str:
    found = re.search(r'id="scan-(\d+)"', support.get("/signatures").get_data(as_text=True))
    assert found, "the scan is listed"
    return found.group(1)


def test_support_opens_the_scan_and_accepts_it_and_the_sign_command_goes_out(
        public: FlaskClient, support: FlaskClient, deps: Deps, settings: Settings) -> None:
    path = waiting(deps)
    assert upload(public, path, png(), "tampon.png").status_code == 303
    assert "en cours de vérification par nos services" in text_of(public.get(path))
    one = scan_id(support)
    opened = support.get(f"/signatures/{one}/scan")
    assert (opened.headers["Content-Type"], opened.data[:4]) == ("image/png", b"\x89PNG")
    assert "sandbox" in opened.headers["Content-Security-Policy"]
    csrf = token(support, "/signatures")
    bad = support.post(f"/signatures/{one}", data={"decision": "accept", "place": "Créteil", "signed_on": "28/08",
                                                   "signatory": "Sophie MARTIN", "csrf_token": csrf})
    assert bad.status_code == 400
    accepted = support.post(f"/signatures/{one}", data={"decision": "accept", "place": "Créteil",
                                                        "signed_on": "2023-08-28", "signatory": "Sophie MARTIN",
                                                        "csrf_token": csrf})
    assert accepted.status_code == 303
    [command] = published(settings)
    assert (command["type"], command["registration_id"]) == ("cmd.registration.sign", "dep-94")
    assert command["payload"]["signature"] == {"place": "Créteil", "signed_on": "2023-08-28",
                                               "signatory": "Sophie MARTIN", "method": "stamp",
                                               "electronic_reference": None}
    assert scans(deps) == [("image/png", "accepted", None)]
    assert support.post(f"/signatures/{one}", data={"decision": "refuse", "reason": "x",
                                                    "csrf_token": csrf}).status_code == 409


def test_a_refused_scan_s_reason_is_on_the_tracking_page(public: FlaskClient, support: FlaskClient,
                                                         deps: Deps) -> None:
    path = waiting(deps)
    upload(public, path, PDF)
    refused = support.post(f"/signatures/{scan_id(support)}", data={
        "decision": "refuse", "reason": "le cachet de la collectivité manque", "csrf_token": token(support)})
    assert refused.status_code == 303
    assert "refusé : le cachet de la collectivité manque" in text_of(public.get(path))


def test_with_the_broker_away_the_acceptance_is_undone(public: FlaskClient, deps: Deps, settings: Settings,
                                                       tmp_path: Path) -> None:
    path = waiting(deps)
    upload(public, path, PDF)
    users = UserStore(tmp_path / "away.json")
    users.add("alice", PASSWORD, ["support"])
    away = create_app(settings.model_copy(update={"web_users_file": users.path, "broker_url": NOWHERE,
                                                  "development": True})).test_client()
    login(away, name="alice")
    answer = away.post(f"/signatures/{scan_id(away)}", data={
        "decision": "accept", "place": "Créteil", "signed_on": "2023-08-28", "signatory": "Sophie MARTIN",
        "csrf_token": token(away, "/signatures")})
    assert answer.status_code == 503
    assert scans(deps) == [("application/pdf", "to_check", None)]


def test_only_support_checks_signatures(support: FlaskClient) -> None:
    english = text_of(support.get("/signatures", headers={"Accept-Language": "en"}))
    assert "No signed form to check." in english
    assert "Signatures to check" in english
    support.get("/logout")
    login(support, name="fanny")
    assert support.get("/signatures").status_code == 403
