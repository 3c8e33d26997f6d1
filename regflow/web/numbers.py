"""Numbers that are not amounts, as the page's language writes them (amounts and dates: regflow.web.i18n's
filters): a percentage (`12 %`, `12,25 %`; `12.25%`) and a BPF figure with its decimals kept (`1 785,00`)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal, format_percent
from flask_babel import get_locale

from regflow.web.i18n import DEFAULT_LANGUAGE


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
