"""The repositories the unit of work exposes (`uow.invoices`, `uow.reminders`...), and their Protocols."""

from __future__ import annotations

from workflow.persistence.repositories.attendance import SqlAttendance, SqlCertificates
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.persistence.repositories.documents import SqlDeposits, SqlDocumentFiles
from workflow.persistence.repositories.invoices import SqlCreditNotes, SqlInvoices
from workflow.persistence.repositories.notifications import SqlAccesses, SqlEmails, SqlReminders
from workflow.persistence.repositories.payments import SqlInterestClaims, SqlPayments, SqlReceivables, SqlSessionRecords
from workflow.persistence.repositories.protocols import (
    Accesses,
    Attendance,
    Catalogues,
    Certificates,
    CreditNotes,
    Deposits,
    DocumentFiles,
    Emails,
    InterestClaims,
    Invoices,
    Payments,
    Receivables,
    Registrations,
    Reminders,
    Seat,
    SeatPresence,
    SessionRecords,
    Surveys,
)
from workflow.persistence.repositories.registrations import RegistrationRepository
from workflow.persistence.repositories.surveys import SqlSurveys

__all__ = [
    "Accesses", "Attendance", "Catalogues", "Certificates", "CreditNotes", "Deposits", "DocumentFiles", "Emails",
    "InterestClaims", "Invoices", "Payments", "Receivables", "RegistrationRepository", "Registrations", "Reminders",
    "Seat", "SeatPresence", "SessionRecords", "SqlAccesses", "SqlAttendance", "SqlCatalogue", "SqlCertificates",
    "SqlCreditNotes", "SqlDeposits", "SqlDocumentFiles", "SqlEmails", "SqlInterestClaims", "SqlInvoices",
    "SqlPayments", "SqlReceivables", "SqlReminders", "SqlSessionRecords", "SqlSurveys", "Surveys",
]
