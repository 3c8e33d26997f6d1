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
