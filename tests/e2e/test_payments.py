"""Payments and public accounting end to end (consumers as processes, real broker and database)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import EventTap, RunningConsumers, load_form, wait_until
from tests.idle import pass_markers, wait_until_idle
from workflow.adapters.clocks import FileClock
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.views import invoice_list, registration_timeline
from workflow.settings import Settings

pytestmark = pytest.mark.e2e
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)
HANDICAP = "cpom-handicap-2023-09-15"


def state(deps: Deps, registration_id: str) -> str | None:
    view = registration_timeline(deps.sessions, registration_id)
    return None if view is None else str(view["state"])


def receivable(deps: Deps, invoice: str, clock: FileClock) -> dict[str, Any]:
    rows = [r for r in invoice_list(deps.sessions, clock.now().astimezone(PARIS).date()) if r["invoice"] == invoice]
    return rows[0] if rows else {}


def payments_of(tap: EventTap, event_type: str) -> list[dict[str, Any]]:
    return [e["payload"] for e in tap.drain() if e["type"] == event_type]


def submit_and_invoice(settings: Settings, deps: Deps, form: dict[str, Any], registration_id: str) -> None:
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate(form), registration_id)
    wait_until(lambda: state(deps, registration_id) == "invoiced", f"{registration_id} invoiced")


def hold(settings: Settings, clock: FileClock, deps: Deps, registration_id: str) -> None:
    clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))
    with CommandClient(settings, producer="operations") as client:
        client.hold_session(HANDICAP, date(2023, 9, 15), reason="no sheet (test)")
    wait_until(lambda: state(deps, registration_id) == "session_held", "service fait")


def pay(settings: Settings, payment_id: str, invoice: str | None, amount: str, on: date) -> None:
    with CommandClient(settings, producer="finance") as client:
        client.record_payment(payment_id=payment_id, invoice_number=invoice, amount=Decimal(amount),
                              received_on=on, means="mandat_administratif")


def test_a_departement_has_30_days_from_service_fait_and_pays_on_time(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tap: EventTap) -> None:
    submit_and_invoice(settings, deps, load_form("handicap-departement.json"), "dep")
    wait_until(lambda: receivable(deps, "2023-000001", clock), "the receivable")
    assert receivable(deps, "2023-000001", clock)["due_on"] == "2023-10-15"  # planned service fait + 30
    hold(settings, clock, deps, "dep")
    clock.set(datetime(2023, 10, 15, 10, tzinfo=PARIS))
    pay(settings, "DGFIP-1", "2023-000001", "1190.00", date(2023, 10, 15))
    wait_until(lambda: state(deps, "dep") == "paid", "paid")
    row = receivable(deps, "2023-000001", clock)
    assert (row["status"], row["paid"], row["outstanding"], row["days_overdue"]) == ("settled", "1190.00", "0.00", 0)
    received = wait_until(lambda: payments_of(tap, "payment.received"), "payment.received")
    assert received[0]["anomalies"] == []


def test_a_public_hospital_has_50_days(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock) -> None:
    form = load_form("handicap-departement.json")
    form["client"] = {**form["client"], "name": "Centre hospitalier de Créteil", "category":
                      "public_health_establishment", "siret": "26940012900012"}
    submit_and_invoice(settings, deps, form, "chu")
    hold(settings, clock, deps, "chu")
    wait_until(lambda: receivable(deps, "2023-000001", clock).get("due_on") == "2023-11-04",
               "due on service fait + 50 days (15/09/2023 + 50 = 04/11/2023)")


def test_a_late_public_payment_owes_interest_and_40_euros_notified_once_a_month(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tap: EventTap) -> None:
    submit_and_invoice(settings, deps, load_form("handicap-departement.json"), "late")
    hold(settings, clock, deps, "late")
    clock.set(datetime(2023, 11, 14, 10, tzinfo=PARIS))  # 30 days after the 15/10/2023 due date
    first = wait_until(lambda: payments_of(tap, "payment.overdue"), "payment.overdue")
    assert len(first) == 1
    # 1190.00 x (4.00 + 8) % x 30 / 365 = 11.74; 40 € indemnity (R2192-31, R2192-35)
    assert {k: first[0][k] for k in ("invoice_number", "period", "days_late", "outstanding", "interest_percent",
                                     "interest", "indemnity")} == {
        "invoice_number": "2023-000001", "period": "2023-11", "days_late": 30, "outstanding": "1190.00",
        "interest_percent": "12.00", "interest": "11.74", "indemnity": "40.00"}
    clock.set(datetime(2023, 11, 20, 10, tzinfo=PARIS))
    consumers.kill("payments")  # restart-safe: what was notified is in the database, not in memory
    consumers.restart("payments")
    # The runner checks between two messages once its period (0.5 s) has passed, and a process just started has
    # never checked: two markers handled one after the other mean the new process has checked on 20 November.
    pass_markers(settings, ["payments"])
    pass_markers(settings, ["payments"])
    wait_until_idle(settings, deps.sessions)  # and whatever it published has reached the tap
    assert len(payments_of(tap, "payment.overdue")) == 1, "once per invoice per month, not once per check"
    clock.set(datetime(2023, 12, 1, 10, tzinfo=PARIS))
    notices = wait_until(lambda: len(payments_of(tap, "payment.overdue")) == 2 and payments_of(tap, "payment.overdue"),
                         "December's notice")
    second = notices[1:]
    assert (second[0]["period"], second[0]["days_late"], second[0]["interest"]) == ("2023-12", 47, "18.39")


def test_partial_then_over_payment_settles_flags_the_excess_and_counts_a_redelivery_once(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tap: EventTap) -> None:
    submit_and_invoice(settings, deps, load_form("handicap-departement.json"), "part")
    hold(settings, clock, deps, "part")
    pay(settings, "P-1", "2023-000001", "500.00", date(2023, 9, 20))
    pay(settings, "P-1", "2023-000001", "500.00", date(2023, 9, 20))  # the same bank line sent twice
    wait_until(lambda: receivable(deps, "2023-000001", clock)["paid"] == "500.00", "the first payment")
    assert state(deps, "part") == "session_held"
    pay(settings, "P-2", "2023-000001", "700.00", date(2023, 9, 25))
    wait_until(lambda: state(deps, "part") == "paid", "paid")
    row = receivable(deps, "2023-000001", clock)
    assert (row["status"], row["paid"], row["outstanding"]) == ("overpaid", "1200.00", "0.00")
    settled = wait_until(lambda: payments_of(tap, "invoice.settled"), "invoice.settled")
    assert settled[0]["overpaid"] == "10.00"
    assert [e["payload"]["anomalies"] for e in tap.seen if e["type"] == "payment.received"] == [[], ["overpayment"]]


def test_an_unknown_reference_and_a_payment_before_service_fait_are_kept_and_flagged(
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock, tap: EventTap) -> None:
    submit_and_invoice(settings, deps, load_form("handicap-departement.json"), "early")
    pay(settings, "X-1", "2099-999999", "42.00", date(2023, 9, 5))
    pay(settings, "E-1", "2023-000001", "1190.00", date(2023, 9, 6))
    received = wait_until(lambda: len([e for e in tap.drain() if e["type"] == "payment.received"]) == 2 and [
        e["payload"] for e in tap.seen if e["type"] == "payment.received"], "two payments")
    by_id = {p["payment_id"]: p for p in received}
    assert (by_id["X-1"]["matched"], by_id["X-1"]["anomalies"]) == (False, ["unknown_invoice"])
    assert by_id["E-1"]["anomalies"] == ["before_service_fait"]
    wait_until(lambda: state(deps, "early") == "settled", "settled, waiting for service fait")


def test_finance_lists_the_payments_recorded_with_regflow_pay_naming_who_and_the_anomalies(  # noqa: PLR0917
        settings: Settings, deps: Deps, consumers: RunningConsumers, clock: FileClock,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from regflow.cli import main

    for name, value in (("REGFLOW_DATABASE_URL", settings.database_url), ("REGFLOW_BROKER_URL", settings.broker_url),
                        ("REGFLOW_NAMESPACE", settings.namespace), ("REGFLOW_CLOCK", settings.clock)):
        monkeypatch.setenv(name, value)
    submit_and_invoice(settings, deps, load_form("handicap-departement.json"), "listed")
    hold(settings, clock, deps, "listed")
    assert main(["pay", "--payment-id", "X-9", "--invoice", "2099-999999", "--amount", "42.00",
                 "--on", "2023-09-18", "--by", "fanny"]) == 0
    assert main(["pay", "--payment-id", "B-1", "--invoice", "2023-000001", "--amount", "1190.00",
                 "--on", "2023-09-20", "--means", "mandat_administratif", "--by", "fanny"]) == 0
    wait_until(lambda: state(deps, "listed") == "paid", "paid")
    capsys.readouterr()

    assert main(["payments", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["payment_id"], p["invoice"], p["registration"], p["amount"], p["matched"], p["anomalies"],
             p["recorded_by"]) for p in listed] == [
        ("X-9", "2099-999999", None, "42.00", False, ["unknown_invoice"], "fanny"),
        ("B-1", "2023-000001", "listed", "1190.00", True, [], "fanny")]
    assert main(["payments", "--anomalies"]) == 0
    text = capsys.readouterr().out
    assert "X-9" in text
    assert "B-1" not in text
    assert text.rstrip().endswith("1 payment(s)")
    view = registration_timeline(deps.sessions, "listed")
    assert view is not None
    assert [h["by"] for h in view["history"] if h["trigger"] == "settle"] == ["fanny"]
