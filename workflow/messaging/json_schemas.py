"""JSON Schema of every message, for the teams that integrate without reading the code."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.messages import MESSAGE_TYPES, Envelope


def all_json_schemas() -> dict[str, dict[str, object]]:
    schemas: dict[str, dict[str, object]] = {"envelope": Envelope.model_json_schema()}
    for message_type, model in MESSAGE_TYPES.items():
        schema = model.model_json_schema()
        schema["title"] = f"{message_type} ({model.__name__})"
        schemas[message_type] = schema
    return schemas


def export_json_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_json_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written
