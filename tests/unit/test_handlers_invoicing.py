"""The invoicing consumer's handlers, in memory: invoiced once, credited on cancellation, re-invoiced on a move or
a correction, every document to a public buyer deposited on Chorus Pro after the commit that issued it (the
deposit step itself: test_handlers_deposits.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import facturx
import pytest

from consumers import deposits, invoicing
from schemas.form import ClientCategory
from schemas.messages import (
    CorrectInvoice,
    CreditNoteIssued,
    InvoiceIssued,
    RegistrationMoved,
    RegistrationTransitioned,
)
from tests.unit.fakes import Office, seed_form
from workflow.domain.errors import DependencyNotReadyError, GuardRefusedError
from workflow.domain.machine import State
from workflow.persistence.orm import SessionRecordRow

PUBLIC = "handicap-departement.json"  # Département du Val-de-Marne, 2 participants x 595 €, session 15/09/2023
PRIVATE = "aide-domicile-association-unsigned.json"  # an association, 1 participant x 625 €, session 21/03/2024
GIRONDE = "aide-domicile-departement-october.json"  # a Département with its Chorus Pro codes, 3 x 625 €
MARCH, OCTOBER = "cpom-aide-domicile-2024-03-21", "cpom-aide-domicile-2024-10-11"


@pytest.fixture
def office(monkeypatch: pytest.MonkeyPatch) -> Office:
    """Drawing a Factur-X PDF takes a tenth of a second: these tests are about what is issued, so they draw a
    stand-in, except those given `drawing_office`. The real documents are checked by test_invoice_documents.py
    and test_form_invariants.py."""
    monkeypatch.setattr(invoicing, "render_pdf", lambda doc: f"%PDF-stand-in {doc.number}".encode())
    monkeypatch.setattr(invoicing, "facturx_pdf", lambda pdf, xml, *, title: pdf + f" {title}".encode())
    return Office(invoicing.ACTOR)


@pytest.fixture
def drawing_office() -> Office:
    """The real PDF and its Factur-X XML, checked against the EN 16931 XSD."""
    return Office(invoicing.ACTOR)


def after_commit(office: Office) -> None:
    """The issued documents' events back from the bus to the invoicing consumer: each one delivered (again)."""
    steps = {"invoice.issued": deposits.handle_invoice_issued, "credit_note.issued": deposits.handle_credit_note_issued}
    for published in list(office.uow.published):
        if published.type in steps:
            office.handle(steps[published.type], published.type, published.payload,
                          registration_id=published.registration_id)


def confirmed(office: Office, registration_id: str = "r-1") -> None:
    registration = office.registration(registration_id)
    office.handle(invoicing.handle_confirmed, "registration.confirmed", RegistrationTransitioned(
        from_state="signed", to_state="confirmed", trigger="confirm", session_id=registration.session_id),
        registration_id=registration_id)


def cancelled(office: Office, registration_id: str = "r-1", reason: str | None = "formateur malade") -> None:
    registration = office.registration(registration_id)
    registration.cancel_session(reason or "", at=office.clock.now(), actor="payments", cause=None)
    office.handle(invoicing.handle_cancelled, "registration.cancelled", RegistrationTransitioned(
        from_state="invoiced", to_state="cancelled", trigger="cancel_session", session_id=registration.session_id,
        reason=reason), registration_id=registration_id)


def moved(office: Office, to_session_id: str, registration_id: str = "r-1") -> None:
    registration = office.registration(registration_id)
    before = registration.session_id or ""
    registration.move_session(to_session_id, "salle indisponible", at=office.clock.now(), actor="payments",
                              cause=None)
    office.handle(invoicing.handle_moved, "registration.moved", RegistrationMoved(
        from_session_id=before, to_session_id=to_session_id, reason="salle indisponible", state=registration.state),
        registration_id=registration_id)


