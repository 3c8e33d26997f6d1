"""End to end: consumers as separate OS processes, real RabbitMQ and PostgreSQL, a registration to 'paid'."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from producers.commands import CommandClient
from schemas.form import RegistrationForm, Signature, SignatureMethod
from tests.conftest import EventTap, RunningConsumers, load_form, wait_until
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.e2e
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)


def state(deps: Deps, registration_id: str) -> str | None:
    view = registration_timeline(deps.sessions, registration_id)
    return None if view is None else str(view["state"])


def reach(deps: Deps, registration_id: str, expected: str) -> dict[str, object]:
    wait_until(lambda: state(deps, registration_id) == expected,
               f"{registration_id} to reach {expected} (is {state(deps, registration_id)})")
    view = registration_timeline(deps.sessions, registration_id)
    assert view is not None
    return view


def test_a_public_client_is_received_confirmed_invoiced_held_then_paid(
        settings: Settings, deps: Deps, consumers: RunningConsumers, tap: EventTap, clock: FileClock) -> None:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "dep-94")
        invoiced = reach(deps, "dep-94", "invoiced")
        invoice = invoiced["invoice"]
        assert invoice == {"number": "2023-000001", "issued_on": "2023-09-01", "quantity": 2,
                           "unit_price": "595.00", "total": "1190.00"}

        clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))
        client.hold_session("cpom-handicap-2023-09-15", date(2023, 9, 15), reason="no sheet (test)")
        held = reach(deps, "dep-94", "session_held")
        assert held["service_fait_on"] == "2023-09-15"

        clock.set(datetime(2023, 10, 12, 10, tzinfo=PARIS))
        client.record_payment(payment_id="DGFIP-1", invoice_number="2023-000001", amount=Decimal("1190.00"),
                              received_on=date(2023, 10, 12), means="mandat_administratif")
        paid = reach(deps, "dep-94", "paid")

    assert [(h["from"], h["to"], h["by"]) for h in paid["history"]] == [  # type: ignore[union-attr]
        (None, "received", "validation"), ("received", "signed", "validation"),
        ("signed", "confirmed", "validation"), ("confirmed", "invoiced", "invoicing"),
        ("invoiced", "session_held", "payments"), ("session_held", "paid", "payments")]
    emails = wait_until(lambda: (view := registration_timeline(deps.sessions, "dep-94")) is not None
                        and len(view["emails"]) == 9 and view["emails"], "its nine e-mails queued")
    assert sorted((e["kind"], e["to"]) for e in emails) == [
        ("certificate", "claire.durand@valdemarne.fr"), ("certificate", "paul.leroy@valdemarne.fr"),
        ("certificates", "formation@valdemarne.fr"),  # service fait: the certificates of completion
        ("confirmation", "formation@valdemarne.fr"), ("invitation", "claire.durand@valdemarne.fr"),
        ("invitation", "paul.leroy@valdemarne.fr"), ("invoice", "formation@valdemarne.fr"),
        ("survey", "claire.durand@valdemarne.fr"), ("survey", "paul.leroy@valdemarne.fr")]  # with the certificates
    published = wait_until(lambda: "registration.paid" in tap.types_for("dep-94") and tap.types_for("dep-94"),
                           "registration.paid on the bus")
    for expected in ["cmd.registration.submit", "registration.received", "registration.signed",
                     "registration.confirmed", "registration.invoiced", "invoice.issued",
                     "registration.session_held", "payment.received", "invoice.settled", "registration.paid"]:
        assert expected in published, f"{expected} was not published"
    assert published.index("registration.confirmed") < published.index("registration.invoiced")
    sent = wait_until(lambda: tap.types_for("dep-94").count("email.sent") == 9 and tap.types_for("dep-94"),
                      "nine email.sent events")
    assert sent.count("email.sent") == 9
    assert "certificate.issued" in sent


def test_a_private_client_signs_later_pays_before_the_session_and_is_paid_once_it_is_held(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock) -> None:
    form = RegistrationForm.model_validate(load_form("aide-domicile-association-unsigned.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, "saad-69")
        waiting = reach(deps, "saad-69", "received")
        assert waiting["invoice"] is None

        client.record_signature("saad-69", Signature(
            place="Lyon", signed_on=date(2023, 9, 1), signatory="Marc BERNARD",
            method=SignatureMethod.ELECTRONIC, electronic_reference="YS-1"))
        reach(deps, "saad-69", "invoiced")
        client.record_payment(payment_id="BANK-7", invoice_number="2023-000001", amount=Decimal("625.00"),
                              received_on=date(2023, 9, 5))
        reach(deps, "saad-69", "settled")

        clock.set(datetime(2024, 3, 21, 18, tzinfo=PARIS))
        client.hold_session("cpom-aide-domicile-2024-03-21", date(2024, 3, 21), reason="no sheet (test)")
        paid = reach(deps, "saad-69", "paid")
    assert [h["trigger"] for h in paid["history"]] == [  # type: ignore[union-attr]
        "submit", "sign", "confirm", "invoice", "settle", "hold_session"]
    assert paid["payments"] == [{
        "payment_id": "BANK-7", "invoice": "2023-000001", "registration": "saad-69", "amount": "625.00",
        "received_on": "2023-09-05", "means": "transfer", "payer": None, "matched": True, "anomalies": [],
        "recorded_by": None, "recorded_at": "2023-09-01T10:00:00+02:00"}]


def test_consumers_stop_gracefully_on_sigterm(consumers: RunningConsumers) -> None:
    wait_until(lambda: all("consumer started" in consumers.logs(n) or "relay started" in consumers.logs(n)
                           for n in consumers.processes), "every process to start")
    assert consumers.stop() == dict.fromkeys(consumers.processes, 0)
