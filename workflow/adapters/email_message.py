"""E-mails as the participants read them: templates in French, rendered to text and HTML, and built
into a standard-library `EmailMessage` with its attachments (invoice PDF, `.ics` invitation).

Templates live in `workflow/templates/mail/`: `<name>.subject.txt`, `<name>.txt` and `<name>.html`
(autoescaped), each extending a layout that carries the organisation's identity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from schemas.limits import quoted

TEMPLATES = Path(__file__).parents[1] / "templates" / "mail"

_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")


def french_date(day: date) -> str:
    """'vendredi 15 septembre 2023' (no locale needed on the server); '1er' as French writes it."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{_DAYS[day.weekday()]} {number} {_MONTHS[day.month - 1]} {day.year}"


def french_time(moment: time | datetime) -> str:
    """'9h30', '17h00', '13h45': the brochures' way of writing hours."""
    return f"{moment.hour}h{moment.minute:02d}"


def french_delay(minutes: int) -> str:
    """How long before the start a reminder goes out: '3 heures', '15 minutes', '1 heure 30'."""
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return f"{rest} minute{'s' if rest > 1 else ''}"
    text = f"{hours} heure{'s' if hours > 1 else ''}"
    return f"{text} {rest:02d}" if rest else text


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class MailTemplates:
    """Jinja2 with autoescaping for HTML only, and StrictUndefined: a missing value is an error, not
    an empty hole in a message sent to a client."""

    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.env = Environment(loader=FileSystemLoader(directory), undefined=StrictUndefined,
                               autoescape=select_autoescape(["html"], default_for_string=False),
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        # `{{ value | quoted(200) }}`: a value of a form that validation refused, at most that long and with its
        # refused characters written `\u001b` (a rejection must not carry a 200 KB name or an ESC back).
        self.env.filters["quoted"] = quoted

    def names(self) -> list[str]:
        return sorted(n.removesuffix(".subject.txt") for n in self.env.list_templates() if n.endswith(".subject.txt"))

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        subject = " ".join(self.env.get_template(f"{name}.subject.txt").render(context).split())
        return Rendered(subject=subject, text=self.env.get_template(f"{name}.txt").render(context),
                        html=self.env.get_template(f"{name}.html").render(context))


# Headers folded at 78 columns come out of the standard library with a doubled space where a line ends
# before an encoded word ("l'aide  à domicile"); RFC 5322 allows 998, so long subjects stay on one line.
class _ReusedHeaderClasses(HeaderRegistry):
    """The standard registry builds a new header class with `type()` at every header set or read (a tenth of an
    e-mail's CPU in the profile); the classes hold no state, so one per header name is built once and reused."""

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if (built := self._built.get(key)) is None:
            built = self._built[key] = super().__getitem__(name)
        return built


MESSAGE_POLICY = policy.default.clone(max_line_length=998, header_factory=_ReusedHeaderClasses())


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] | None = None


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The same Message-ID on every attempt of one e-mail: a resent copy is recognisably the same."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


def build_message(rendered: Rendered, *, sender_name: str, sender_address: str, recipient: str, message_id: str,
                  sent_at: datetime, attachments: list[Attachment], reply_to: str | None = None,
                  headers: dict[str, str] | None = None) -> EmailMessage:
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = rendered.subject
    message["From"] = formataddr((sender_name, sender_address))
    message["To"] = recipient
    # The header is what a server reads back: an address it would read otherwise (a list, a display name, an
    # RFC 2047 encoded word that the standard library decodes, `=?utf-8?q?x?=@a.fr` read as `x@a.fr`) is not
    # sent at all, rather than to someone else.
    written = [address.addr_spec for address in message["To"].addresses]
    if written != [recipient]:
        raise ValueError(f"the recipient {recipient[:80]!r} would be read as {str(written)[:200]}: not sent")
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        params = dict(attachment.params or {})
        if attachment.maintype == "text":
            # Text given as bytes is UTF-8 here (the `.ics`): said so, or a client reads the names as ASCII.
            params.setdefault("charset", "utf-8")
        message.add_attachment(attachment.content, maintype=attachment.maintype, subtype=attachment.subtype,
                               filename=attachment.filename, params=params)
    return message
