"""The intake API's key store: a key shown once, only its SHA-256 kept, compared in constant time with every one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from regflow.api.keys import ApiKeyError, ApiKeyStore


def test_a_key_is_returned_once_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    key = store.add("crm")
    assert key.startswith("rfk_")
    assert len(key) >= 40
    written = store.path.read_text(encoding="utf-8")
    assert key not in written
    assert "key_sha256" in written
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.authenticate(key) == "crm"
    assert store.authenticate(key + "x") is None
    assert store.authenticate("") is None
    assert store.authenticate("x" * 10_000) is None


def test_a_new_key_replaces_the_old_and_removal_stops_it(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    old, other = store.add("crm"), store.add("erp")
    new = store.add("crm")
    assert (store.authenticate(old), store.authenticate(new), store.authenticate(other)) == (None, "crm", "erp")
    assert store.remove("crm")
    assert not store.remove("crm")
    assert store.authenticate(new) is None
    assert store.names() == ["erp"]


@pytest.mark.parametrize("name", ["", "x", "Upper", "with space", "é-client", "a" * 65, "-dash"])
def test_a_client_name_is_a_short_plain_identifier(tmp_path: Path, name: str) -> None:
    with pytest.raises(ApiKeyError):
        ApiKeyStore(tmp_path / "keys.json").add(name)
