"""The French catalogue's upkeep (`make translations`, `python -m regflow.web.i18n_messages`).

Extracts every message of the back office (its Python modules and templates), adds the new ones to
`translations/fr/LC_MESSAGES/messages.po` (untranslated: a test then fails until someone writes their French),
drops the ones no longer used, and compiles the `.mo` that the page reads. Babel's own extractors and catalogue
code, as `pybabel extract/update/compile` would, without the command line's options to remember.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

WEB = Path(__file__).parent
PO = WEB / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2),
            "lazy_pgettext": ((1, "c"), 2)}


def extracted() -> Catalog:
    """Every message the code and the templates ask gettext for, with where."""
    template = Catalog(project="regflow", domain="messages")
    for filename, line, message, comments, context in extract_from_dir(
            WEB, METHODS, options_map={"templates/**.html": {"trimmed": "true"}}, keywords=KEYWORDS):
        template.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    return template


def french() -> Catalog:
    with PO.open("rb") as file:
        return read_po(file, locale="fr")


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def update() -> list[str]:
    """The catalogue brought in line with the code; returns the messages still without French."""
    catalog = french() if PO.exists() else Catalog(locale="fr", project="regflow", fuzzy=False)
    template = extracted()
    template.creation_date = catalog.creation_date  # the file changes only when a message does
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as file:
        write_po(file, catalog, width=120, omit_header=False, sort_output=False)
    MO.write_bytes(compiled(french()))
    return [str(m.id) for m in french() if m.id and (not _translated(m.string) or m.fuzzy)]


def _translated(string: object) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


def main() -> int:
    missing = update()
    for message in missing:
        print(f"sans traduction / untranslated: {message}", file=sys.stderr)
    print(f"{PO.relative_to(WEB.parent.parent)}: {len(french()) - 1} messages, {len(missing)} untranslated")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
