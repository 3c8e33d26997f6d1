"""The payments consumer, in memory: the interest owed as of each payment, and the claim a public buyer settling
late is sent, with its letter, in the settlement's transaction (CCP R2192-31 to R2192-36)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from consumers import payments
from consumers.notifications.interest_claims import handle_interest_claim_issued
from schemas.messages import InterestClaimIssued, InvoiceSettled, PaymentReceived
from tests.unit.fakes import Office, seed_form
from tests.unit.test_handlers_payments import HELD_EVENING, hold, invoiced, pay
from workflow.domain.clock import PARIS
from workflow.domain.errors import InconsistentMessageError
from workflow.domain.interest_claim import OPEN

RECORDED = datetime(2023, 11, 15, 10, tzinfo=PARIS)  # finance records the payments the day after


@pytest.fixture
def office() -> Office:
    office = Office(payments.ACTOR)
    invoiced(office)  # 1190.00 € to the Département du Val-de-Marne, due 15 October 2023
    office.at(HELD_EVENING)
    hold(office)
    office.at(RECORDED)
    return office


def settled(office: Office) -> InvoiceSettled:
    found: InvoiceSettled = office.uow.events("invoice.settled")[-1]
    return found


def test_a_departement_paying_30_days_late_is_sent_the_claim_of_11_74_and_40_euros(office: Office) -> None:
    received = pay(office, "1190.00", received_on=date(2023, 11, 14))

    # 1190.00 x (4.00 + 8) % x 30 / 365 = 11.7370 -> 11.74; + 40.00 = 51.74
    assert (received.days_late, received.interest, received.indemnity) == (30, Decimal("11.74"), Decimal("40.00"))
    done = settled(office)
    assert (done.days_late, done.interest_percent, done.interest, done.indemnity, done.interest_claim_number) == (
        30, Decimal("12.00"), Decimal("11.74"), Decimal("40.00"), "INT-2023-000001")
    issued: InterestClaimIssued = office.uow.events("interest_claim.issued")[0]
    assert (issued.number, issued.invoice_number, issued.principal, issued.due_on, issued.principal_paid_on,
            issued.days_late, issued.interest_percent, issued.interest, issued.indemnity, issued.total,
            issued.payable_by) == (
        "INT-2023-000001", "2023-000001", Decimal("1190.00"), date(2023, 10, 15), date(2023, 11, 14), 30,
        Decimal("12.00"), Decimal("11.74"), Decimal("40.00"), Decimal("51.74"), date(2023, 12, 29))
    claim = office.uow.interest_claims.get("INT-2023-000001")
    assert claim is not None
    assert (claim.status, claim.total, claim.paid, claim.rate_source) == (
        OPEN, Decimal("51.74"), Decimal("0.00"), "taux BCE au 1er jour du semestre + 8 points (CCP R2192-31)")


def test_the_claim_letter_prints_the_computation_in_french(office: Office) -> None:
    pay(office, "1190.00", received_on=date(2023, 11, 14))

    kept = office.uow.document_files.get("interets-INT-2023-000001.pdf")
    assert kept is not None
    assert kept.kind == "interest_claim"
    text = letter_text(kept.content)
    assert [shown for shown in HAND_FIGURES if shown not in text] == []



def letter_text(pdf: bytes) -> str:
    """The letter's words as a reader sees them, line breaks and wrapping ignored."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


HAND_FIGURES = ("Demande de paiement d'intérêts moratoires N° INT-2023-000001", "Département du Val-de-Marne",
                "Facture 2023-000001", "Montant principal 1 190,00 €", "Date d'échéance 15/10/2023",
                "Date de paiement du principal 14/11/2023", "Jours de retard 30", "Taux annuel 12,00 %",
                "Source du taux taux BCE au 1er jour du semestre + 8 points (CCP R2192-31)",
                "Intérêts moratoires 11,74 €", "recouvrement (CCP R2192-35) 40,00 €", "Total à payer 51,74 €",
                "au plus tard le 29/12/2023")


def test_a_payment_on_time_owes_nothing_and_issues_no_claim(office: Office) -> None:
    received = pay(office, "1190.00", received_on=date(2023, 10, 15))

    assert (received.days_late, received.interest, received.indemnity) == (0, Decimal("0.00"), Decimal("0.00"))
    assert (settled(office).interest, settled(office).interest_claim_number) == (Decimal("0.00"), None)
    assert office.uow.events("interest_claim.issued") == []


