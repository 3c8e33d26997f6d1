"""The back office's languages: French first, English available.

Messages are written in English in the code and the templates (gettext's msgids) and translated in the French
catalogue `translations/fr/LC_MESSAGES/messages.po` (`make translations` extracts, updates and compiles it; a test
fails while a message lacks its French). The language of a request: the one the user chose on the page (kept in
the session), else the user's setting in the users file, else the browser's Accept-Language, else French.
Dates, times, amounts, percentages and figures are Babel's (CLDR), in the language of the page: `15/09/2023`,
`1 190,00 €`, `12,25 %`, `1 785,00`, times in Europe/Paris whatever the server's zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from babel.numbers import NumberFormatError, format_decimal, format_percent, parse_decimal
from flask import Flask, g, request, session
from flask_babel import Babel, format_currency, format_date, format_datetime, get_locale, lazy_pgettext
from flask_babel import lazy_gettext as _l

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
TIMEZONE = "Europe/Paris"
TRANSLATIONS = Path(__file__).parent / "translations"
NOTHING = "—"
Text = TypeVar("Text")
# A registration's state and a user's role as the page names them (the values stay in data attributes and URLs).
STATE_NAMES = {"received": _l("received"), "rejected": _l("rejected"), "signed": _l("signed"),
               "confirmed": _l("confirmed"), "invoiced": _l("invoiced"), "settled": _l("settled"),
               "session_held": _l("session held"), "paid": _l("paid"), "cancelled": _l("cancelled"),
               "credited": _l("credited")}
# An e-mail's, a reminder's or a personal link's status (one word, of a thing: "envoyé", not "envoyée").
STATUS_NAMES = {"pending": lazy_pgettext("status", "pending"), "sent": lazy_pgettext("status", "sent"),
                "failed": lazy_pgettext("status", "failed"), "scheduled": lazy_pgettext("status", "scheduled"),
                "skipped": lazy_pgettext("status", "skipped"), "cancelled": lazy_pgettext("status", "cancelled"),
                "active": lazy_pgettext("status", "active"), "revoked": lazy_pgettext("status", "revoked")}
ROLE_NAMES = {"support": _l("support"), "finance": _l("finance"), "operations": _l("operations"),
              "trainer": _l("trainer")}


def select_language() -> str:
    """The page's language, in this order: chosen on the page, the user's setting, the browser's, French."""
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return str(chosen)
    user = g.get("user")
    setting = getattr(user, "language", None)
    if setting in LANGUAGES:
        return str(setting)
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE


def install(app: Flask) -> None:
    """Babel on `app`, with the filters the templates format values with."""
    Babel(app, default_locale=DEFAULT_LANGUAGE, default_timezone=TIMEZONE,
          default_translation_directories=str(TRANSLATIONS), locale_selector=select_language)
    app.jinja_env.filters.update(day=day, moment=moment, euros=euros, state_name=state_name, role_name=role_name,
                                 status_name=status_name)
    app.jinja_env.globals.update(language=language, in_language=in_language)


def language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def in_language(french: Text, english: Text) -> Text:
    """For a text the domain already holds in both languages (a form's error, a refusal's reason)."""
    return french if language() == "fr" else english


def state_name(value: str | None) -> str:
    return str(STATE_NAMES.get(value or "", value or NOTHING))


def status_name(value: str | None) -> str:
    return str(STATUS_NAMES.get(value or "", value or NOTHING))


def role_name(value: str) -> str:
    return str(ROLE_NAMES.get(value, value))


def day(value: date | str | None) -> str:
    """A date as the page's language writes it (`15/09/2023`); an ISO text is read first; nothing → —."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, str):
        try:
            return day(date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return str(format_date(value, "short"))


def moment(value: datetime | str | None) -> str:
    """A date and time in Europe/Paris (`15/09/2023 14:30`); a naive value is taken as already in Paris."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, str):
        try:
            return moment(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(format_datetime(value, "short", rebase=value.tzinfo is not None))


def euros(value: Decimal | int | str | None) -> str:
    """An amount in euros as the page's language writes it (`1 190,00 €`)."""
    if value is None or value == "":
        return NOTHING
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return str(format_currency(amount, "EUR"))


def amount_typed(text: str) -> str:
    """An amount as a person types it in the page's language (`1 190,00`, `1190,00`, `1190.00`) made the
    contract's `1190.00`; a text that is no amount (`11 90,00`: thousands misplaced) comes back as it was, for
    the contract to refuse with its named error."""
    spaced = re.sub(r"[ \u00a0\u202f]", "\u202f", text.strip())
    try:
        read = parse_decimal(spaced, locale=language(), strict=True)
    except NumberFormatError:
        return text
    return str(read) if read.is_finite() else text  # "NaN", "inf": no amount, the contract names it


def percent(value: Decimal | str) -> str:
    """A value in percent (`12.00`, `66.7`): its significant decimals only, the locale's sign and spacing."""
    return str(format_percent(Decimal(value) / 100, locale=get_locale() or DEFAULT_LANGUAGE,
                              decimal_quantization=False))


def figure(value: Decimal | int | str) -> str:
    """A count or a decimal figure with the locale's separators and as many decimals as it holds; a text as is."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return str(value)
    exponent = value.as_tuple().exponent if isinstance(value, Decimal) else 0
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return str(format_decimal(value, format="#,##0" + ("." + "0" * places if places else ""),
                              locale=get_locale() or DEFAULT_LANGUAGE))
