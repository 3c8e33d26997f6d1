"""Read-only answers (no aggregates): a registration's timeline, as data ready for text or JSON."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.access_links import ACTIVE, LinkCheck, LinkStatus, token_from, token_hash
from workflow.domain.certificate import hours_text
from workflow.domain.clock import PARIS
from workflow.domain.einvoicing import LABELS_FR, PlatformStatus
from workflow.domain.registration_search import MAX_SEARCH_LENGTH, is_found, search_words, searched_text
from workflow.persistence.orm import (
    CertificateRow,
    CreditNoteRow,
    DepositRow,
    EmailRow,
    HistoryRow,
    InvoiceRow,
    OutboxRow,
    ParticipantAccessRow,
    PaymentRow,
    ReceivableRow,
    RegistrationRow,
    ReminderRow,
)


def registration_timeline(sessions: sessionmaker[Session], registration_id: str) -> dict[str, Any] | None:
    with sessions() as session:
        row = session.get(RegistrationRow, registration_id)
        if row is None:
            return None
        history = session.scalars(select(HistoryRow).where(HistoryRow.registration_id == registration_id)
                                  .order_by(HistoryRow.id)).all()
        invoices = session.scalars(select(InvoiceRow).where(InvoiceRow.registration_id == registration_id)
                                   .order_by(InvoiceRow.id)).all()
        credit_notes = session.scalars(select(CreditNoteRow).where(
            CreditNoteRow.registration_id == registration_id).order_by(CreditNoteRow.id)).all()
        credited = {c.invoice_number for c in credit_notes}
        current = [i for i in invoices if i.number not in credited]
        invoice = current[-1] if current else None
        payments = session.scalars(select(PaymentRow).where(
            PaymentRow.invoice_number.in_([i.number for i in invoices])).order_by(PaymentRow.id)).all()
        emails = session.scalars(select(EmailRow).where(EmailRow.registration_id == registration_id)
                                 .order_by(EmailRow.id)).all()
        accesses = session.scalars(select(ParticipantAccessRow).where(
            ParticipantAccessRow.registration_id == registration_id).order_by(ParticipantAccessRow.created_at)).all()
        reminders = session.scalars(select(ReminderRow).where(ReminderRow.registration_id == registration_id)
                                    .order_by(ReminderRow.due_at)).all()
        certificates = session.scalars(select(CertificateRow).where(
            CertificateRow.registration_id == registration_id).order_by(CertificateRow.trainee)).all()
        events = session.scalars(select(OutboxRow.routing_key).where(
            OutboxRow.registration_id == registration_id).order_by(OutboxRow.id)).all()
        return {
            "id": row.id, "state": row.state, "client": row.client_name, "session_id": row.session_id,
            "public_client": row.client_is_public,
            "participants": len(row.form.get("participants", [])),
            "service_fait_on": row.service_fait_on.isoformat() if row.service_fait_on else None,
            "errors": row.errors, "warnings": row.warnings,
            "history": [{
                "at": h.at.astimezone(PARIS).isoformat(), "from": h.from_state, "to": h.to_state,
                "trigger": h.trigger, "outcome": h.outcome, "by": h.actor, "reason": h.reason,
                "cause_event_id": h.cause_event_id} for h in history],
            "invoice": None if invoice is None else {
                "number": invoice.number, "issued_on": invoice.issued_on.isoformat(),
                "quantity": invoice.quantity, "unit_price": str(invoice.unit_price),
                "total": str(invoice.total)},
            "invoices": [{"number": i.number, "issued_on": i.issued_on.isoformat(), "total": str(i.total),
                          "due_on": i.due_on.isoformat() if i.due_on else None, "credited": i.number in credited,
                          "document": i.document_path} for i in invoices],
            "credit_notes": [{"number": c.number, "invoice_number": c.invoice_number, "total": str(c.total),
                              "issued_on": c.issued_on.isoformat(), "reason": c.reason,
                              "document": c.document_path} for c in credit_notes],
            "payments": [_payment(p, registration_id) for p in payments],
            "emails": [{"id": e.id, "kind": e.kind, "to": e.recipient, "subject": e.subject, "status": e.status,
                        "attempts": e.attempts, "sent_at": e.sent_at.astimezone(PARIS).isoformat() if e.sent_at
                        else None, "error": e.last_error} for e in emails],
            "links": [{"participant": " ".join(p for p in (a.civilite, a.first_name, a.last_name) if p),
                       "email": a.email, "session_id": a.session_id, "status": a.status,
                       "revoked_reason": a.revoked_reason, "presence": a.presence,
                       "minutes_followed": a.minutes_followed} for a in accesses],
            "reminders": [{"session_id": r.session_id, "minutes_before": r.offset_minutes,
                           "due_at": r.due_at.astimezone(PARIS).isoformat(), "status": r.status, "reason": r.reason}
                          for r in reminders],
            "certificates": [{"number": c.number, "trainee": c.trainee, "session_id": c.session_id,
                              "hours": hours_text(c.minutes_followed), "issued_on": c.issued_on.isoformat()}
                             for c in certificates],
            "events_published": list(events),
        }


REGISTRATION_COLUMNS = ["id", "state", "session_id", "client", "public_client", "participants", "updated_at"]
SEARCH_MAX = MAX_SEARCH_LENGTH  # characters of a search: longer is cut, not refused (the page cuts its field too)


def registration_list(sessions: sessionmaker[Session], state: str | None = None, session_id: str | None = None,
                      search: str | None = None) -> list[dict[str, Any]]:
    """Support's and operations' list: registrations by session, then most recently changed first;
    `state`, `session_id` and `search` narrow it (the back-office page and `regflow registrations`).

    `search` (cut at SEARCH_MAX characters) finds a registration by the values workflow.domain.registration_search
    names, never by the form's keys, case and accents ignored, spaces of a SIRET too, or by one of its invoice or
    credit note numbers. The words are data: `%` and `_` match themselves. The values are compared here, in
    Python, on the rows the list reads anyway: the same on PostgreSQL and SQLite, no extension needed."""
    words = search_words(search)
    with sessions() as session:
        query = select(RegistrationRow.id, RegistrationRow.state, RegistrationRow.session_id,
                       RegistrationRow.client_name, RegistrationRow.client_is_public, RegistrationRow.form,
                       RegistrationRow.updated_at).order_by(RegistrationRow.session_id,
                                                            RegistrationRow.updated_at.desc(), RegistrationRow.id)
        if state:
            query = query.where(RegistrationRow.state == state)
        if session_id:
            query = query.where(RegistrationRow.session_id == session_id)
        numbered = _numbered(session, words) if words else set()
        return [{"id": r.id, "state": r.state, "session_id": r.session_id, "client": r.client_name,
                 "public_client": r.client_is_public, "participants": len(r.form.get("participants", [])),
                 "updated_at": r.updated_at.astimezone(PARIS).isoformat()} for r in session.execute(query)
                if words is None or r.id in numbered or is_found(words, searched_text(r.id, r.client_name, r.form))]


def _numbered(session: Session, words: str) -> set[str]:
    """The registrations with an invoice or a credit note whose number holds `words` (`%`, `_` escaped)."""
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = set(session.scalars(select(InvoiceRow.registration_id).where(
        InvoiceRow.number.ilike(pattern, escape="\\"))))
    found |= set(session.scalars(select(CreditNoteRow.registration_id).where(
        CreditNoteRow.number.ilike(pattern, escape="\\"))))
    return {rid for rid in found if rid}


def registration_participants(sessions: sessionmaker[Session], registration_id: str) -> list[dict[str, str]]:
    """Who is registered now (after any replacement): whom support can replace."""
    with sessions() as session:
        row = session.get(RegistrationRow, registration_id)
        people = row.form.get("participants", []) if row else []
        return [{"name": " ".join(p.get(k) or "" for k in ("civilite", "first_name", "last_name")).strip(),
                 "email": p.get("email") or ""} for p in people]


PAYMENT_COLUMNS = ["payment_id", "invoice", "registration", "amount", "received_on", "means", "payer", "matched",
                   "anomalies", "recorded_by", "recorded_at"]


def _payment(row: PaymentRow, registration_id: str | None = None) -> dict[str, Any]:
    return {"payment_id": row.payment_id, "invoice": row.invoice_number, "registration": registration_id,
            "amount": str(row.amount), "received_on": row.received_on.isoformat(), "means": row.means,
            "payer": row.payer, "matched": row.matched, "anomalies": list(row.anomalies),
            "recorded_by": row.recorded_by, "recorded_at": row.recorded_at.astimezone(PARIS).isoformat()}


def payment_list(sessions: sessionmaker[Session], *, invoice: str | None = None, anomalies_only: bool = False
                 ) -> list[dict[str, Any]]:
    """Finance's list of the payments received, in the order they were recorded, each with the registration
    of its invoice (None for an unknown reference): the ones with an anomaly (unknown invoice, overpayment,
    paid before service fait, invoice credited) are what finance acts on."""
    with sessions() as session:
        query = (select(PaymentRow, InvoiceRow.registration_id)
                 .outerjoin(InvoiceRow, InvoiceRow.number == PaymentRow.invoice_number).order_by(PaymentRow.id))
        if invoice:
            query = query.where(PaymentRow.invoice_number == invoice)
        rows = [_payment(p, registration_id) for p, registration_id in session.execute(query)]
    return [r for r in rows if r["anomalies"]] if anomalies_only else rows


def registration_of_invoice(sessions: sessionmaker[Session], number: str | None) -> str | None:
    """The registration an invoice number belongs to (None when the number is unknown)."""
    if not number:
        return None
    with sessions() as session:
        return session.scalar(select(InvoiceRow.registration_id).where(InvoiceRow.number == number))


def outbox_backlog(sessions: sessionmaker[Session], now: datetime) -> tuple[int, float | None]:
    """The outbox rows not yet published and the age in seconds of the oldest (None when there is none):
    what `regflow status` and the relay's metrics report. One indexed query."""
    with sessions() as session:
        count, oldest = session.execute(select(func.count(OutboxRow.id), func.min(OutboxRow.created_at))
                                        .where(OutboxRow.published_at.is_(None),
                                               OutboxRow.set_aside_at.is_(None))).one()
    return int(count), (max(0.0, (now - oldest).total_seconds()) if oldest is not None else None)


