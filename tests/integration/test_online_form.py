"""The online registration form and the gestionnaire's tracking page (issue #19), over the real database and broker:
the sessions open to registration, rows added and removed without JavaScript, every refusal next to its field with
what was typed kept, the command published once sent (the validation queue holds it), the broker away (503,
nothing lost), the tracking page's token, and the pre-filled form's text read back from the PDF."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from typing import Any

import pika
import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader

from regflow.join import create_join_app
from regflow.join.tracking import tracking_path
from tests.integration.test_backoffice_pages import _add_registration
from tests.integration.test_join_service import text_of
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.settings import Settings

pytestmark = pytest.mark.integration
SESSION = "cpom-handicap-2023-09-15"
FIELDS = {"client.name": "Département du Val-de-Marne", "client.address.street": "Avenue du Général de Gaulle",
          "client.address.postal_code": "94054", "client.address.city": "Créteil", "client.category": "local_authority",
          "client.siret": "22940028800010", "gestionnaire.email": "formation@valdemarne.fr",
          "gestionnaire.first_name": "Sophie", "gestionnaire.last_name": "MARTIN",
          "gestionnaire.service": "Direction de l'autonomie", "gestionnaire.phone": "01 43 99 70 00",
          "participants[0].civilite": "Mme", "participants[0].first_name": "Claire",
          "participants[0].last_name": "DURAND", "participants[0].email": "claire.durand@valdemarne.fr",
          "participants[1].civilite": "M.", "participants[1].first_name": "Paul",
          "participants[1].last_name": "LEROY", "participants[1].email": "paul.leroy@valdemarne.fr"}


@pytest.fixture
def public(settings: Settings, clock: FileClock) -> FlaskClient:
    clock.set(datetime(2023, 9, 1, 10, tzinfo=PARIS))
    return create_join_app(settings.model_copy(update={"join_requests_per_minute": 1000})).test_client()


def submission_of(page: Any) -> str:
    found = re.search(r'name="submission" value="([0-9a-f-]{36})"', page.get_data(as_text=True))
    assert found, "the form carries its own id"
    return found.group(1)


def published(settings: Settings) -> list[dict[str, Any]]:
    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        channel, found = connection.channel(), []
        while True:
            method, _, body = channel.basic_get(f"{settings.namespace}.validation", auto_ack=True)
            if method is None:
                return found
            found.append(json.loads(body))
    finally:
        connection.close()


def test_the_open_sessions_are_listed_with_their_price_and_deadline(public: FlaskClient) -> None:
    page = text_of(public.get("/inscription"))
    assert "Mettre en place un CPOM" in page or "CPOM" in page
    assert "inscriptions jusqu'au 14/09/2023" in page
    assert public.get("/inscription/no-such-session").status_code == 404


def test_rows_are_added_and_removed_by_the_form_s_own_buttons(public: FlaskClient) -> None:
    first = public.get(f"/inscription/{SESSION}")
    html = first.get_data(as_text=True)
    assert html.count('name="participants[') == 4  # one row of four fields
    added = public.post(f"/inscription/{SESSION}", data={**FIELDS, "action": "add",
                                                         "submission": submission_of(first)})
    html = added.get_data(as_text=True)
    assert 'name="participants[2].email"' in html
    assert 'value="paul.leroy@valdemarne.fr"' in html  # what was typed is kept
    assert "( 2 ) x 595,00 € = " in text_of(added)
    removed = public.post(f"/inscription/{SESSION}", data={**FIELDS, "action": "remove:0"})
    html = removed.get_data(as_text=True)
    assert 'value="claire.durand@valdemarne.fr"' not in html
    assert 'value="paul.leroy@valdemarne.fr"' in html


@pytest.mark.parametrize(("changes", "field", "said"), [
    ({"client.siret": "22940028800011"}, "client.siret", "SIRET"),
    ({"participants[1].email": "paul.leroy@"}, "participants[1].email", "e-mail"),
    ({"client.category": "pirate"}, "client.category", "Valeur non reconnue"),
    ({"gestionnaire.first_name": "Sophie\u202e"}, "gestionnaire.first_name", "caractère"),
    ({"client.name": ""}, "client.name", ""),
])
def test_a_wrong_field_is_refused_with_its_message_next_to_it_and_nothing_sent(
        public: FlaskClient, settings: Settings, changes: dict[str, str], field: str, said: str) -> None:
    answer = public.post(f"/inscription/{SESSION}", data={**FIELDS, **changes, "action": "send"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    found = re.search(rf'id="error-{re.escape(field)}" role="alert"><strong>([^<]+)</strong>', html)
    assert found, html[:2000]
    assert said.lower() in found.group(1).lower()
    assert 'value="claire.durand@valdemarne.fr"' in html
    assert published(settings) == []


def test_a_form_that_passes_is_published_once_and_the_browser_sent_to_its_tracking_page(
        public: FlaskClient, settings: Settings) -> None:
    submission = submission_of(public.get(f"/inscription/{SESSION}"))
    answer = public.post(f"/inscription/{SESSION}", data={**FIELDS, "action": "send", "submission": submission})
    assert answer.status_code == 303
    assert answer.headers["Location"] == tracking_path(settings.require_secret("link_secret"), submission)
    [command] = published(settings)
    assert (command["type"], command["registration_id"]) == ("cmd.registration.submit", submission)
    form = command["payload"]["form"]
    assert (form["declared_participant_count"], form["declared_total"], form["signature"]) == (2, "1190.00", None)
    assert [p["email"] for p in form["participants"]] == ["claire.durand@valdemarne.fr", "paul.leroy@valdemarne.fr"]
    pending = public.get(answer.headers["Location"])
    assert "son enregistrement prend quelques secondes" in text_of(pending)


def test_with_the_broker_away_the_page_says_so_and_keeps_everything(settings: Settings, clock: FileClock) -> None:
    clock.set(datetime(2023, 9, 1, 10, tzinfo=PARIS))
    away = create_join_app(settings.model_copy(update={"broker_url": "amqp://127.0.0.1:1/%2F"})).test_client()
    answer = away.post(f"/inscription/{SESSION}", data={**FIELDS, "action": "send"})
    assert answer.status_code == 503
    assert "rien n'est perdu" in text_of(answer)
    assert 'value="paul.leroy@valdemarne.fr"' in answer.get_data(as_text=True)


def test_a_form_too_large_is_refused_before_it_is_read(public: FlaskClient) -> None:
    answer = public.post(f"/inscription/{SESSION}", data={**FIELDS, "client.name": "x" * 600_000})
    assert answer.status_code == 413


def test_the_tracking_page_needs_its_token_and_serves_the_pre_filled_form(
        public: FlaskClient, deps: Deps, settings: Settings) -> None:
    _add_registration(deps, "dep-94")
    path = tracking_path(settings.require_secret("link_secret"), "dep-94")
    assert public.get(path[:-1] + ("A" if path[-1] != "A" else "B")).status_code == 404
    assert public.get("/suivi/dep-95/" + path.rsplit("/", 1)[1]).status_code == 404  # another registration's token
    page = text_of(public.get(path))
    assert "confirmée et facturée" in page
    assert "Mme Claire DURAND" in page
    pdf = public.get(f"{path}/formulaire.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    for said in ("Formulaire d'inscription", "Département du Val-de-Marne", "22940028800010", "Sophie MARTIN",
                 "claire.durand@valdemarne.fr", "paul.leroy@valdemarne.fr",
                 "nombre de participants ( 2 ) x 595,00 € = 1 190,00 €", "Fait à", "Par (nom du signataire)",
                 "Signature et cachet", "Réf. dep-94"):
        assert said in text, said