def test_each_part_is_charged_for_its_own_delay_and_the_claim_comes_with_the_last(office: Office) -> None:
    first = pay(office, "595.00", "P-1", received_on=date(2023, 10, 25))
    assert (first.days_late, first.interest, first.indemnity) == (10, Decimal("1.96"), Decimal("40.00"))
    assert office.uow.events("interest_claim.issued") == []  # principal not fully paid yet

    second = pay(office, "595.00", "P-2", received_on=date(2023, 11, 14))

    # 595 x 12 % x 10 / 365 = 1.96, + 595 x 12 % x 30 / 365 = 5.87: 7.83 of interest, 40 € once
    assert (second.days_late, second.interest, second.indemnity) == (30, Decimal("7.83"), Decimal("40.00"))
    issued: InterestClaimIssued = office.uow.events("interest_claim.issued")[0]
    assert (issued.interest, issued.total) == (Decimal("7.83"), Decimal("47.83"))


def test_a_payment_redelivered_issues_no_second_claim(office: Office) -> None:
    pay(office, "1190.00", received_on=date(2023, 11, 14))
    pay(office, "1190.00", received_on=date(2023, 11, 14))

    assert len(office.uow.events("interest_claim.issued")) == 1
    assert len(office.uow.events("payment.received")) == 1


def test_a_private_client_paying_late_is_told_the_penalties_but_sent_no_claim() -> None:
    office = Office(payments.ACTOR)
    client = {**seed_form("handicap-departement.json").client.model_dump(), "category": "company"}
    invoiced(office, client=client)  # due on receipt: 1 September 2023 (L441-10)
    office.at(RECORDED)

    received: PaymentReceived = pay(office, "1190.00", received_on=date(2023, 10, 1))

    # L441-10 II: ECB 4.00 % on 1 July 2023, + 10 points = 14 %; 1190 x 14 % x 30 / 365 = 13.6932 -> 13.69
    assert (received.days_late, received.interest, received.indemnity) == (30, Decimal("13.69"), Decimal("40.00"))
    assert settled(office).interest_claim_number is None
    assert office.uow.events("interest_claim.issued") == []


def test_a_partly_paid_invoice_is_notified_with_the_interest_of_the_part_paid_late(office: Office) -> None:
    pay(office, "595.00", "P-1", received_on=date(2023, 10, 25))
    with office.uow:
        payments.notify_overdue(office.uow, date(2023, 11, 14), rates=office.deps.rates)  # type: ignore[arg-type]
        office.uow.commit()

    notice, = office.uow.events("payment.overdue")
    assert (notice.outstanding, notice.interest, notice.indemnity) == (
        Decimal("595.00"), Decimal("7.83"), Decimal("40.00"))


# --- the letter e-mailed (notifications consumer) ---------------------------------------------------------------


def test_the_claim_goes_once_to_the_gestionnaire_with_its_letter_read_from_the_database(office: Office) -> None:
    pay(office, "1190.00", received_on=date(2023, 11, 14))
    issued = office.uow.events("interest_claim.issued")[0]

    for _ in range(2):  # redelivered: queued once
        office.handle(handle_interest_claim_issued, "interest_claim.issued", issued, registration_id="r-1")

    [mail] = office.mail.of_kind("interest_claim")
    assert (mail.recipient, mail.occurrence, mail.attachments) == (
        "formation@valdemarne.fr", "INT-2023-000001", [{"type": "interest_claim", "number": "INT-2023-000001"}])
    assert (mail.context["total"], mail.context["payable_by"], mail.context["days_late"]) == (
        "51,74 €", "vendredi 29 décembre 2023", 30)


def test_a_claim_event_the_database_does_not_confirm_is_refused(office: Office) -> None:
    forged = InterestClaimIssued(
        number="INT-2023-000009", invoice_number="2023-000009", principal=Decimal("1.00"), due_on=date(2023, 1, 1),
        principal_paid_on=date(2023, 2, 1), days_late=31, interest_percent=Decimal("10.50"), rate_source="x",
        interest=Decimal("0.01"), indemnity=Decimal("40.00"), total=Decimal("40.01"), payable_by=date(2023, 3, 1))
    with pytest.raises(InconsistentMessageError):
        office.handle(handle_interest_claim_issued, "interest_claim.issued", forged, registration_id="r-1")
    assert office.mail.of_kind("interest_claim") == []