def outbox_set_aside(sessions: sessionmaker[Session], limit: int = 100) -> list[dict[str, Any]]:
    """The outbox rows the relay set aside (it could not publish them), newest first, with the reason."""
    with sessions() as session:
        rows = session.execute(select(OutboxRow.id, OutboxRow.routing_key, OutboxRow.registration_id,
                                      OutboxRow.set_aside_at, OutboxRow.set_aside_reason)
                               .where(OutboxRow.set_aside_at.is_not(None))
                               .order_by(OutboxRow.id.desc()).limit(limit)).all()
    return [{"id": r.id, "type": r.routing_key, "registration_id": r.registration_id,
             "set_aside_at": r.set_aside_at.isoformat() if r.set_aside_at else None, "reason": r.set_aside_reason}
            for r in rows]


def awaiting_signature(sessions: sessionmaker[Session], now: datetime, waited: timedelta) -> list[dict[str, Any]]:
    """Valid forms still unsigned after `waited`: support chases the client for the signature."""
    with sessions() as session:
        rows = session.scalars(select(RegistrationRow).where(
            RegistrationRow.state == "received", RegistrationRow.updated_at <= now - waited)
            .order_by(RegistrationRow.updated_at)).all()
        return [{"id": r.id, "client": r.client_name, "session_id": r.session_id,
                 "gestionnaire_email": r.form.get("gestionnaire", {}).get("email"),
                 "waiting_since": r.updated_at.astimezone(PARIS).isoformat(),
                 "waiting_hours": round((now - r.updated_at).total_seconds() / 3600, 1)} for r in rows]


