"""The retention report over the real database: rows written with the ORM as the consumers write them, then
`python -m regflow.cli retention report` in its own process: each document with the day it may be erased from,
the certificates' records waiting for an unpaid registration, a bad day refused with why."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.conftest import load_form
from workflow.bootstrap import Deps
from workflow.persistence.orm import (
    AttendanceLineRow,
    AttendanceMarkRow,
    CertificateRow,
    CreditNoteRow,
    InvoiceRow,
    JoinRecordRow,
    ParticipantAccessRow,
    PaymentRow,
    ReceivableRow,
    RegistrationRow,
    SessionRecordRow,
    SignedSheetRow,
    TrainingSessionRow,
)
from workflow.settings import Settings

pytestmark = pytest.mark.integration

S1, S2 = "cpom-handicap-2023-09-15", "cpom-aide-domicile-2023-11-20"  # the first is in the seeded catalogue
AT = datetime.fromisoformat


def regflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_CLOCK": settings.clock,
           "REGFLOW_DEVELOPMENT": "1"}
    return subprocess.run([sys.executable, "-m", "regflow.cli", "retention", "report", *args], env=env,
                          capture_output=True, text=True, check=False, timeout=60)


def _registration(rid: str, session_id: str) -> RegistrationRow:
    form = {**load_form("handicap-departement.json"), "session_id": session_id}
    return RegistrationRow(id=rid, state="paid", version=1, training_id=form["training_id"], session_id=session_id,
                           client_name=rid, client_is_public=False, form=form, errors=[], warnings=[],
                           created_at=AT("2023-08-01T08:00:00+00:00"), updated_at=AT("2023-08-01T08:00:00+00:00"))


def _invoice(number: str, rid: str, on: str) -> InvoiceRow:
    year, sequence = number.split("-")
    return InvoiceRow(number=number, year=int(year), sequence=int(sequence), issued_on=date.fromisoformat(on),
                      lines=[], total=Decimal("595.00"), document_path=None, registration_id=rid, quantity=1,
                      unit_price=Decimal("595.00"), due_on=None, created_at=AT(f"{on}T09:00+00:00"))


def _receivable(number: str, rid: str, status: str) -> ReceivableRow:
    return ReceivableRow(invoice_number=number, registration_id=rid, client_name=rid, client_category="company",
                         total=Decimal("595.00"), paid=Decimal("595.00"), sent_on=date(2023, 8, 1), received_on=None,
                         service_fait_on=None, due_on=date(2023, 9, 30), status=status,
                         updated_at=AT("2023-08-01T09:00+00:00"))


def _payment(payment_id: str, number: str | None, on: str) -> PaymentRow:
    return PaymentRow(payment_id=payment_id, invoice_number=number, matched=number is not None,
                      amount=Decimal("595.00"), received_on=date.fromisoformat(on), payer=None, means="transfer",
                      anomalies=[] if number else ["unknown_invoice"], recorded_at=AT(f"{on}T10:00+00:00"),
                      recorded_by="fanny")


def _seat(n: int, rid: str, session_id: str, status: str = "active") -> ParticipantAccessRow:
    return ParticipantAccessRow(id=f"access-{n}", registration_id=rid, session_id=session_id,
                                email=f"p{n}@{rid}.example", token_hash=f"{n:064d}", status=status, sequence=0,
                                created_at=AT("2023-08-01T08:00:00+00:00"), presence="present", minutes_followed=360)


def _certificate(number: str, session_id: str, rid: str, n: int, on: str) -> CertificateRow:
    return CertificateRow(number=number, session_id=session_id, registration_id=rid, access_id=f"access-{n}",
                          trainee=f"P{n}", minutes_followed=360, issued_on=date.fromisoformat(on),
                          created_at=AT(f"{on}T09:00+00:00"))


@pytest.fixture
def documents(deps: Deps) -> None:
    """S1: acme paid in full, last on 15 March 2024; dep-94 still open. S2: admr's invoice credited, its
    corrected one paid on 20 December 2023; its report imported on 31 December 2023 at 23:30 UTC (1 January in
    Paris). An invoice of December 2022 paid that month; a payment matched to no invoice."""
    at = deps.clock.now()
    with deps.sessions() as session, session.begin():
        session.add(TrainingSessionRow(id=S2, training_id="cpom-aide-domicile", date=date(2023, 11, 20), state="held",
                                       capacity=None, registration_deadline=None, join_url=None, trainer=None,
                                       version=1, created_at=at, updated_at=at))
        session.add_all([_registration("acme", S1), _registration("dep-94", S1), _registration("admr", S2),
                         _registration("acme-2022", S1)])
        session.flush()
        session.add_all([_invoice("2023-000001", "acme", "2023-08-01"), _invoice("2023-000002", "dep-94", "2023-08-02"),
                         _invoice("2023-000003", "admr", "2023-10-01"), _invoice("2023-000005", "admr", "2023-10-05"),
                         _invoice("2022-000001", "acme-2022", "2022-12-10")])
        session.flush()
        session.add_all([_receivable("2023-000001", "acme", "settled"), _receivable("2023-000002", "dep-94", "open"),
                         _receivable("2023-000003", "admr", "credited"), _receivable("2023-000005", "admr", "settled"),
                         _receivable("2022-000001", "acme-2022", "settled")])
        session.add(CreditNoteRow(number="2023-000004", year=2023, sequence=4, issued_on=date(2023, 10, 5), lines=[],
                                  total=Decimal("595.00"), document_path=None, invoice_number="2023-000003",
                                  registration_id="admr", reason="annulée", created_at=AT("2023-10-05T09:00+00:00")))
        session.add_all([_payment("PAY-1", "2023-000001", "2023-10-01"), _payment("PAY-2", "2023-000001", "2024-03-15"),
                         _payment("PAY-3", "2023-000005", "2023-12-20"), _payment("PAY-0", "2022-000001", "2022-12-28"),
                         _payment("PAY-X", None, "2023-06-01")])
        session.add_all([_seat(1, "acme", S1), _seat(2, "dep-94", S1), _seat(3, "admr", S2),
                         _seat(4, "unpaid-replaced", S2, status="revoked")])  # a revoked seat concerns nobody
        session.add(SignedSheetRow(session_id=S1, signed_by="tom", signer_name="Tom", signed_at=AT("2023-09-15T16:00Z"),
                                   attestation="J'atteste", sheet={}, sheet_sha256="0" * 64))
        session.add_all([
            SessionRecordRow(session_id=S1, held_on=date(2023, 9, 15), absent_emails=[],
                             recorded_at=AT("2023-09-15T17:00Z"), evidence="signed_sheet"),
            SessionRecordRow(session_id=S2, held_on=date(2023, 11, 20), absent_emails=[],
                             recorded_at=AT("2023-11-20T17:00Z"), evidence="operations", reason="feuille perdue")])
        session.add_all([JoinRecordRow(access_id="access-1", session_id=S1, joined_at=AT("2023-09-15T07:20Z")),
                         JoinRecordRow(access_id="access-2", session_id=S1, joined_at=AT("2023-09-15T07:25Z")),
                         JoinRecordRow(access_id="access-3", session_id=S2, joined_at=AT("2023-11-20T07:25Z"))])
        session.add(AttendanceMarkRow(session_id=S1, access_id="access-2", part=2, presence="partial", minutes=90,
                                      corrected_by="tom", corrected_at=AT("2023-09-15T15:00Z")))
        session.add(AttendanceLineRow(session_id=S2, file_sha256="1" * 64, line=1, email="p3@admr.example", name="P3",
                                      joined_at=AT("2023-11-20T07:25Z"), left_at=AT("2023-11-20T15:45Z"),
                                      access_id="access-3", imported_at=AT("2023-12-31T23:30Z")))
        session.add_all([_certificate("CR-ACME", S1, "acme", 1, "2023-09-16"),
                         _certificate("CR-DEP", S1, "dep-94", 2, "2023-09-16"),
                         _certificate("CR-ADMR", S2, "admr", 3, "2023-11-21")])


WAITING = ["dep-94"]
EXPECTED = {  # (kind, identifier): (erasable_from, erasable on 2033-06-01, waiting for)
    ("invoice", "2022-000001"): ("2033-01-01", True, []),
    ("payment", "PAY-0"): ("2033-01-01", True, []),
    ("invoice", "2023-000001"): ("2034-01-01", False, []),
    ("invoice", "2023-000002"): ("2034-01-01", False, []),
    ("invoice", "2023-000003"): ("2034-01-01", False, []),
    ("invoice", "2023-000005"): ("2034-01-01", False, []),
    ("credit_note", "2023-000004"): ("2034-01-01", False, []),
    ("payment", "PAY-1"): ("2034-01-01", False, []),
    ("payment", "PAY-3"): ("2034-01-01", False, []),
    ("payment", "PAY-X"): ("2034-01-01", False, []),
    ("payment", "PAY-2"): ("2035-01-01", False, []),
    ("certificate", "CR-ACME"): ("2028-01-01", True, []),  # last paid 15 March 2024
    ("certificate", "CR-ADMR"): ("2027-01-01", True, []),  # last paid 20 December 2023
    ("service_fait", S2): ("2027-01-01", True, []),
    ("join_records", S2): ("2027-01-01", True, []),
    ("attendance_lines", S2): ("2028-01-01", True, []),  # imported on 1 January 2024 in Paris
    ("evidence_pack", S2): ("2028-01-01", True, []),
    ("certificate", "CR-DEP"): (None, False, WAITING),
    ("signed_sheet", S1): (None, False, WAITING),
    ("service_fait", S1): (None, False, WAITING),
    ("join_records", S1): (None, False, WAITING),
    ("attendance_marks", S1): (None, False, WAITING),
    ("evidence_pack", S1): (None, False, WAITING),
}


@pytest.mark.usefixtures("documents")
def test_each_document_has_the_day_it_may_be_erased_from_and_the_rule_that_says_so(settings: Settings) -> None:
    done = regflow(settings, "--as-of", "2033-06-01", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["as_of"] == "2033-06-01"
    found = {(i["kind"], i["identifier"]): (i["erasable_from"], i["erasable"], i["waiting_for"])
             for i in answer["items"]}
    assert found == EXPECTED
    by_key = {(i["kind"], i["identifier"]): i for i in answer["items"]}
    assert by_key["invoice", "2022-000001"]["article"] == "code de commerce, article L123-22"
    assert by_key["certificate", "CR-ACME"]["rule"] == "certificate-evidence-3-years"
    assert (by_key["join_records", S1]["count"], by_key["attendance_lines", S2]["dated"]) == (2, "2024-01-01")
    assert [i["erasable_from"] for i in answer["items"]][-6:] == [None] * 6  # the pending last
    assert {rule["key"] for rule in answer["rules"]} == {"accounting-10-years", "certificate-evidence-3-years"}


@pytest.mark.usefixtures("documents")
def test_erasable_only_as_csv_lists_what_may_go_on_that_day(settings: Settings) -> None:
    done = regflow(settings, "--as-of", "2033-06-01", "--erasable-only", "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {(r["kind"], r["identifier"]) for r in rows} == {key for key, (_, yes, _) in EXPECTED.items() if yes}
    assert rows[0]["erasable_from"] == "2027-01-01"


@pytest.mark.usefixtures("documents")
def test_by_default_the_report_is_of_the_clock_s_day_in_french_first(settings: Settings) -> None:
    done = regflow(settings)  # the clock reads 1 September 2023: nothing may go yet
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Conservation au 2023-09-01 : ce qui peut être effacé")
    assert "en attente" in done.stdout
    assert "(paiement attendu : dep-94)" in done.stdout
    assert f"{len(EXPECTED)} élément(s), 0 effaçable(s)" in done.stdout
    assert "code de commerce, article L123-22" in done.stdout


@pytest.mark.parametrize("typed", ["2024-02-30", "2033-06", "demain", "2033-06-01' OR 1=1", "9" * 5000])
def test_a_bad_day_is_refused_in_french_and_english_without_a_traceback(settings: Settings, typed: str) -> None:
    done = regflow(settings, "--as-of", typed)
    assert done.returncode == 2
    assert "invalide : AAAA-MM-JJ, du 2000-01-01 au 2099-12-31" in done.stderr
    assert "invalid date '" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
