"""What an issued document leaves for after its commit: its PDF, kept with it, and its deposit on the platform.

The invoice's (or certificate's) transaction writes these rows and nothing outside the database: the copy in
the document store and the Chorus Pro deposit are made by `consumers.deposits` once the `*.issued` event, which
exists only if that transaction committed, comes back from the bus."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from workflow.persistence.orm.base import Base


class DocumentFileRow(Base):
    """The PDF of an invoice, credit note or certificate, as issued (the e-mails attach these bytes). `stored_at`:
    when its copy was written to the document store (None until then)."""

    __tablename__ = "document_files"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)  # `facture-2023-000001.pdf`: document_name()
    kind: Mapped[str] = mapped_column(String(20))  # invoice | credit_note | certificate
    number: Mapped[str] = mapped_column(String(20))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]


class DepositRow(Base):
    """A document a public buyer receives through Chorus Pro, keyed by its number: one deposit per number.
    Written *pending* with its routing data in the document's transaction, *accepted* with the platform's
    reference in the transaction of the deposit; an accepted one is never sent again. *held* (with
    `hold_reason`) when the buyer requires routing data it lacks; *recycle* / *complete* when a correction
    (routing, a missing document) waits to be sent. The `platform_*` columns are the platform's last status
    (`workflow.domain.einvoicing`), read by the poll (`workflow.ops.einvoicing`)."""

    __tablename__ = "deposits"

    document_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # invoice | credit_note
    registration_id: Mapped[str] = mapped_column(String(64), index=True)
    platform: Mapped[str] = mapped_column(String(30))
    buyer_siret: Mapped[str] = mapped_column(String(20))
    service_code: Mapped[str | None] = mapped_column(String(100))
    commitment_number: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | held | accepted | recycle | complete
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    deposited_at: Mapped[datetime | None]
    hold_reason: Mapped[str | None] = mapped_column(String(300), default=None)  # HoldReason.text()
    platform_status: Mapped[str | None] = mapped_column(String(30), default=None)  # PlatformStatus
    platform_status_at: Mapped[datetime | None] = mapped_column(default=None)
    platform_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    expected_payment_on: Mapped[date | None] = mapped_column(Date, default=None)
    platform_error: Mapped[str | None] = mapped_column(String(500), default=None)  # the last poll's, if it failed
    polled_at: Mapped[datetime | None] = mapped_column(default=None)
