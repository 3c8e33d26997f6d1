"""The invoices' life on the e-invoicing platform, after their commit: deposit (or hold), the corrections sent,
the statuses read back and what each does. Run by the invoicing consumer (`consumers.deposits` on `*.issued`;
`poll_platform` every REGFLOW_CHORUS_POLL_SECONDS) and by `regflow chorus poll` on demand.

Each deposit is dealt with in its own transaction, its row locked (SKIP LOCKED: a replica busy with it is left to
it); what the platform was sent is recorded in the transaction that follows the call, and asked first on the
next try (`deposited`), so a crash between the two sends nothing twice. A platform that does not answer, or an
answer that is not one of the documented shapes, is kept on the row (`platform_error`) and tried at the next
poll; it never stops the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from schemas.form import ClientCategory
from schemas.messages import InvoiceDeposited, InvoicePlatformStatusChanged
from workflow.adapters.einvoicing import ChorusDeposit, EInvoicingPlatform
from workflow.domain.catalogue import Schedule
from workflow.domain.clock import Clock
from workflow.domain.einvoicing import (
    FINAL,
    LABELS_FR,
    PAYMENT_UNDER_WAY,
    DepositCorrectionError,
    HoldReason,
    PlatformAnswerError,
    PlatformStatus,
    StatusReport,
    routing_hold,
)
from workflow.domain.errors import PlatformRefusedError, PlatformUnavailableError
from workflow.domain.payment_rules import due_date, paris_date
from workflow.ops.faults import crash_point
from workflow.persistence.orm import DepositRow
from workflow.persistence.unit_of_work import UnitOfWork

PENDING, HELD, ACCEPTED, RECYCLE, COMPLETE = "pending", "held", "accepted", "recycle", "complete"  # DepositRow.status
EVIDENCE = "dossier-de-preuves"  # the evidence pack's name beside its invoice on the platform
ACTOR = "invoicing"
PLATFORM_ERRORS = (PlatformUnavailableError, PlatformRefusedError, PlatformAnswerError)
EvidencePdf = Callable[[UnitOfWork, str], bytes]

log = structlog.get_logger("einvoicing")


def unknown_buyer(siret: str) -> HoldReason:
    return HoldReason("unknown_buyer", f"le SIRET {siret} n'est pas une structure de la plateforme",
                      f"SIRET {siret} is not a structure on the platform")


def send_deposit(uow: UnitOfWork, deposit: DepositRow, pdf: bytes, *, platform: EInvoicingPlatform,
                 now: datetime) -> str | None:
    """Deposit a locked, owed document once: the platform asked first; then the buyer's requirements checked, and
    a document certain to be rejected (a service code or commitment number it requires is missing) *held* with
    its reason instead of sent. Returns the reference, None when held."""
    reference = platform.deposited(deposit.document_number)
    if reference is None:
        try:
            required = platform.requirements(deposit.buyer_siret)
            hold = routing_hold(required, service_code=deposit.service_code,
                                commitment_number=deposit.commitment_number)
        except PlatformRefusedError:
            hold = unknown_buyer(deposit.buyer_siret)
        if hold is not None:
            _hold(uow, deposit, hold, now)
            return None
        reference = platform.deposit(ChorusDeposit(deposit.document_number, deposit.buyer_siret,
                                                   deposit.service_code, deposit.commitment_number), pdf)
    else:
        log.warning("the platform already holds this deposit: its acceptance is recorded, nothing is sent again",
                    document=deposit.document_number, reference=reference)
    crash_point("invoicing.after_deposit_before_commit")
    deposit.status, deposit.reference, deposit.deposited_at, deposit.hold_reason = ACCEPTED, reference, now, None
    uow.publish("invoice.deposited", InvoiceDeposited(
        invoice_number=deposit.document_number, platform=deposit.platform, reference=reference,
        buyer_siret=deposit.buyer_siret, service_code=deposit.service_code,
        commitment_number=deposit.commitment_number), deposit.registration_id)
    return reference


def _hold(uow: UnitOfWork, deposit: DepositRow, hold: HoldReason, now: datetime) -> None:
    if deposit.status == HELD and deposit.hold_reason == hold.text():
        return
    deposit.status, deposit.hold_reason = HELD, hold.text()
    _note(uow, deposit, "deposit_held", f"{deposit.document_number} retenue, non envoyée : {hold.fr} / held, not "
                                        f"sent: {hold.en}", now)
    log.warning("deposit held: the buyer requires routing data the document lacks", document=deposit.document_number,
                reason=hold.code)


def _note(uow: UnitOfWork, deposit: DepositRow, trigger: str, reason: str, now: datetime) -> None:
    registration = uow.registrations.get(deposit.registration_id, for_update=True)
    if registration is not None:
        registration.note(trigger, reason[:1000], at=now, actor=ACTOR, cause=uow.message.event_id if uow.message
                          else None)


@dataclass
class PollReport:
    sent: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Poll:
    """What a poll needs, built by its caller (the consumer's periodic check, the command line)."""

    sessions: sessionmaker[Session]
    clock: Clock
    platform: EInvoicingPlatform
    schedule: Schedule
    private_term_days: int
    evidence: EvidencePdf

    def unit(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.clock, actor=ACTOR)


def poll_platform(poll: Poll, only: str | None = None) -> PollReport:
    """Send what waits (released holds, corrected routing, completed documents), then read every followed
    document's status; `only`: that number alone."""
    report = PollReport()
    with poll.unit() as uow:
        waiting = uow.deposits.numbers_in((PENDING, RECYCLE, COMPLETE))
        followed = uow.deposits.numbers_in((ACCEPTED,), unless_platform=sorted(FINAL))
    for number in waiting:
        if only in (None, number):
            _one(poll, number, report, _send_waiting)
    for number in followed:
        if only in (None, number):
            _one(poll, number, report, _read_status)
    return report


def _one(poll: Poll, number: str, report: PollReport,
         step: Callable[[Poll, UnitOfWork, DepositRow, PollReport], None]) -> None:
    try:
        with poll.unit() as uow:
            deposit = uow.deposits.claim(number)
            if deposit is None:
                return  # another process has it
            step(poll, uow, deposit, report)
            uow.commit()
    except PLATFORM_ERRORS as exc:
        report.failed.append((number, str(exc)[:300]))
        log.warning("platform poll failed for one document: tried again at the next poll", document=number,
                    error=str(exc)[:300])
        with poll.unit() as uow:
            deposit = uow.deposits.claim(number)
            if deposit is not None:
                deposit.platform_error, deposit.polled_at = str(exc)[:500], poll.clock.now()
                uow.commit()


def _send_waiting(poll: Poll, uow: UnitOfWork, deposit: DepositRow, report: PollReport) -> None:
    now = poll.clock.now()
    if deposit.status == PENDING:
        kind = "facture" if deposit.kind == "invoice" else "avoir"
        kept = uow.document_files.get(f"{kind}-{deposit.document_number}.pdf")
        if kept is None:
            return  # its `*.issued` has not been handled yet: the consumer deposits it
        (report.sent if send_deposit(uow, deposit, kept.content, platform=poll.platform, now=now)
         else report.held).append(deposit.document_number)
    elif deposit.status == RECYCLE:
        poll.platform.recycle(deposit.document_number, deposit.service_code, deposit.commitment_number)
        deposit.status, deposit.platform_error = ACCEPTED, None
        _note(uow, deposit, "platform_recycled", f"{deposit.document_number} renvoyée, même numéro, routage corrigé "
                                                 f"(code service {deposit.service_code or '—'}, engagement "
                                                 f"{deposit.commitment_number or '—'})", now)
        report.sent.append(deposit.document_number)
    elif deposit.status == COMPLETE:
        registration = uow.registrations.get(deposit.registration_id)
        pdf = poll.evidence(uow, registration.session_id or "") if registration is not None else b""
        poll.platform.complete(deposit.document_number, EVIDENCE, pdf, "dossier de preuves de la formation")
        deposit.status, deposit.platform_error = ACCEPTED, None
        _note(uow, deposit, "platform_completed", f"{deposit.document_number} complétée : dossier de preuves joint",
              now)
        report.sent.append(deposit.document_number)


def _read_status(poll: Poll, uow: UnitOfWork, deposit: DepositRow, report: PollReport) -> None:
    now = poll.clock.now()
    deposit.polled_at, deposit.platform_error = now, None
    found = poll.platform.status(deposit.document_number)
    if found is None or (found.status == deposit.platform_status and found.reason == deposit.platform_reason):
        return
    record_status(uow, deposit, found, poll, now)
    report.changed.append((deposit.document_number, found.status))


def record_status(uow: UnitOfWork, deposit: DepositRow, found: StatusReport, poll: Poll, now: datetime) -> None:
    """A new status: kept on the deposit, in the registration's history, published; and its effect.
    MISE_A_DISPOSITION is the buyer's receipt (CCP R2192-12: the day it is notified through Chorus Pro, read in
    Paris): the délai global runs from it, or from service fait when later (R2192-13), so the due date is
    recomputed. MANDATEE / MISE_EN_PAIEMENT: the expected payment date is kept for finance. REJETEE: the
    invoicing consumer credits the invoice and issues a new one (on the event)."""
    previous = deposit.platform_status
    deposit.platform_status, deposit.platform_status_at = found.status, found.at
    deposit.platform_reason = found.reason
    if found.status in PAYMENT_UNDER_WAY and found.expected_payment_on is not None:
        deposit.expected_payment_on = found.expected_payment_on
    received_on = due_on = None
    receivable = uow.receivables.get(deposit.document_number) if deposit.kind == "invoice" else None
    if found.status == PlatformStatus.MISE_A_DISPOSITION and receivable is not None:
        received_on = paris_date(found.at)
        registration = uow.registrations.get(deposit.registration_id)
        planned = uow.catalogue.current(poll.schedule).session(registration.session_id or "") if registration else None
        receivable.received_on = received_on
        receivable.due_on = due_on = due_date(
            ClientCategory(receivable.client_category), sent_on=receivable.sent_on, received_on=received_on,
            service_fait_on=receivable.service_fait_on or (planned[1].date if planned else None),
            private_term_days=poll.private_term_days)
        receivable.updated_at = now
    said = f"{deposit.document_number} {LABELS_FR[found.status]} sur la plateforme"
    if found.reason:
        said += f" : {found.reason}"
    if due_on is not None:
        said += f" ; reçue le {received_on:%d/%m/%Y}, échéance {due_on:%d/%m/%Y}"
    if deposit.expected_payment_on is not None and found.status in PAYMENT_UNDER_WAY:
        said += f" ; paiement attendu le {deposit.expected_payment_on:%d/%m/%Y}"
    _note(uow, deposit, "platform_status", said, now)
    uow.publish("invoice.platform_status_changed", InvoicePlatformStatusChanged(
        document_number=deposit.document_number, kind="credit_note" if deposit.kind == "credit_note" else "invoice",
        platform=deposit.platform, status=found.status, previous_status=previous, changed_at=found.at,
        reason=found.reason, received_on=received_on, due_on=due_on,
        expected_payment_on=deposit.expected_payment_on), deposit.registration_id)
    log.info("platform status changed", document=deposit.document_number, status=found.status, previous=previous)


def correct_routing(uow: UnitOfWork, number: str, *, service_code: str | None, commitment_number: str | None,
                    now: datetime, by: str) -> str:
    """Support's correction of a document's routing, decided in this transaction and sent by the poll after it:
    a *held* one is released (deposited with it), one *à recycler* is sent again under the same number. The
    invoice itself is not changed (it is issued): its routing on the platform is. Returns what was decided."""
    deposit = uow.deposits.get(number, for_update=True)
    if deposit is None:
        raise DepositCorrectionError(f"aucun dépôt pour {number} / no deposit for {number}")
    if deposit.status == HELD:
        decided = "released"
        deposit.status, deposit.hold_reason = PENDING, None
    elif deposit.status == ACCEPTED and deposit.platform_status == PlatformStatus.A_RECYCLER:
        decided = "recycle"
        deposit.status = RECYCLE
    else:
        raise DepositCorrectionError(
            f"{number} n'est ni retenue ni à recycler ({deposit.status}, {deposit.platform_status or '—'}) : rien à "
            f"corriger / {number} is neither held nor to recycle: nothing to correct")
    deposit.service_code = service_code or deposit.service_code
    deposit.commitment_number = commitment_number or deposit.commitment_number
    _note(uow, deposit, "routing_corrected", f"{number} : routage corrigé par {by} (code service "
                                             f"{deposit.service_code or '—'}, engagement "
                                             f"{deposit.commitment_number or '—'})", now)
    return decided


def complete_suspended(uow: UnitOfWork, number: str, *, now: datetime, by: str) -> None:
    """Support answers a *suspendue* invoice with the session's evidence pack; the poll sends it after commit."""
    deposit = uow.deposits.get(number, for_update=True)
    if deposit is None or deposit.status != ACCEPTED or deposit.platform_status != PlatformStatus.SUSPENDUE:
        raise DepositCorrectionError(f"{number} n'est pas suspendue / {number} is not suspended")
    deposit.status = COMPLETE
    _note(uow, deposit, "completion_requested", f"{number} : dossier de preuves à joindre, demandé par {by}", now)
