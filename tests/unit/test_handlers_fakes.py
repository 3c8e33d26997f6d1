"""The fakes the handler tests run on keep the interface of the real repositories and unit of work: a handler
that passes in memory calls nothing the database side lacks, and the other way round."""

from __future__ import annotations

import inspect
from typing import get_type_hints

import pytest

from tests.unit.fakes import (
    AT,
    FakeAccesses,
    FakeAttendance,
    FakeCatalogue,
    FakeCertificates,
    FakeCreditNotes,
    FakeDeposits,
    FakeDocumentFiles,
    FakeEmails,
    FakeInterestClaims,
    FakeInvoices,
    FakePayments,
    FakeReceivables,
    FakeRegistrations,
    FakeReminders,
    FakeSessionRecords,
    FakeSurveys,
    FakeUnitOfWork,
)
from workflow.adapters.clocks import FixedClock
from workflow.persistence import repositories
from workflow.persistence.repositories import protocols
from workflow.persistence.unit_of_work import UnitOfWork

PAIRS = [
    (protocols.Registrations, repositories.RegistrationRepository, FakeRegistrations),
    (protocols.Invoices, repositories.SqlInvoices, FakeInvoices),
    (protocols.CreditNotes, repositories.SqlCreditNotes, FakeCreditNotes),
    (protocols.Receivables, repositories.SqlReceivables, FakeReceivables),
    (protocols.Payments, repositories.SqlPayments, FakePayments),
    (protocols.InterestClaims, repositories.SqlInterestClaims, FakeInterestClaims),
    (protocols.SessionRecords, repositories.SqlSessionRecords, FakeSessionRecords),
    (protocols.Accesses, repositories.SqlAccesses, FakeAccesses),
    (protocols.Reminders, repositories.SqlReminders, FakeReminders),
    (protocols.Emails, repositories.SqlEmails, FakeEmails),
    (protocols.Catalogues, repositories.SqlCatalogue, FakeCatalogue),
    (protocols.Attendance, repositories.SqlAttendance, FakeAttendance),
    (protocols.Certificates, repositories.SqlCertificates, FakeCertificates),
    (protocols.Surveys, repositories.SqlSurveys, FakeSurveys),
    (protocols.DocumentFiles, repositories.SqlDocumentFiles, FakeDocumentFiles),
    (protocols.Deposits, repositories.SqlDeposits, FakeDeposits),
]


def methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")}


@pytest.mark.parametrize(("protocol", "real", "fake"), PAIRS, ids=[p.__name__ for p, _, _ in PAIRS])
def test_the_real_and_the_fake_repository_have_the_protocols_methods(protocol: type, real: type, fake: type) -> None:
    wanted = methods(protocol)
    for implementation in (real, fake):
        found = methods(implementation)
        for name, signature in wanted.items():
            assert name in found, f"{implementation.__name__} has no {name}"
            assert list(found[name].parameters) == list(signature.parameters), f"{implementation.__name__}.{name}"
            assert [p.kind for p in found[name].parameters.values()] == [
                p.kind for p in signature.parameters.values()], f"{implementation.__name__}.{name}"


def test_the_fake_unit_of_work_has_every_repository_of_the_real_one() -> None:
    declared = {name: hint for name, hint in get_type_hints(UnitOfWork).items() if name != "session"}
    fake = FakeUnitOfWork(FixedClock(AT))
    protocol_of = {real: protocol for protocol, real, _ in PAIRS}
    for name, hint in declared.items():
        expected = protocol_of.get(hint, hint)
        assert hasattr(fake, name), f"the fake unit of work has no {name}"
        assert any(expected is p and isinstance(getattr(fake, name), f) for p, _, f in PAIRS), name
    for name in ("publish", "decide", "commit", "clock", "actor", "message"):
        assert hasattr(fake, name), name
