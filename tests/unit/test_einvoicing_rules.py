"""The routing a buyer requires, and the platform's answers read from the file drop: whatever a status file
holds, a status or a named refusal, never anything else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from workflow.adapters.einvoicing.file_drop import FileDropChorusPro
from workflow.domain.einvoicing import (
    MISSING_COMMITMENT,
    MISSING_EITHER,
    MISSING_SERVICE_CODE,
    BuyerRequirements,
    PlatformAnswerError,
    PlatformStatus,
    routing_hold,
)

CODES = st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=20))


@given(st.booleans(), st.booleans(), st.booleans(), CODES, CODES)
def test_a_document_is_held_exactly_when_the_buyer_requires_what_it_lacks(
        service: bool, commitment: bool, either: bool, service_code: str | None, commitment_number: str | None
) -> None:
    held = routing_hold(BuyerRequirements(service, commitment, either), service_code=service_code,
                        commitment_number=commitment_number)
    lacks = (service and not service_code) or (commitment and not commitment_number) or (
        either and not (service_code or commitment_number))
    assert (held is not None) == bool(lacks)
    assert held in (None, MISSING_SERVICE_CODE, MISSING_COMMITMENT, MISSING_EITHER)


def test_the_hold_reason_is_told_in_french_and_english() -> None:
    assert MISSING_SERVICE_CODE.text() == ("missing_service_code: l'acheteur exige un code service (BT-10), absent / "
                                           "the buyer requires a service code (BT-10), missing")


@given(st.binary(max_size=300))
def test_whatever_bytes_a_status_file_holds_give_a_status_or_a_named_refusal(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "2026-000001.status.json").write_bytes(content)
        try:
            found = FileDropChorusPro(Path(folder)).status("2026-000001")
        except PlatformAnswerError:
            return
        assert found is not None
        assert found.status in PlatformStatus


@given(st.dictionaries(st.sampled_from(["statut", "date", "motif", "datePaiementPrevue"]),
                       st.one_of(st.none(), st.integers(), st.text(max_size=30),
                                 st.sampled_from(["MISE_A_DISPOSITION", "REJETEE", "2026-12-03",
                                                  "2026-12-03T10:00:00+01:00"]))))
def test_a_status_file_of_any_shape_is_read_strictly(answer: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "2026-000001.status.json").write_text(json.dumps(answer))
        try:
            found = FileDropChorusPro(Path(folder)).status("2026-000001")
        except PlatformAnswerError:
            return
        assert found is not None
        assert found.status == answer["statut"]
        assert found.at.tzinfo is not None
        assert found.reason is None or len(found.reason) <= 500


def test_no_status_file_is_no_status_yet() -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert FileDropChorusPro(Path(folder)).status("2026-000001") is None
