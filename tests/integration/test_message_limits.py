"""A message over REGFLOW_MAX_MESSAGE_BYTES is refused at the source and parked, unread, by a consumer."""

from __future__ import annotations

import pytest

from consumers import validation
from consumers.runner import handle_message
from producers.commands import CommandClient, MessageTooLargeError
from schemas.form import RegistrationForm
from tests.conftest import load_form
from workflow.bootstrap import Deps
from workflow.settings import Settings

pytestmark = pytest.mark.integration


def test_an_oversized_message_is_parked_before_it_is_parsed(deps: Deps) -> None:
    limit = deps.settings.max_message_bytes
    outcome = handle_message(validation.APP, deps, b"{" + b" " * limit + b"}")
    assert outcome.kind == "park"
    assert outcome.reason == (f"malformed: message of {limit + 2} bytes, over the limit of {limit} "
                              "(REGFLOW_MAX_MESSAGE_BYTES)")


def test_the_intake_refuses_to_send_an_oversized_form_and_sends_nothing(settings: Settings) -> None:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))  # about 1.4 KB on the wire
    small = settings.model_copy(update={"max_message_bytes": 1024})
    with CommandClient(small) as client, pytest.raises(MessageTooLargeError,
                                                       match=r"over the limit of 1024 bytes .* nothing sent"):
        client.submit_form(form, "too-big")
