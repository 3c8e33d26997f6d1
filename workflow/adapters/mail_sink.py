"""A development SMTP server that keeps what it receives (a Maildir, and a list in memory).

It is a real SMTP server (aiosmtpd): the notifications consumer talks to it exactly as to the
production relay. `regflow mail-sink` runs one for a local run; the demo starts one; the tests start
one per test, with STARTTLS and a password when they check those, and can make it refuse messages.
"""

from __future__ import annotations

import mailbox
import ssl
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SinkHandler:
    def __init__(self, maildir: Path | None, on_message: Callable[[EmailMessage], None] | None) -> None:
        self.received: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.maildir = mailbox.Maildir(maildir, create=True) if maildir else None
        self.on_message = on_message
        self.refuse_with: str | None = None  # e.g. "451 4.3.0 try later": tests make the server fail

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.refuse_with:
            return self.refuse_with
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(message)
            if self.maildir is not None:
                self.maildir.add(envelope.content)
        if self.on_message:
            self.on_message(message)
        return "250 2.0.0 OK: queued"


class MailSink:
    """`with MailSink(port=0) as sink:` ... `sink.port`, `sink.received`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 1025, maildir: Path | None = None,
                 tls_context: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 credentials: tuple[str, str] | None = None,
                 on_message: Callable[[EmailMessage], None] | None = None) -> None:
        self.handler = SinkHandler(maildir, on_message)
        kwargs: dict[str, Any] = {}
        if tls_context is not None and implicit_tls:
            kwargs.update(ssl_context=tls_context)  # TLS from the first byte (port 465)
        elif tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if credentials is not None:
            user, password = credentials

            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and data.login.decode() == user \
                    and data.password.decode() == password
                return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

            kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls_context is not None,
                          auth_exclude_mechanism=["LOGIN"])  # PLAIN only: smtplib falls back to LOGIN badly
        self.controller = Controller(self.handler, hostname=host, port=port or _free_port(host), **kwargs)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def received(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.received)

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