INVOICE_COLUMNS = ["invoice", "client", "registration", "status", "issued_on", "due_on", "total", "paid",
                   "outstanding", "days_overdue", "attendance", "platform", "hold_reason", "platform_at",
                   "platform_reason", "expected_payment_on", "platform_error"]


def attendance_of(session: Session, registration_ids: list[str]) -> dict[str, str]:
    """Per registration, its participants' presence once the session is held ("2 présent(s), 1 absent(s)"):
    finance sees an absence, which changes nothing on the invoice (ABSENCE_POLICY) but a funder may ask."""
    counts: dict[str, dict[str, int]] = {}
    for registration_id, presence in session.execute(
            select(ParticipantAccessRow.registration_id, ParticipantAccessRow.presence).where(
                ParticipantAccessRow.registration_id.in_(registration_ids), ParticipantAccessRow.status == ACTIVE,
                ParticipantAccessRow.presence.is_not(None))):
        found = counts.setdefault(registration_id, {})
        found[presence or ""] = found.get(presence or "", 0) + 1
    words = (("present", "présent(s)"), ("partial", "partiel(s)"), ("absent", "absent(s)"))
    return {rid: ", ".join(f"{found[p]} {french}" for p, french in words if p in found)
            for rid, found in counts.items()}


def invoice_list(sessions: sessionmaker[Session], today: date, status: str | None = None) -> list[dict[str, Any]]:
    """Finance's list: every invoice with its status, due date, amount paid and outstanding, days overdue."""
    with sessions() as session:
        query = (select(ReceivableRow, InvoiceRow.issued_on, DepositRow)
                 .join(InvoiceRow, InvoiceRow.number == ReceivableRow.invoice_number)
                 .outerjoin(DepositRow, DepositRow.document_number == ReceivableRow.invoice_number)
                 .order_by(InvoiceRow.id))
        if status:
            query = query.where(ReceivableRow.status == status)
        rows = []
        found = list(session.execute(query))
        attendance = attendance_of(session, sorted({receivable.registration_id for receivable, _, _ in found}))
        for receivable, issued_on, deposit in found:
            outstanding = max(receivable.total - receivable.paid, Decimal("0.00"))
            late = (today - receivable.due_on).days if receivable.status == "open" else 0
            rows.append({"invoice": receivable.invoice_number, "client": receivable.client_name,
                         "registration": receivable.registration_id, "status": receivable.status,
                         "issued_on": issued_on.isoformat(), "due_on": receivable.due_on.isoformat(),
                         "total": str(receivable.total), "paid": str(receivable.paid),
                         "outstanding": str(outstanding), "days_overdue": max(late, 0),
                         "attendance": attendance.get(receivable.registration_id, ""),
                         **platform_columns(deposit)})
        return rows


