"""Personal data never reaches the logs: e-mails, phones and person fields are masked."""

from __future__ import annotations

import json

import pytest
import structlog

from workflow.ops.logs import mask_personal_data, mask_text, processor_chain


@pytest.mark.parametrize(("text", "masked"), [
    ("claire.durand@valdemarne.fr", "c***@v***.fr"),
    ("550 5.1.1 <paul.leroy@valdemarne.fr>: mailbox unavailable", "550 5.1.1 <p***@v***.fr>: mailbox unavailable"),
    ("appeler le 01 43 99 70 00", "appeler le ** ** ** ** 00"),
    ("tel 0143997000.", "tel ** ** ** ** 00."),
    ("+33 6 12 34 56 78", "** ** ** ** 78"),
    ("+33612345678", "** ** ** ** 78"),
])
def test_addresses_and_phone_numbers_are_masked_wherever_they_appear(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", [
    "SIRET 22940028800010", "invoice 2023-000001", "amount 1190.00", "on 2023-09-15", "registration fault-00012",
])
def test_identifiers_amounts_and_dates_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_fields_that_name_a_person_are_masked_whole() -> None:
    event = mask_personal_data(None, "info", {
        "event": "replacement refused", "registration_id": "r-1", "requested_by": "Nadia (support)",
        "participant": {"first_name": "Claire", "last_name": "DURAND"}, "recipient": "x@y.fr",
        "context": {"name": "Claire DURAND", "kind": "invitation"}, "attempts": 2})
    assert event == {"event": "replacement refused", "registration_id": "r-1", "requested_by": "***",
                     "participant": "***", "recipient": "***", "context": {"name": "***", "kind": "invitation"},
                     "attempts": 2}


def test_a_logged_exception_is_masked_too() -> None:
    """The processor runs after the traceback is rendered (the order `configure_logging` sets)."""
    try:
        raise ValueError("duplicate key (email)=(claire.durand@valdemarne.fr) from 01 43 99 70 00")
    except ValueError as exc:
        event = {"event": "unexpected error", "to": "claire.durand@valdemarne.fr", "exc_info": exc}
        rendered = structlog.processors.format_exc_info(None, "error", event)
    line = json.loads(json.dumps(dict(mask_personal_data(None, "error", rendered))))
    assert "claire" not in json.dumps(line)
    assert "43 99 70" not in line["exception"]
    assert "c***@v***.fr" in line["exception"]
    assert line["to"] == "***"


def test_the_masking_processor_is_in_the_logging_chain() -> None:
    processors = processor_chain(as_json=True)
    assert processors.index(mask_personal_data) == processors.index(structlog.processors.format_exc_info) + 1
    assert isinstance(processors[-1], structlog.processors.JSONRenderer)
