"""What the command line prints: never a terminal control sequence from stored or received data, JSON a
script can read, and one line (not a traceback) for an error caused by what a person typed or a file held."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from tqdm import tqdm

OUR_PACKAGES = frozenset({"regflow", "producers", "workflow", "schemas", "consumers"})

# CSI (ESC [ or 0x9B ... final byte), OSC/DCS/SOS/PM/APC strings up to their terminator (BEL, ESC \ or ST),
# and every other escape (ESC, intermediates, final byte): removed whole, not just their ESC.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?")
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # overrides and isolates
_SPACES = "\t\n\v\f\r\x85\u2028\u2029"  # what breaks a line (or tabs it) becomes one space
_UNPRINTABLE: dict[int, str | None] = {
    **dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)]), **dict.fromkeys(map(ord, _BIDI_CONTROLS)),
    **dict.fromkeys(map(ord, _SPACES), " ")}
# In JSON the C0 controls are escaped already; these are escaped too (`\u009b`): lossless, and inert.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029" + _BIDI_CONTROLS + "]")


def printable(text: object) -> str:
    """`text` safe to print on a terminal, on one line: escape sequences, C0 and C1 control characters and
    bidirectional overrides and isolates removed (a line break or a tab becomes a space). Every value that
    comes from a user, a file, the database or the network goes through it before it is printed."""
    return _ESCAPE_SEQUENCE.sub("", str(text)).translate(_UNPRINTABLE)


def clean(data: Any) -> Any:
    """`printable` applied to every string of a structure (for a text view built from it)."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {key: clean(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [clean(value) for value in data]
    return data


def to_json(data: Any) -> str:
    """JSON for a script, UTF-8 kept readable, with the characters a terminal would act on escaped."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def print_lines(text: str, *, file: Any = None) -> None:
    """A multi-line message of ours whose lines quote user values (file names, reasons)."""
    print("\n".join(printable(line) for line in text.split("\n")), file=file or sys.stdout)


@dataclass(frozen=True)
class Column:
    """A column of a text table: its title, its width (padded, never cut; 0 for a free-text last column), which
    side it keeps to, and what it shows of a row, a key or a function; a value None or empty shows as `empty`."""

    title: str
    value: str | Callable[[dict[str, Any]], object]
    width: int = 0
    right: bool = False
    empty: str = ""
    gap: str = " "  # what comes before it (two spaces before a free-text last column)

    def cell(self, text: object) -> str:
        """`text` safe to print (`printable`), then padded: what it shows can never move the columns after it."""
        shown = printable(text) if text is not None and text != "" else self.empty
        return shown.rjust(self.width) if self.right else shown.ljust(self.width)

    def of(self, row: dict[str, Any]) -> str:
        return self.cell(row[self.value] if isinstance(self.value, str) else self.value(row))


def print_table(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> None:
    """The titles, then one line per row: the one printer of the command line's tables."""
    for cells in ([c.cell(c.title) for c in columns], *([c.of(row) for c in columns] for row in rows)):
        print("".join(column.gap + text if i else text for i, (column, text) in enumerate(zip(columns, cells,
                                                                                               strict=True))))


def both(fr: str, en: str) -> str:
    """A message in French, then in English."""
    return f"{fr} / {en}"


def progress_bar(total: int | None, unit: str, *, shown: bool = True) -> tqdm[Any]:
    """A progress bar on stderr, only on a terminal (a script or a pipe gets the plain lines alone)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=f" {unit}", disable=not (shown and sys.stderr.isatty()), file=sys.stderr)


def safe_url(url: str) -> str:
    """A URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def validation_summary(exc: ValidationError, limit: int = 5) -> str:
    """A pydantic error on one line: `field: message; ...` (the values quoted, never echoed whole)."""
    errors = exc.errors(include_url=False, include_input=False)
    said = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in errors[:limit])
    return said + (f"; (+{len(errors) - limit})" if len(errors) > limit else "")


def expected_error(exc: BaseException) -> str | None:
    """The one-line message for an error caused by what a person typed or a file held (None: a bug, or
    something else, which keeps its traceback)."""
    import pika.exceptions
    from sqlalchemy.exc import OperationalError, ProgrammingError

    said: str | None = None
    if isinstance(exc, ValidationError):
        what = "configuration (REGFLOW_*)" if exc.title == "Settings" else exc.title
        said = f"{what} refusé(e) / refused: {validation_summary(exc)}"
    elif isinstance(exc, UnicodeError):
        said = f"texte illisible (pas UTF-8) / unreadable text (not UTF-8): {exc}"
    elif isinstance(exc, ValueError) and type(exc).__module__.split(".")[0] in OUR_PACKAGES:
        said = str(exc)
    elif isinstance(exc, OSError) and exc.filename is not None:
        said = f"{exc.filename}: {exc.strerror or exc}"
    elif isinstance(exc, pika.exceptions.ChannelClosedByBroker) and exc.reply_code == 403:
        said = (f"le courtier a refusé / the broker refused it: {exc.reply_text}; each command logs in as its role's "
                "broker user (REGFLOW_BROKER_URL_<ROLE>, else REGFLOW_BROKER_URL; see regflow broker-users show)")
    elif isinstance(exc, (OperationalError, ProgrammingError)):
        said = ("base de données injoignable, ou pas au dernier schéma (regflow migrate) / database unreachable, or "
                f"not at the latest schema (regflow migrate): {str(exc.orig).splitlines()[0] if exc.orig else exc}")
    elif isinstance(exc, pika.exceptions.AMQPConnectionError):
        said = (f"courtier RabbitMQ injoignable, rien n'a été envoyé / RabbitMQ broker unreachable, nothing "
                f"sent ({safe_url(os.environ.get('REGFLOW_BROKER_URL', 'amqp://127.0.0.1:5672/%2F'))}: "
                f"{type(exc).__name__})")
    return None if said is None else f"erreur / error: {said}"
