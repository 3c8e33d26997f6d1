"""Tables (SQLAlchemy 2 typed models), one module per part of the business; imported from here.
Alembic migrations in `workflow/persistence/migrations` create them."""

from workflow.persistence.orm.accounts import (
    CreditNoteRow,
    InvoiceCounterRow,
    InvoiceRow,
    IssuedDocument,
    PaymentRow,
    ReceivableRow,
)
from workflow.persistence.orm.attendance import (
    AttendanceLineRow,
    AttendanceMarkRow,
    CertificateRow,
    JoinRecordRow,
    SignedSheetRow,
)
from workflow.persistence.orm.bank import BankImportRow, BankLineRow
from workflow.persistence.orm.base import NAMING, Base, Money, UTCDateTime
from workflow.persistence.orm.catalogue import TrainingRow, TrainingSessionRow
from workflow.persistence.orm.documents import DepositRow, DocumentFileRow
from workflow.persistence.orm.intake_api import ApiRequestRow
from workflow.persistence.orm.interest_claims import InterestClaimRow
from workflow.persistence.orm.notifications import EmailRow, ParticipantAccessRow, ReminderRow
from workflow.persistence.orm.personal_data import PersonalDataRequestRow
from workflow.persistence.orm.registrations import (
    CommandDecisionRow,
    HistoryRow,
    InboxRow,
    OutboxRow,
    RegistrationRow,
    SessionParticipantRow,
    SessionRecordRow,
)
from workflow.persistence.orm.scans import SignatureScanRow
from workflow.persistence.orm.surveys import SurveyRow
from workflow.persistence.orm.webhooks import SignatureCallbackRow

__all__ = [
    "NAMING",
    "ApiRequestRow",
    "AttendanceLineRow",
    "AttendanceMarkRow",
    "BankImportRow",
    "BankLineRow",
    "Base",
    "CertificateRow",
    "CommandDecisionRow",
    "CreditNoteRow",
    "DepositRow",
    "DocumentFileRow",
    "EmailRow",
    "HistoryRow",
    "InboxRow",
    "InterestClaimRow",
    "InvoiceCounterRow",
    "InvoiceRow",
    "IssuedDocument",
    "JoinRecordRow",
    "Money",
    "OutboxRow",
    "ParticipantAccessRow",
    "PaymentRow",
    "PersonalDataRequestRow",
    "ReceivableRow",
    "RegistrationRow",
    "ReminderRow",
    "SessionParticipantRow",
    "SessionRecordRow",
    "SignatureCallbackRow",
    "SignatureScanRow",
    "SignedSheetRow",
    "SurveyRow",
    "TrainingRow",
    "TrainingSessionRow",
    "UTCDateTime",
]
