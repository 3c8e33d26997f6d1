"""The step after an issue's commit, in memory: the PDF the invoice's transaction kept is copied to the document
store and, for a public buyer, deposited on Chorus Pro once per number, however often the event comes back."""

from __future__ import annotations

import pytest

from consumers import deposits, invoicing
from schemas.messages import RegistrationTransitioned
from tests.unit.fakes import Office
from workflow.domain.errors import InconsistentMessageError
from workflow.domain.machine import State
from workflow.ops import einvoicing

PUBLIC = "handicap-departement.json"  # Département du Val-de-Marne: its documents go to Chorus Pro
PRIVATE = "aide-domicile-association-unsigned.json"
STEPS = {"invoice.issued": deposits.handle_invoice_issued, "credit_note.issued": deposits.handle_credit_note_issued}


@pytest.fixture
def office(monkeypatch: pytest.MonkeyPatch) -> Office:
    monkeypatch.setattr(invoicing, "render_pdf", lambda doc: f"%PDF-stand-in {doc.number}".encode())
    monkeypatch.setattr(invoicing, "facturx_pdf", lambda pdf, xml, *, title: pdf + f" {title}".encode())
    return Office(invoicing.ACTOR)


def invoiced(office: Office, form: str = PUBLIC) -> None:
    office.given("r-1", State.CONFIRMED, form)
    office.handle(invoicing.handle_confirmed, "registration.confirmed", RegistrationTransitioned(
        from_state="signed", to_state="confirmed", trigger="confirm"), registration_id="r-1")


def delivered(office: Office) -> None:
    """Every document event committed so far, back from the bus (again, for those already handled)."""
    for published in list(office.uow.published):
        if published.type in STEPS:
            office.handle(STEPS[published.type], published.type, published.payload,
                          registration_id=published.registration_id)


def test_issuing_an_invoice_writes_no_file_and_deposits_nothing_before_its_commit(office: Office) -> None:
    invoiced(office)

    assert office.documents.written == {}
    assert office.chorus.deposits == []
    [owed] = office.uow.deposits.rows.values()
    assert (owed.document_number, owed.status, owed.buyer_siret) == ("2023-000001", "pending", "22940028800010")


def test_an_invoice_rolled_back_leaves_no_file_and_no_deposit(office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    """The invoice's transaction fails after the document was drawn (here: reading the session's record): no event
    was committed, so the step after commit never runs; the rows it wrote are rolled back with it."""
    office.given("r-1", State.CONFIRMED, PUBLIC)

    def database_fails(session_id: str) -> None:
        raise RuntimeError("connection lost before commit")

    monkeypatch.setattr(office.uow.session_records, "held_on", database_fails)
    with pytest.raises(RuntimeError):
        office.handle(invoicing.handle_confirmed, "registration.confirmed", RegistrationTransitioned(
            from_state="signed", to_state="confirmed", trigger="confirm"), registration_id="r-1")
    delivered(office)

    assert office.uow.events("invoice.issued") == []
    assert office.documents.written == {}
    assert office.chorus.deposits == []


def test_a_redelivered_or_retried_invoice_issued_is_deposited_once(office: Office) -> None:
    invoiced(office)

    delivered(office)
    delivered(office)  # redelivered after a lost ack, or replayed from the dead letters
    delivered(office)

    [deposit] = office.chorus.deposits
    assert deposit.invoice_number == "2023-000001"
    [row] = office.uow.deposits.rows.values()
    assert (row.status, row.reference, row.deposited_at) == ("accepted", "fake-chorus:2023-000001", office.clock.now())
    assert len(office.uow.events("invoice.deposited")) == 1
    kept = office.uow.document_files.get("facture-2023-000001.pdf")
    assert kept is not None
    assert office.documents.written == {"facture-2023-000001.pdf": kept.content}  # the same name, the same bytes
    assert office.chorus.received["2023-000001"] == kept.content
    assert kept.stored_at == office.clock.now()


def test_a_failure_between_the_deposit_and_its_commit_does_not_deposit_again(
        office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform accepted, then the process died before the acceptance committed (the deposit row is left
    pending, no `invoice.deposited`): the retry asks the platform first and records what it holds."""
    invoiced(office)
    failures = iter([RuntimeError("killed after the platform's answer")])

    def dies_once(name: str) -> None:
        if name == "invoicing.after_deposit_before_commit" and (error := next(failures, None)):
            raise error

    monkeypatch.setattr(einvoicing, "crash_point", dies_once)  # where the deposit is made (send_deposit)
    with pytest.raises(RuntimeError):
        delivered(office)
    [row] = office.uow.deposits.rows.values()
    assert (len(office.chorus.deposits), row.status, office.uow.events("invoice.deposited")) == (1, "pending", [])

    delivered(office)  # the retry

    assert len(office.chorus.deposits) == 1, "the platform received the invoice once"
    assert (row.status, row.reference) == ("accepted", "fake-chorus:2023-000001")
    [event] = office.uow.events("invoice.deposited")
    assert (event.invoice_number, event.reference) == ("2023-000001", "fake-chorus:2023-000001")


def test_a_private_clients_invoice_is_copied_to_the_store_and_not_deposited(office: Office) -> None:
    invoiced(office, PRIVATE)

    delivered(office)

    assert list(office.documents.written) == ["facture-2023-000001.pdf"]
    assert office.chorus.deposits == []
    assert office.uow.events("invoice.deposited") == []


def test_a_public_buyers_credit_note_is_deposited_once_too(office: Office) -> None:
    invoiced(office)
    registration = office.registration("r-1")
    registration.cancel_session("formateur malade", at=office.clock.now(), actor="payments", cause=None)
    office.handle(invoicing.handle_cancelled, "registration.cancelled", RegistrationTransitioned(
        from_state="invoiced", to_state="cancelled", trigger="cancel_session", reason="formateur malade"),
        registration_id="r-1")

    delivered(office)
    delivered(office)

    assert [d.invoice_number for d in office.chorus.deposits] == ["2023-000001", "2023-000002"]
    assert sorted(office.documents.written) == ["avoir-2023-000002.pdf", "facture-2023-000001.pdf"]
    assert [e.invoice_number for e in office.uow.events("invoice.deposited")] == ["2023-000001", "2023-000002"]


def test_an_event_naming_an_invoice_never_issued_is_parked_and_deposits_nothing(office: Office) -> None:
    invoiced(office)
    [issued] = office.uow.events("invoice.issued")

    with pytest.raises(InconsistentMessageError, match="no invoice 2023-000001 issued for someone-else"):
        office.handle(deposits.handle_invoice_issued, "invoice.issued", issued, registration_id="someone-else")
    assert office.chorus.deposits == []
    assert office.documents.written == {}


def test_a_document_issued_before_its_pdf_was_kept_in_the_database_is_left_as_it_was(office: Office) -> None:
    """Issued by the previous version, which wrote and deposited it in the issuing transaction."""
    invoiced(office)
    del office.uow.document_files.rows["facture-2023-000001.pdf"]

    delivered(office)

    assert office.documents.written == {}
    assert office.chorus.deposits == []
