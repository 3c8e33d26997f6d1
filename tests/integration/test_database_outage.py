"""The database goes away: a consumer holds the message in hand and waits, instead of burning its
attempts (and its whole queue) on retries; past REGFLOW_DATABASE_WAIT_SECONDS it counts one retry."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url

from consumers import validation
from consumers.runner import handle_message
from schemas.form import RegistrationForm
from schemas.messages import Envelope, SubmitRegistration
from tests.conftest import load_form
from tests.faults.proxy import TcpProxy
from workflow.bootstrap import Deps, bootstrap
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(settings: Settings) -> Iterator[TcpProxy]:
    url = make_url(settings.database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as database_proxy:
        yield database_proxy


def through(settings: Settings, proxy: TcpProxy, wait: float) -> Deps:
    url = make_url(settings.database_url).set(host="127.0.0.1", port=proxy.port)
    return bootstrap(settings.model_copy(update={
        "database_url": url.render_as_string(hide_password=False), "database_wait_seconds": wait}))


def submission(deps: Deps, registration_id: str) -> bytes:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    return Envelope(type="cmd.registration.submit", occurred_at=deps.clock.now(), registration_id=registration_id,
                    correlation_id="6f1c1d2e-0000-4000-8000-000000000002", producer="test",
                    payload=SubmitRegistration(form=form).model_dump(mode="json")).model_dump_json().encode()


def test_a_short_outage_is_waited_out_with_the_message_in_hand(settings: Settings, proxy: TcpProxy) -> None:
    deps = through(settings, proxy, wait=30)
    assert handle_message(validation.APP, deps, submission(deps, "warm-up")).kind == "ack"  # pool connected
    proxy.refuse(1.5)  # open connections cut, new ones refused for 1.5 s
    started = time.monotonic()
    outcome = handle_message(validation.APP, deps, submission(deps, "during-outage"))
    assert outcome.kind == "ack", outcome.reason
    assert time.monotonic() - started >= 1.0, "it waited for the database"
    view = registration_timeline(deps.sessions, "during-outage")
    assert view is not None
    assert view["state"] == "confirmed"


def test_a_long_outage_counts_one_retry_after_the_wait(settings: Settings, proxy: TcpProxy) -> None:
    deps = through(settings, proxy, wait=1)
    proxy.refuse(30)
    outcome = handle_message(validation.APP, deps, submission(deps, "long-outage"))
    assert outcome.kind == "retry"
    assert outcome.reason.startswith("database: ")
