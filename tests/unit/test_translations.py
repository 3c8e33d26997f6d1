"""The back office in French: every message has its French, the compiled catalogue is the one the page reads, and
no template writes a text outside gettext (it would show in one language only)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

from regflow.web import i18n_messages

TEMPLATES = Path(i18n_messages.WEB) / "templates"
# Texts that read the same in both languages (names, codes, symbols).
SAME_IN_BOTH = {"regflow", "BPF", "SIRET", "CSV", "PDF", "JSON", "EUR", "Mme", "M.", "Français", "English", "OK",
                "Factur-X", "Chorus Pro", "IBAN", "BIC", "CPOM", "RGPD", "ID", "SVG", "min", "h", "e-mail", "CAMT.053"}
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
