"""The generated documents in docs/ are the ones the code generates today."""

from __future__ import annotations

import json
from pathlib import Path

from workflow.domain.machine import mermaid_diagram
from workflow.messaging.json_schemas import all_json_schemas

DOCS = Path(__file__).parent.parent.parent / "docs"


def test_the_state_diagram_in_docs_is_up_to_date() -> None:
    assert mermaid_diagram() in (DOCS / "state-machine.md").read_text(encoding="utf-8"), \
        "run: regflow diagram --output docs/state-machine.md"


def test_every_message_has_an_up_to_date_json_schema_in_docs() -> None:
    for name, schema in all_json_schemas().items():
        on_disk = json.loads((DOCS / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert on_disk == schema, f"docs/schemas/{name}.schema.json is stale: run regflow export-schemas"


def test_the_readme_lists_every_validation_rule() -> None:
    from workflow.domain.form_rules import RULES

    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    missing = [rule.__name__ for rule in RULES if f"`{rule.__name__}`" not in readme]
    assert missing == [], f"README.md does not list: {missing}"


def test_the_readme_places_every_folder_of_the_tree() -> None:
    """The module map ("Where things go") names every package, so a newcomer finds a place from the README."""
    root = DOCS.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    packages = sorted(str(init.parent.relative_to(root)) + "/" for top in ("schemas", "workflow", "consumers",
                                                                        "producers", "regflow")
                      for init in (root / top).rglob("__init__.py") if "migrations" not in init.parts)
    missing = [package for package in packages if f"`{package}`" not in readme
               and f"`{package.rsplit('/', 2)[-2]}/`" not in readme]
    assert missing == [], f"README.md's module map does not place: {missing}"


def test_the_intake_api_s_openapi_document_is_up_to_date() -> None:
    from regflow.api.openapi import openapi_document

    on_disk = json.loads((DOCS / "openapi.json").read_text(encoding="utf-8"))
    assert on_disk == openapi_document(), "docs/openapi.json is stale: run python -m regflow.api.openapi"
