"""structlog set-up: JSON lines when not on a terminal, coloured console on one; personal data masked.

Logs leave the application (log shippers, tickets, screenshots), so they carry ids, never the people:
`mask_personal_data` runs last before rendering and masks e-mail addresses and phone numbers wherever
they appear (error texts from SMTP or PostgreSQL quote them), and the values of fields that name a
person. The full data stays in the database and in the messages, where access is controlled.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Fields whose whole value is personal (a name, an address, a signatory): masked whatever they hold.
PERSONAL_FIELDS = frozenset({
    "email", "recipient", "to", "participant", "participants", "first_name", "last_name", "name",
    "civilite", "phone", "gestionnaire", "signatory", "payer", "replaced_email", "requested_by", "user",
})

# Every address `workflow.domain.identifiers.normalise_email` accepts: an ASCII local part of RFC 5322 atext and dots,
# a domain of letters (any script: IDNA), digits and hyphens; also a partial one quoted in an error text.
EMAIL = re.compile(r"(?P<first>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]*"
                   r"@(?P<domain>[\w-])[\w.-]*\.(?P<tld>[\w-]{2,})")
# French numbers, national or international form, with or without separators (0143997000, +33 1 43 99 70 00).
PHONE = re.compile(r"(?<![\d])(?:\+33[\s.-]?|0)[1-9](?:[\s.-]?\d{2}){3}[\s.-]?(?P<last>\d{2})(?![\d])")


def mask_text(text: str) -> str:
    """`claire.durand@valdemarne.fr` -> `c***@v***.fr`; `01 43 99 70 00` -> `** ** ** ** 00`."""
    text = EMAIL.sub(lambda m: f"{m['first']}***@{m['domain']}***.{m['tld']}", text)
    return PHONE.sub(lambda m: f"** ** ** ** {m['last']}", text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: "***" if k in PERSONAL_FIELDS else _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_personal_data(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
                       ) -> MutableMapping[str, Any]:
    """structlog processor: see the module docstring."""
    for key, value in event_dict.items():
        event_dict[key] = "***" if key in PERSONAL_FIELDS and value is not None else _mask(value)
    return event_dict


def processor_chain(as_json: bool) -> list[structlog.types.Processor]:
    """Context, level, time, traceback, then masking (it must see the rendered traceback), then output."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer())
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,
        renderer,
    ]


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written (a logger cached on first use would otherwise keep
    a stream that was replaced since, such as a test's captured output, and write to it once closed)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(log_format: str = "auto", level: int = logging.INFO) -> None:
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    structlog.configure(
        processors=processor_chain(as_json),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.getLogger("pika").setLevel(logging.WARNING)
