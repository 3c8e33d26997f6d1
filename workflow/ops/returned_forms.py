"""Signed forms returned by e-mail (issue #19; the brochures: the form "sera ensuite adressé par courrier
électronique"): each new message of the mailbox is matched to its registration — by a reference in its subject or
text (the pre-filled form and the tracking page print it), else by its sender when that address is the
gestionnaire of exactly one registration waiting in *received* — and its PDF, JPEG or PNG attachments are kept as
scans for support's check (`workflow.ops.scans`). Every message gets an outcome and is marked read: nothing is
dropped, nothing read twice; a message that cannot be matched stays listed with why.

The mailbox is a port: `Maildir` here (the development mail sink, a local delivery); IMAP in production fits the
same `Mailbox` protocol."""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.domain.clock import Clock
from workflow.domain.scans import SCAN_MAX_BYTES, ScanError
from workflow.ops.scans import checked_scan, keep_scan
from workflow.persistence.orm import RegistrationRow

MAX_MESSAGE_BYTES = 4 * SCAN_MAX_BYTES  # a few scans, base64-encoded
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")  # a registration id's alphabet: its UUID, `dep-94`


@dataclass(frozen=True)
class Incoming:
    key: str
    message: EmailMessage | None  # None: too large or unreadable


@dataclass(frozen=True)
class Outcome:
    key: str
    sender: str
    subject: str
    registration_id: str | None
    kept: int  # scans kept
    reason_fr: str | None  # why nothing was kept
    reason_en: str | None


class Mailbox(Protocol):
    def unread(self) -> Iterator[Incoming]: ...

    def mark_read(self, key: str) -> None: ...


class MaildirBox:
    """A Maildir: its `new/` messages are the unread ones; read, they move to `cur/` flagged seen."""

    def __init__(self, path: Path) -> None:
        self.box = mailbox.Maildir(path, factory=None, create=False)

    def unread(self) -> Iterator[Incoming]:
        for key in sorted(self.box.keys()):
            message = self.box.get_message(key)
            if message.get_subdir() != "new":
                continue
            raw = self.box.get_bytes(key)
            parsed = None if len(raw) > MAX_MESSAGE_BYTES else BytesParser(policy=policy.default).parsebytes(raw)
            yield Incoming(key, parsed if isinstance(parsed, EmailMessage) else None)

    def mark_read(self, key: str) -> None:
        message = self.box.get_message(key)
        message.set_subdir("cur")
        message.add_flag("S")
        self.box[key] = message


def take_returned_forms(sessions: sessionmaker[Session], clock: Clock, box: Mailbox) -> list[Outcome]:
    outcomes = []
    for incoming in box.unread():
        with sessions() as session:
            outcome = _one(session, clock, incoming)
            session.commit()
        box.mark_read(incoming.key)  # after the commit that keeps its scans: a crash in between reads it again
        outcomes.append(outcome)
    return outcomes


def _one(session: Session, clock: Clock, incoming: Incoming) -> Outcome:
    message = incoming.message
    if message is None:
        return Outcome(incoming.key, "?", "?", None, 0, "message illisible ou trop volumineux",
                       "unreadable or too large message")
    sender = parseaddr(str(message.get("From", "")))[1].lower()[:254]
    subject = " ".join(str(message.get("Subject", "")).split())[:200]
    registration_id = _match(session, subject + " " + _text(message), sender)
    if registration_id is None:
        return Outcome(incoming.key, sender, subject, None, 0, "aucune référence d'inscription ni expéditeur connu",
                       "no registration reference and no known sender")
    kept, refused = 0, []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        try:
            kept += keep_scan(session, registration_id, content, checked_scan(content), clock.now())
        except ScanError as exc:
            refused.append(exc)
    if kept:
        return Outcome(incoming.key, sender, subject, registration_id, kept, None, None)
    if refused:
        return Outcome(incoming.key, sender, subject, registration_id, 0, refused[0].fr, refused[0].en)
    return Outcome(incoming.key, sender, subject, registration_id, 0, "aucune pièce jointe PDF, JPEG ou PNG nouvelle",
                   "no new PDF, JPEG or PNG attachment")


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    try:
        return str(body.get_content())[:20000] if body is not None else ""
    except (LookupError, ValueError):
        return ""


def _match(session: Session, text: str, sender: str) -> str | None:
    """A registration waiting in *received* named in the text, else the one whose gestionnaire wrote."""
    candidates = {m.group() for m in _REFERENCE.finditer(text)}
    waiting = select(RegistrationRow.id).where(RegistrationRow.state == "received")
    if candidates:
        found = session.scalars(waiting.where(RegistrationRow.id.in_(sorted(candidates)[:500]))).all()
        if len(found) == 1:
            return found[0]
    if not sender:
        return None
    mine = session.scalars(waiting.where(func.lower(RegistrationRow.form["gestionnaire"]["email"].as_string())
                                         == sender)).all()
    return mine[0] if len(mine) == 1 else None