def platform_columns(deposit: DepositRow | None) -> dict[str, Any]:
    """An invoice on the e-invoicing platform, as finance reads it: its status (French), the hold reason, when the
    status came, why, the expected payment date, the last poll's error."""
    if deposit is None:
        return {"platform": "", "hold_reason": None, "platform_at": None, "platform_reason": None,
                "expected_payment_on": None, "platform_error": None}
    if deposit.status == "held":
        shown = "retenue / held"
    elif deposit.platform_status is not None and deposit.platform_status in PlatformStatus.__members__:
        shown = LABELS_FR[PlatformStatus(deposit.platform_status)]
    else:
        shown = "à déposer / to deposit" if deposit.status == "pending" else "déposée / deposited"
    return {"platform": shown, "hold_reason": deposit.hold_reason,
            "platform_at": deposit.platform_status_at.astimezone(PARIS).date().isoformat()
            if deposit.platform_status_at else None,
            "platform_reason": deposit.platform_reason,
            "expected_payment_on": deposit.expected_payment_on.isoformat() if deposit.expected_payment_on else None,
            "platform_error": deposit.platform_error}


def format_timeline(view: dict[str, Any]) -> str:
    lines = [f"Registration {view['id']}  [{view['state']}]",
             f"  client: {view['client']} ({'public' if view['public_client'] else 'private'} law)",
             f"  session: {view['session_id']}  participants: {view['participants']}"]
    for inv in view["invoices"]:
        status = "  CREDITED" if inv["credited"] else f"  due {inv['due_on']}"
        lines.append(f"  invoice {inv['number']} of {inv['issued_on']}: {inv['total']} EUR{status}  {inv['document']}")
    lines.extend(f"  credit note {c['number']} of {c['issued_on']} on invoice {c['invoice_number']}: "
                 f"-{c['total']} EUR ({c['reason']})" for c in view["credit_notes"])
    lines.extend(f"  payment {p['payment_id']}: {p['amount']} EUR on {p['received_on']} ({p['means']}"
                 + (f", recorded by {p['recorded_by']}" if p["recorded_by"] else "") + ")"
                 + (f"  anomalies: {', '.join(p['anomalies'])}" if p["anomalies"] else "")
                 for p in view["payments"])
    lines.extend(f"  error {e['field']}: {e['message_en']}" for e in view["errors"])
    lines.extend(f"  warning {w['field']}: {w['message_en']}" for w in view["warnings"])
    lines.append("  history:")
    for h in view["history"]:
        arrow = f"{h['from'] or '-'} -> {h['to']}" if h["outcome"] == "applied" else f"REFUSED in {h['from']}"
        reason = f"  ({h['reason']})" if h["reason"] else ""
        when = h["at"][:16].replace("T", " ")
        lines.append(f"    {when}  {h['trigger']:<13} {arrow:<28} by {h['by']}{reason}")
    lines.extend(f"  link of {a['participant']} <{a['email']}>: {a['status']}"
                 + (f" ({a['revoked_reason']})" if a["revoked_reason"] else "") for a in view["links"])
    lines.extend(f"  reminder {r['minutes_before']} min before {r['session_id']}, due {r['due_at'][:16]}: "
                 f"{r['status']}" + (f" ({r['reason']})" if r["reason"] else "") for r in view["reminders"])
    lines.append("  e-mails:")
    lines.extend(f"    {e['status']:<7} {e['kind']:<20} to {e['to']}" + (f"  [{e['error']}]" if e["error"] else "")
                 for e in view["emails"])
    return "\n".join(lines)


