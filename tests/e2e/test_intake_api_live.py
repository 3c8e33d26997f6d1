"""The HTTP intake API live (issue #19, point 4): `regflow join-server` as its own process, the consumers as theirs.
A form sent unsigned through the API, then its signature, reaches 'invoiced', which GET tells with the history and
the invoice's number; and schemathesis, from the served OpenAPI document, sends what the schemas allow and what
they do not, to every operation: no server error, every status, header, media type and body as documented."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from regflow.api.keys import ApiKeyStore
from tests.conftest import RunningConsumers, load_form, wait_until
from tests.fleet import consumer_env
from tests.zygote import regflow_process
from workflow.adapters.clocks import FileClock
from workflow.domain.clock import PARIS
from workflow.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHARE_FLEET = True  # the flow test's consumers: one fleet for the module (tests/fleet.py)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = 25  # per operation and mode: about 300 requests, some 20 s on the CI machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_api(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`regflow join-server` as its own process with the test's database, broker, clock and one client's key:
    its URL and the key."""
    key = ApiKeyStore(tmp_path / "api-keys.json").add("crm")
    port, log = _free_port(), tmp_path / "join.log"
    env = {**consumer_env(settings, tmp_path / "crashed-once"),
           "REGFLOW_API_KEYS_FILE": str(tmp_path / "api-keys.json")}
    with log.open("ab") as output:
        process = regflow_process(["join-server", "--port", str(port)], env, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_until(healthy, "the join service", timeout=30)
    yield url, key
    process.terminate()
    process.wait(10)
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-4000:]


def send(url: str, key: str, path: str, body: Any, idempotency_key: str) -> requests.Response:
    return requests.post(f"{url}{path}", data=json.dumps(body), timeout=10, headers={
        "Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key, "Content-Type": "application/json"})


def test_a_form_and_its_signature_sent_through_the_api_reach_invoiced(
        live_api: tuple[str, str], consumers: RunningConsumers, clock: FileClock) -> None:
    url, key = live_api
    clock.set(datetime(2023, 9, 1, 10, tzinfo=PARIS))
    form = load_form("handicap-departement.json")
    signature = form.pop("signature")
    sent = send(url, key, "/api/v1/registrations", form, "e2e-form-0001")
    assert sent.status_code == 202, sent.text
    location = sent.headers["Location"]

    def status() -> dict[str, Any]:
        answer = requests.get(f"{url}{location}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    wait_until(lambda: status()["state"] == "received", "the form recorded, waiting for its signature")
    signed = send(url, key, f"{location}/signature", signature, "e2e-sign-0001")
    assert (signed.status_code, signed.headers["Location"]) == (202, location), signed.text
    invoiced = wait_until(lambda: (s := status())["state"] == "invoiced" and s, "invoiced")
    assert invoiced["state_fr"] == "confirmée et facturée"
    assert [(h["from_state"], h["to_state"]) for h in invoiced["history"]] == [
        (None, "received"), ("received", "signed"), ("signed", "confirmed"), ("confirmed", "invoiced")]
    [invoice] = invoiced["invoices"]
    assert (invoice["number"], invoice["total"], invoice["credited"]) == ("2023-000001", "1190.00", False)
    assert invoiced["credit_notes"] == []
    assert invoiced["errors"] == []
    late = send(url, key, f"{location}/signature", signature, "e2e-sign-0002")
    assert late.status_code == 409, "signed already"


def test_schemathesis_finds_no_server_error_and_every_answer_as_documented(
        live_api: tuple[str, str], clock: FileClock) -> None:
    url, key = live_api
    clock.set(datetime(2023, 9, 1, 10, tzinfo=PARIS))
    form = load_form("handicap-departement.json")
    signature = form.pop("signature")
    known = send(url, key, "/api/v1/registrations", form, "schemathesis-known-1").json()["id"]
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    auth = {"Authorization": f"Bearer {key}"}
    sent: dict[str, int] = {}
    statuses: set[tuple[str, int]] = set()
    submit, status = schema["/api/v1/registrations"]["POST"], schema["/api/v1/registrations/{id}"]["GET"]
    sign = schema["/api/v1/registrations/{id}/signature"]["POST"]
    runs: list[tuple[Any, GenerationMode, dict[str, Any]]] = [
        (result.ok(), mode, {}) for result in schema.get_all_operations()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    runs += [(status, GenerationMode.POSITIVE, {"path_parameters": {"id": known}}),  # a registration it owns
             (sign, GenerationMode.POSITIVE, {"path_parameters": {"id": known}}),
             (sign, GenerationMode.POSITIVE, {"path_parameters": {"id": known}, "body": signature}),
             (submit, GenerationMode.POSITIVE, {"body": form})]  # a form that passes: 202 and its Location

    def run(operation: Any, mode: GenerationMode, fixed: dict[str, Any]) -> None:
        label = f"{operation.label} {mode.value}" + (f" ({', '.join(fixed)} fixed)" if fixed else "")

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode, **fixed))
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=url, headers=auth, checks=CHECKS, timeout=10)
            sent[label] = sent.get(label, 0) + 1
            statuses.add((label, response.status_code))

        check()

    for operation, mode, fixed in runs:
        run(operation, mode, fixed)
    print(f"schemathesis: {sum(sent.values())} requests", dict(sent), sorted(statuses))
    assert sum(sent.values()) >= 10 * EXAMPLES
    answered = {status for _, status in statuses}
    assert {200, 202, 400, 404, 422} <= answered, sorted(statuses)