def test_a_confirmed_registration_is_invoiced_once_with_a_gap_free_number(drawing_office: Office) -> None:
    office = drawing_office
    office.given("r-1", State.CONFIRMED, PUBLIC)

    confirmed(office)
    confirmed(office)  # redelivered, or a second replica: the same invoice, once

    assert office.registration("r-1").state == State.INVOICED
    [issued] = office.uow.events("invoice.issued")
    assert issued == InvoiceIssued(invoice_number="2023-000001", issued_on=date(2023, 9, 1),
                                   total=Decimal("1190.00"), due_on=date(2023, 10, 15))  # planned service fait + 30 d
    [invoice] = office.uow.invoices.rows
    assert (invoice.number, invoice.quantity, invoice.unit_price, invoice.total) == (
        "2023-000001", 2, Decimal("595.00"), Decimal("1190.00"))
    assert office.documents.written == {}, "nothing leaves the database before the invoice commits"
    kept = office.uow.document_files.get("facture-2023-000001.pdf")
    assert kept is not None
    assert facturx.get_xml_from_pdf(kept.content)[0] == "factur-x.xml"
    assert invoice.document_path == "/documents/facture-2023-000001.pdf"
    after_commit(office)
    assert office.documents.written == {"facture-2023-000001.pdf": kept.content}


def test_a_public_buyers_invoice_is_deposited_on_chorus_pro_with_its_routing_codes(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, GIRONDE)

    confirmed(office)
    assert office.chorus.deposits == []
    after_commit(office)

    [deposit] = office.chorus.deposits
    assert (deposit.invoice_number, deposit.buyer_siret, deposit.service_code, deposit.commitment_number) == (
        "2023-000001", "22330001300016", "DGAS-AUTONOMIE", "EJ-2023-000451")
    [deposited] = office.uow.events("invoice.deposited")
    assert (deposited.invoice_number, deposited.platform, deposited.reference) == (
        "2023-000001", "chorus-pro", "fake-chorus:2023-000001")


def test_a_private_clients_invoice_is_payable_on_receipt_and_not_deposited(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PRIVATE)

    confirmed(office)
    after_commit(office)

    [issued] = office.uow.events("invoice.issued")
    assert (issued.total, issued.due_on) == (Decimal("625.00"), date(2023, 9, 1))
    assert office.uow.deposits.rows == {}
    assert office.chorus.deposits == []
    assert office.uow.events("invoice.deposited") == []


def test_an_invoice_issued_after_the_session_was_recorded_held_is_held_at_once(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PUBLIC)
    office.uow.session_records.add(SessionRecordRow(session_id="cpom-handicap-2023-09-15", held_on=date(2023, 9, 15),
                                                    absent_emails=[], recorded_at=office.clock.now()))

    confirmed(office)

    registration = office.registration("r-1")
    assert (registration.state, registration.service_fait_on) == (State.SESSION_HELD, date(2023, 9, 15))


def test_an_unconfirmed_registration_is_not_invoiced(office: Office) -> None:
    office.given("r-1", State.RECEIVED, PUBLIC)

    with pytest.raises(GuardRefusedError, match="registration is received"):
        confirmed(office)
    assert office.uow.invoices.rows == []


def test_a_registration_not_visible_yet_is_retried(office: Office) -> None:
    with pytest.raises(DependencyNotReadyError):
        office.handle(invoicing.handle_confirmed, "registration.confirmed", RegistrationTransitioned(
            from_state="signed", to_state="confirmed", trigger="confirm"), registration_id="later")


def test_a_cancelled_registrations_invoice_is_cancelled_by_a_credit_note_deposited_too(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PUBLIC)
    confirmed(office)

    cancelled(office)
    after_commit(office)

    assert office.registration("r-1").state == State.CREDITED
    [credit] = office.uow.events("credit_note.issued")
    assert credit == CreditNoteIssued(credit_note_number="2023-000002", invoice_number="2023-000001",
                                      issued_on=date(2023, 9, 1), total=Decimal("1190.00"), reason="formateur malade")
    assert "avoir-2023-000002.pdf" in office.documents.written
    assert [d.invoice_number for d in office.chorus.deposits] == ["2023-000001", "2023-000002"]
    assert office.uow.invoices.current_of("r-1") is None


