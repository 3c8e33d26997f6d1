"""The SMTP client: `smtplib` with STARTTLS or implicit TLS, certificate checked, credentials from settings.

One connection is opened per batch of due e-mails and closed after it. Failures are sorted: a 5xx
answer (mailbox unknown, message refused) is permanent and retrying would not help; anything else
(connection refused, timeout, 4xx "try later", authentication while the relay is misconfigured) is
transient and retried with backoff.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from email.message import EmailMessage
from types import TracebackType
from typing import Self

from workflow.domain.identifiers import normalise_email
from workflow.settings import Settings


class MailDeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def classify(error: Exception) -> MailDeliveryError:
    """Permanent (5xx) or transient (everything else), with what the server said."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        detail = "; ".join(f"{who}: {code} {text.decode(errors='replace')}"
                           for who, (code, text) in error.recipients.items())
        return MailDeliveryError(f"recipient refused: {detail}", permanent=all(c >= 500 for c in codes))
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return MailDeliveryError(f"SMTP authentication failed ({error.smtp_code}): check the credentials",
                                 permanent=False)
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return MailDeliveryError(f"SMTP {error.smtp_code}: {text}", permanent=error.smtp_code >= 500)
    return MailDeliveryError(f"{type(error).__name__}: {error}", permanent=False)


class SmtpMailer:
    """`with SmtpMailer(settings) as mailer: mailer.send(message)`; errors come out as MailDeliveryError."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: smtplib.SMTP | None = None

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.smtp_ca_file:
            context.load_verify_locations(cafile=str(self.settings.smtp_ca_file))
        return context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            client: smtplib.SMTP
            if s.smtp_security == "tls":
                client = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds,
                                          context=self._tls_context())
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
                if s.smtp_security == "starttls":
                    client.starttls(context=self._tls_context())
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                client.login(s.smtp_username, password)
        except (OSError, smtplib.SMTPException) as exc:
            raise classify(exc) from exc
        return client

    def send(self, message: EmailMessage) -> None:
        """Send to exactly one recipient, the one address of `To` (never a list the headers would make)."""
        recipient = normalise_email(str(message["To"] or ""))
        if recipient is None or message.get_all("Cc") or message.get_all("Bcc"):
            raise MailDeliveryError(f"not exactly one recipient: {str(message['To'])[:80]!r}", permanent=True)
        if self._client is None:
            self._client = self._connect()
        try:
            refused = self._client.send_message(message, to_addrs=[recipient])
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise classify(exc) from exc
        if refused:  # several recipients, some refused: never the case here (one recipient per e-mail)
            raise classify(smtplib.SMTPRecipientsRefused(refused))

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._client.quit()
            self._drop()
