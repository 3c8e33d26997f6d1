"""The evidence pack beside a public buyer's invoice on Chorus Pro (issue #18, point 2), in memory: owed with the
certificates when the buyer asks for it (`client.chorus_attach_evidence`), attached once after the invoice's own
deposit, never for a buyer who did not ask or an invoice that does not go through the platform."""

from __future__ import annotations

import pytest

from consumers import deposits, invoicing
from schemas.form import RegistrationForm
from schemas.messages import CertificateIssued, RegistrationTransitioned
from tests.unit.fakes import Office, seed_form
from tests.unit.test_handlers_deposits import PRIVATE, PUBLIC, delivered
from workflow.domain.errors import DependencyNotReadyError
from workflow.domain.machine import State

SESSION = "cpom-handicap-2023-09-15"


@pytest.fixture
def office(monkeypatch: pytest.MonkeyPatch) -> Office:
    monkeypatch.setattr(invoicing, "render_pdf", lambda doc: f"%PDF-stand-in {doc.number}".encode())
    monkeypatch.setattr(invoicing, "facturx_pdf", lambda pdf, xml, *, title: pdf + f" {title}".encode())
    return Office(invoicing.ACTOR)


def invoiced(office: Office, name: str = PUBLIC, *, asks: bool = True) -> None:
    form = seed_form(name)
    flagged = RegistrationForm.model_validate({**form.model_dump(mode="json"), "client": {
        **form.client.model_dump(mode="json"), "chorus_attach_evidence": asks}})
    office.given("r-1", State.CONFIRMED, flagged)
    office.handle(invoicing.handle_confirmed, "registration.confirmed", RegistrationTransitioned(
        from_state="signed", to_state="confirmed", trigger="confirm"), registration_id="r-1")


def certificates_issued(office: Office) -> None:
    office.handle(deposits.handle_certificate_issued, "certificate.issued",
                  CertificateIssued(session_id=SESSION, certificates=[]), registration_id="r-1")


def test_the_pack_is_owed_with_the_certificates_and_attached_once_after_the_invoice_s_deposit(office: Office) -> None:
    invoiced(office)
    delivered(office)  # the invoice is on the platform
    deposits.owe_evidence(office.uow, "r-1", wanted=True, now=office.clock.now())
    deposits.owe_evidence(office.uow, "r-1", wanted=True, now=office.clock.now())  # a redelivered session held
    assert office.uow.deposits.get("2023-000001-PJ").status == "pending"  # type: ignore[union-attr]

    certificates_issued(office)
    certificates_issued(office)  # redelivered
    assert office.chorus.attachments == [("2023-000001", "dossier-de-preuves")]
    assert office.chorus.received["2023-000001/dossier-de-preuves"] == b"%PDF-1.4 evidence pack of " + SESSION.encode()
    row = office.uow.deposits.get("2023-000001-PJ")
    assert row is not None
    assert (row.status, row.reference) == ("accepted", "fake-chorus:2023-000001/dossier-de-preuves")


def test_the_pack_waits_for_the_invoice_s_own_deposit(office: Office) -> None:
    invoiced(office)  # its deposit not yet done
    deposits.owe_evidence(office.uow, "r-1", wanted=True, now=office.clock.now())
    with pytest.raises(DependencyNotReadyError):
        certificates_issued(office)
    assert office.chorus.attachments == []


@pytest.mark.parametrize(("name", "asks"), [(PUBLIC, False), (PRIVATE, True)])
def test_nothing_is_attached_for_a_buyer_who_did_not_ask_or_outside_chorus_pro(office: Office, name: str,
                                                                                asks: bool) -> None:
    invoiced(office, name, asks=asks)
    delivered(office)
    deposits.owe_evidence(office.uow, "r-1", wanted=asks, now=office.clock.now())
    certificates_issued(office)
    assert office.uow.deposits.get("2023-000001-PJ") is None
    assert office.chorus.attachments == []
