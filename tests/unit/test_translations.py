"""The back office in French: every message has its French, the compiled catalogue is the one the page reads, and
no template writes a text outside gettext (it would show in one language only)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.numbers import format_decimal
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment

from regflow.web import i18n, i18n_messages

TEMPLATES = Path(i18n_messages.WEB) / "templates"
# Texts that read the same in both languages (names, codes, symbols).
SAME_IN_BOTH = {"regflow", "BPF", "SIRET", "CSV", "PDF", "JSON", "EUR", "Mme", "M.", "OK", "Factur-X",
                "Version française", "English version",
                "Chorus Pro", "IBAN", "BIC", "CPOM", "RGPD", "ID", "SVG", "min", "h", "e-mail", "CAMT.053"}
ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}
WORDS = re.compile(r"[^\W\d_]{2,}")


def test_every_message_of_the_back_office_has_its_french() -> None:
    extracted = i18n_messages.extracted()
    french = i18n_messages.french()
    untranslated = []
    for message in extracted:
        if not message.id:
            continue
        found = french.get(message.id, message.context)
        strings = found.string if found is not None and isinstance(found.string, tuple) else (
            found.string if found is not None else "",)
        if found is None or found.fuzzy or not all(strings):
            untranslated.append(f"{message.id!r} ({', '.join(f'{f}:{n}' for f, n in message.locations)})")
    assert not untranslated, "no French for (run `make translations`, then write the msgstr):\n" + "\n".join(
        untranslated)


def test_the_compiled_catalogue_is_the_po_file() -> None:
    assert i18n_messages.MO.read_bytes() == i18n_messages.compiled(i18n_messages.french()), \
        "messages.mo lags behind messages.po: run `make translations`"


def test_placeholders_are_kept_in_each_translation() -> None:
    names = re.compile(r"%\((\w+)\)[sd]")
    wrong = [m.id for m in i18n_messages.french() if m.id and isinstance(m.id, str) and isinstance(m.string, str)
             and m.string and set(names.findall(m.id)) != set(names.findall(m.string))]
    assert not wrong


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "script"}:
            self._skip += 1
        self.found.extend(value for name, value in attrs if name in ATTRIBUTES and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.found.append(data)


def _written_outside_gettext(source: str) -> list[str]:
    """The texts of a template's HTML (not its Jinja expressions) that hold words."""
    parser = _Texts()
    for _, kind, value in Environment(extensions=["jinja2.ext.i18n"]).lex(source):
        if kind == "data":
            parser.feed(value)
    parser.close()
    texts = [" ".join(t.split()) for t in parser.found]
    return [t for t in texts if WORDS.search(t) and t.strip(" ·:()/—-,.") not in SAME_IN_BOTH]


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_writes_a_text_outside_gettext(template: str) -> None:
    assert _written_outside_gettext((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_a_text_outside_gettext_is_found() -> None:
    assert _written_outside_gettext('<p title="Open">{{ _("Yes") }} Hello <b>{{ n }}</b></p>') == ["Open", "Hello"]


# --- the formats of each language ---------------------------------------------------------------------------


def _page() -> Flask:
    app = Flask("formats")
    app.secret_key = "test"
    i18n.install(app)
    return app


SHARED_PAGE = _page()  # for the Hypothesis properties: one app, a request context per example


@pytest.mark.parametrize(("accept", "amount", "date", "time"), [
    (None, "1\u202f190,00\xa0€", "15/09/2023", "15/09/2023 14:30"),
    ("fr-FR,fr;q=0.9", "1\u202f190,00\xa0€", "15/09/2023", "15/09/2023 14:30"),
    ("en-GB,en;q=0.8", "€1,190.00", "9/15/23", "9/15/23, 2:30\u202fPM"),
])
def test_amounts_dates_and_paris_times_are_written_the_way_of_the_page_s_language(
        accept: str | None, amount: str, date: str, time: str) -> None:
    app = _page()
    with app.test_request_context(headers={"Accept-Language": accept} if accept else {}):
        assert i18n.euros("1190.00") == i18n.euros(Decimal("1190")) == amount
        assert i18n.day("2023-09-15") == i18n.day(dt.date(2023, 9, 15)) == date
        assert i18n.moment("2023-09-15T12:30:00+00:00") == time  # UTC → Europe/Paris (summer: +2)
        assert i18n.moment("2023-09-15T14:30:00") == time  # naive: already Paris
        assert i18n.day(None) == i18n.euros(None) == "—"
        assert i18n.day("not a date") == "not a date"  # shown as it is, never a crash


def test_a_state_is_named_in_the_page_s_language() -> None:
    app = _page()
    with app.test_request_context():
        assert i18n.state_name("session_held") == "séance tenue"
        assert i18n.status_name("sent") == "envoyé"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.state_name("session_held") == "session held"


@pytest.mark.parametrize(("accept", "typed", "read"), [
    (None, "1 190,00", "1190.00"), (None, "1\u202f190,00", "1190.00"), (None, "1190,5", "1190.5"),
    (None, "1190.00", "1190.00"), (None, "11 90,00", "11 90,00"), (None, "1,190.00", "1,190.00"),
    ("en", "1,190.00", "1190.00"), ("en", "abc", "abc"), (None, " NaN", " NaN"), ("en", "inf ", "inf "),
])
def test_an_amount_typed_the_way_of_the_page_s_language_is_read(accept: str | None, typed: str, read: str) -> None:
    """What is not an amount comes back as typed, for the contract to refuse with its named error."""
    with _page().test_request_context(headers={"Accept-Language": accept} if accept else {}):
        assert i18n.amount_typed(typed) == read


@given(typed=st.text(max_size=40), english=st.booleans())
def test_whatever_is_typed_as_an_amount_comes_back_as_text_never_an_exception(typed: str, english: bool) -> None:
    with SHARED_PAGE.test_request_context(headers={"Accept-Language": "en"} if english else {}):
        read = i18n.amount_typed(typed)
    assert isinstance(read, str)
    assert read == typed or Decimal(read).is_finite()


@given(amount=st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2), english=st.booleans())
def test_an_amount_written_the_way_of_the_page_is_read_back_to_the_same_value(amount: Decimal, english: bool) -> None:
    language = "en" if english else "fr"
    written = format_decimal(amount, "#,##0.00", locale=language)
    with SHARED_PAGE.test_request_context(headers={"Accept-Language": language}):
        assert Decimal(i18n.amount_typed(written)) == amount
