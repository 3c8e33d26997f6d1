"""What a scan of the signed form may be (workflow/domain/scans.py): judged by its content, bounded; whatever bytes
arrive, a media type the page and the database keep, or a named refusal in French and English."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.domain.scans import EXTENSIONS, SCAN_MAX_BYTES, SCAN_MIN_BYTES, ScanError, scan_type

HEADS = st.sampled_from([b"", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"MZ", b"GIF89a"])


@given(head=HEADS, body=st.binary(max_size=3000), tail=st.sampled_from([b"", b"\n%%EOF\n"]))
def test_whatever_bytes_arrive_the_answer_is_a_kept_type_or_a_named_refusal(head: bytes, body: bytes,
                                                                           tail: bytes) -> None:
    content = head + body + tail
    try:
        media_type: str | None = scan_type(content)
        refused = None
    except ScanError as error:
        media_type, refused = None, error
    if refused is not None:
        assert refused.code.startswith("scan_")
        assert refused.fr != refused.en
    else:
        assert media_type in EXTENSIONS  # what the column and the back office's view serve
        assert SCAN_MIN_BYTES <= len(content) <= SCAN_MAX_BYTES
        assert content.startswith((b"%PDF-", b"\x89PNG", b"\xff\xd8\xff"))


def test_a_file_over_the_limit_is_refused_by_name() -> None:
    with pytest.raises(ScanError) as refused:
        scan_type(b"%PDF-" + b"0" * SCAN_MAX_BYTES + b"%%EOF")
    assert refused.value.code == "scan_too_large"