def test_a_cancellation_without_a_reason_says_the_session_was_cancelled(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PRIVATE)
    confirmed(office)

    cancelled(office, reason=None)

    assert office.uow.credit_notes.rows[0].reason == "session annulée"


def test_a_registration_cancelled_before_its_invoice_gets_no_credit_note(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PUBLIC)

    cancelled(office)

    assert office.uow.credit_notes.rows == []
    assert office.registration("r-1").state == State.CANCELLED


def test_a_moved_session_credits_the_invoice_and_reissues_it_with_the_new_date(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, seed_form(GIRONDE, session_id=MARCH))
    confirmed(office)

    moved(office, OCTOBER)

    assert office.registration("r-1").state == State.INVOICED
    [credit] = office.uow.events("credit_note.issued")
    assert (credit.invoice_number, credit.credit_note_number, credit.reason) == (
        "2023-000001", "2023-000002", f"session déplacée au {OCTOBER} (salle indisponible)")
    first, second = office.uow.events("invoice.issued")
    assert (second.invoice_number, second.total, second.due_on) == ("2023-000003", Decimal("1875.00"),
                                                                    date(2024, 11, 10))  # 11/10/2024 + 30 days
    assert first.due_on == date(2024, 4, 20)
    current = office.uow.invoices.current_of("r-1")
    assert current is not None
    assert current.number == "2023-000003"


def test_a_settled_invoice_is_kept_when_the_session_moves(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, seed_form(GIRONDE, session_id=MARCH))
    confirmed(office)
    office.registration("r-1").state = State.SETTLED

    moved(office, OCTOBER)

    assert office.uow.credit_notes.rows == []
    assert [i.number for i in office.uow.invoices.rows] == ["2023-000001"]


def correct(office: Office, number: str = "2023-000001", **changes: object) -> None:
    office.handle(invoicing.handle_correct, "cmd.invoice.correct", CorrectInvoice(
        invoice_number=number, reason="raison sociale erronée", **changes))  # type: ignore[arg-type]


def test_a_wrong_invoice_is_credited_and_replaced_never_edited(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PUBLIC)
    confirmed(office)
    client = office.registration("r-1").form.client.model_copy(update={"name": "Conseil départemental du Val-de-Marne"})

    correct(office, client=client)

    first, credit, second = (office.uow.invoices.rows[0], office.uow.credit_notes.rows[0], office.uow.invoices.rows[1])
    assert (credit.number, credit.invoice_number, credit.reason) == ("2023-000002", "2023-000001",
                                                                     "raison sociale erronée")
    assert (second.number, second.total) == ("2023-000003", first.total)
    registration = office.registration("r-1")
    assert registration.form.client.name == "Conseil départemental du Val-de-Marne"
    assert registration.state == State.INVOICED
    assert [t for t in office.uow.event_types() if t != "invoice.deposited"][-2:] == [
        "credit_note.issued", "invoice.issued"]


def test_an_invoice_already_credited_cannot_be_corrected_again(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PUBLIC)
    confirmed(office)
    correct(office)

    with pytest.raises(GuardRefusedError, match="already credited"):
        correct(office, "2023-000001")


def test_an_unknown_invoice_number_is_refused(office: Office) -> None:
    with pytest.raises(GuardRefusedError, match="no invoice numbered 2023-000042"):
        correct(office, "2023-000042")


def test_a_paid_invoice_is_not_corrected_here(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PUBLIC)
    confirmed(office)
    office.registration("r-1").state = State.PAID

    with pytest.raises(GuardRefusedError, match="only an unpaid invoice is corrected here"):
        correct(office)


def test_a_correction_to_a_client_that_breaks_the_rules_is_refused(office: Office) -> None:
    office.given("r-1", State.CONFIRMED, PUBLIC)
    confirmed(office)
    client = office.registration("r-1").form.client.model_copy(update={"category": ClientCategory.LOCAL_AUTHORITY,
                                                                       "siret": "123"})

    with pytest.raises(GuardRefusedError, match=r"client\.siret"):
        correct(office, client=client)
    assert office.uow.credit_notes.rows == []