def email_list(sessions: sessionmaker[Session], *, status: str | None = None, registration_id: str | None = None
               ) -> list[dict[str, Any]]:
    """Operations' view of the e-mail outbox (failed ones first to look at)."""
    with sessions() as session:
        query = select(EmailRow).order_by(EmailRow.id)
        if status:
            query = query.where(EmailRow.status == status)
        if registration_id:
            query = query.where(EmailRow.registration_id == registration_id)
        return [{"id": e.id, "registration": e.registration_id, "kind": e.kind, "to": e.recipient,
                 "subject": e.subject, "status": e.status, "attempts": e.attempts,
                 "next_attempt_at": e.next_attempt_at.isoformat(), "sent_at": e.sent_at.isoformat() if e.sent_at
                 else None, "message_id": e.message_id, "error": e.last_error} for e in session.scalars(query)]


def decision_on(sessions: sessionmaker[Session], registration_id: str, event_id: str) -> tuple[str, str] | None:
    """What became of a command: ('applied' | 'refused', reason), None while it is in flight."""
    with sessions() as session:
        row = session.scalars(select(HistoryRow).where(HistoryRow.registration_id == registration_id,
                                                       HistoryRow.cause_event_id == event_id)
                              .order_by(HistoryRow.id.desc())).first()
        return None if row is None else (row.outcome, row.reason or "")


def check_link(session: Session, token_or_link: str) -> LinkCheck:
    """What the platform asks before letting someone in: valid, revoked (and why) or unknown."""
    digest = token_hash(token_from(token_or_link))
    row = session.scalars(select(ParticipantAccessRow).where(ParticipantAccessRow.token_hash == digest)).one_or_none()
    if row is None:
        return LinkCheck(LinkStatus.UNKNOWN)
    name = " ".join(p for p in (row.civilite, row.first_name, row.last_name) if p)
    return LinkCheck(LinkStatus.VALID if row.status == ACTIVE else LinkStatus.REVOKED,
                     registration_id=row.registration_id, session_id=row.session_id, participant=name,
                     email=row.email, revoked_at=row.revoked_at, revoked_reason=row.revoked_reason)
