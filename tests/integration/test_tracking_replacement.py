"""The gestionnaire asks for a replacement on the tracking page (issue #19), over the real database and broker: the
newcomer checked with the form's participant rules next to each field, a registration not yet final refused, the
request published as support's command (asked by the gestionnaire), the page saying it is being processed."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.integration.test_join_service import text_of
from tests.integration.test_online_form import public as public  # noqa: PLC0414 (the fixture)
from tests.integration.test_online_form import published
from tests.integration.test_signature_scans import waiting
from workflow.bootstrap import Deps
from workflow.settings import Settings

pytestmark = pytest.mark.integration
INES = {"replaced": "paul.leroy@valdemarne.fr", "civilite": "Mme", "first_name": "Inès", "last_name": "ROY",
        "email": "ines.roy@valdemarne.fr"}


@pytest.mark.parametrize(("changes", "field", "said"), [
    ({"email": "ines.roy@"}, "replacement.email", "e-mail"),
    ({"replaced": "nobody@valdemarne.fr"}, "replaced", "Choisissez le participant à remplacer"),
    ({"email": "claire.durand@valdemarne.fr"}, "replacement.email", ""),  # already a participant
])
def test_a_wrong_replacement_is_refused_next_to_its_field_and_nothing_sent(  # noqa: PLR0917 (fixtures)
        public: FlaskClient, deps: Deps, settings: Settings, changes: dict[str, str], field: str, said: str) -> None:
    path = waiting(deps, state="invoiced")
    answer = public.post(f"{path}/remplacement", data={**INES, **changes})
    assert answer.status_code == 422
    assert f'id="error-{field}"' in answer.get_data(as_text=True)
    assert said.lower() in text_of(answer).lower()
    assert published(settings) == []


def test_a_registration_waiting_for_its_signature_is_not_replaced(public: FlaskClient, deps: Deps,
                                                                  settings: Settings) -> None:
    path = waiting(deps, state="received")
    assert "Remplacer un participant" not in text_of(public.get(path))
    answer = public.post(f"{path}/remplacement", data=INES)
    assert "ne permet plus de remplacement" in text_of(answer)
    assert published(settings) == []


def test_a_valid_request_goes_out_as_support_s_command_asked_by_the_gestionnaire(
        public: FlaskClient, deps: Deps, settings: Settings) -> None:
    path = waiting(deps, state="invoiced")
    answer = public.post(f"{path}/remplacement", data=INES)
    assert answer.status_code == 200
    assert "Demande envoyée : elle est en cours de traitement." in text_of(answer)  # no consumer runs here
    [command] = published(settings)
    assert (command["type"], command["registration_id"]) == ("cmd.registration.replace_participant", "dep-94")
    payload = command["payload"]
    assert (payload["replaced_email"], payload["requested_by"]) == ("paul.leroy@valdemarne.fr",
                                                                    "gestionnaire formation@valdemarne.fr")
    assert payload["replacement"]["email"] == "ines.roy@valdemarne.fr"
