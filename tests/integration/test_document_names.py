"""`/documents/<name>` (regflow/web/document_pages.py) with any name at all, through Flask's test client: the
issued document itself, or a 404 (or a 400) that says why, never a 500, and no file is ever looked at outside the
document store, not even through a link planted in it."""

from __future__ import annotations

import pathlib
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regflow.web import create_app
from regflow.web.users import UserStore
from tests.integration.test_backoffice_pages import PASSWORD, login
from workflow.bootstrap import Deps
from workflow.persistence.orm import DocumentFileRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration

ISSUED = "facture-2023-000007.pdf"
PLANTED = "avoir-2023-000001.pdf"  # a link in the store to a file beside it
SECRET = b"%PDF-1.7 not a document of the store"
SAID = ("n'est pas un document émis", "est introuvable", "Cette page n'existe pas", "La requête n'a pas pu",
        "Requête invalide : l'adresse")
NAMES = ["", ".", "..", "../secret.pdf", "..%2Fsecret.pdf", "%2e%2e%2fsecret.pdf", PLANTED, f"{ISSUED}/",
         f"{ISSUED}\n", f"{ISSUED}\x00", "facture-2023-000007.PDF", "facture-２０２３-000007.pdf", "facture-",
         "certificat-2023-0123456789ab.pdf", "interets-INT-2023-000001.pdf", "facture-2023-000008.pdf" + "x" * 5000]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """The store, with a link in it to a file outside it."""
    folder = tmp_path / "store"
    folder.mkdir()
    (tmp_path / "secret.pdf").write_bytes(SECRET)
    (folder / PLANTED).symlink_to(tmp_path / "secret.pdf")
    return folder


@pytest.fixture
def support(settings: Settings, deps: Deps, store: Path, tmp_path: Path) -> FlaskClient:
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD, ["support"])
    with deps.sessions.begin() as session:
        session.add(DocumentFileRow(name=ISSUED, kind="invoice", number="2023-000007", content=b"%PDF-1.7 issued",
                                    sha256="0" * 64, created_at=datetime.fromisoformat("2023-09-01T08:00+00:00"),
                                    stored_at=None))
    client = create_app(settings.model_copy(update={"web_users_file": users.path, "documents_dir": store,
                                                    "development": True})).test_client()
    login(client)
    return client


@pytest.fixture
def looked_at(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file a request opens or asks about, whatever it is (a template, a document)."""
    seen: list[Path] = []
    for method in ("open", "is_file", "is_symlink", "exists", "read_bytes"):
        original = getattr(pathlib.Path, method)

        def spy(self: Path, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(self)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, method, spy)
    return seen


def _opened(client: FlaskClient, name: str | bytes, store: Path, seen: list[Path]) -> None:
    seen.clear()
    answer = client.get(f"/documents/{quote(name, safe='')}")
    inside = store.resolve()
    assert all(p.resolve().is_relative_to(inside) for p in seen if p.name != "users.json"), seen
    assert SECRET not in answer.data
    if answer.status_code == 200:
        assert (name, answer.data) == (ISSUED, b"%PDF-1.7 issued")
        return
    assert answer.status_code in {400, 404}, (name, answer.status_code)
    assert any(said in unescape(answer.get_data(as_text=True)) for said in SAID), name


def test_the_issued_document_opens_a_hostile_name_or_a_planted_link_is_a_named_404(
        support: FlaskClient, store: Path, looked_at: list[Path]) -> None:
    assert support.get(f"/documents/{ISSUED}").data == b"%PDF-1.7 issued"
    refused = support.get(f"/documents/{PLANTED}")  # the link resolves outside the store: refused, never followed
    assert refused.status_code == 404
    assert "« avoir-2023-000001.pdf » n'est pas un document émis" in unescape(refused.get_data(as_text=True))
    for name in NAMES:  # one client for all: a database and a login each cost seconds
        _opened(support, name, store, looked_at)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.text(max_size=80), st.binary(max_size=80),
                      st.builds(lambda prefix, tail: prefix + tail,
                                st.sampled_from(["facture-", "avoir-", "certificat-", "../", "facture-2023-"]),
                                st.text(max_size=40))))
def test_any_name_gives_the_document_or_a_named_refusal_never_a_500(
        support: FlaskClient, store: Path, looked_at: list[Path], name: str | bytes) -> None:
    _opened(support, name, store, looked_at)
