"""The mailbox of returned forms over IMAP (RFC 9051 / 3501, Python's `imaplib`): production's adapter of the
`Mailbox` port (`workflow.ops.returned_forms`), beside the Maildir. Unread means not `\\Seen`; a message is fetched
with `BODY.PEEK[]` (reading it does not mark it), its size asked first (a message over the limit is not fetched),
and marked `\\Seen` only once its scans are committed. `imaps://user@host[:port]/FOLDER`, the password from
`REGFLOW_MAILBOX_PASSWORD`; `imap://` (no TLS) only for a local server."""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import unquote, urlsplit

from workflow.ops.returned_forms import MAX_MESSAGE_BYTES, Incoming

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapBox:
    def __init__(self, url: str, password: str, *, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError("expected imaps://user@host[:port]/FOLDER")
        self.folder = unquote(parts.path.lstrip("/")) or "INBOX"
        if parts.scheme == "imaps":
            self.client: imaplib.IMAP4 = imaplib.IMAP4_SSL(parts.hostname, parts.port or 993,
                                                           ssl_context=ssl.create_default_context(), timeout=timeout)
        else:
            self.client = imaplib.IMAP4(parts.hostname, parts.port or 143, timeout=timeout)
        self.client.login(unquote(parts.username), password)
        status, _ = self.client.select(self.folder)
        if status != "OK":
            raise OSError(f"no folder {self.folder!r} on the server")

    def unread(self) -> Iterator[Incoming]:
        status, found = self.client.uid("SEARCH", "UNSEEN")
        uids = found[0].split() if status == "OK" and found and found[0] else []
        for uid in uids:
            key = uid.decode("ascii")
            yield Incoming(key, self._fetch(key))

    def _fetch(self, key: str) -> EmailMessage | None:
        status, sized = self.client.uid("FETCH", key, "(RFC822.SIZE)")
        size = _SIZE.search(sized[0] if status == "OK" and sized and isinstance(sized[0], bytes) else b"")
        if size is None or int(size.group(1)) > MAX_MESSAGE_BYTES:
            return None
        status, data = self.client.uid("FETCH", key, "(BODY.PEEK[])")
        raw = next((part[1] for part in data if isinstance(part, tuple)), None) if status == "OK" else None
        parsed = BytesParser(policy=policy.default).parsebytes(raw) if isinstance(raw, bytes) else None
        return parsed if isinstance(parsed, EmailMessage) else None

    def mark_read(self, key: str) -> None:
        self.client.uid("STORE", key, "+FLAGS", "(\\Seen)")

    def close(self) -> None:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self.client.logout()
