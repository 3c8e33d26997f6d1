"""`regflow bank` refuses what it cannot use before anything is recorded: a missing FILE or ID (exit 2), a file that
cannot be read, a statement refused as a whole (its reason in French then English, with the schema's lines), a
decision without who takes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from regflow.cli import main
from tests.unit.test_bank_statements import statement


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("REGFLOW_CLOCK", "fixed:2024-11-05T10:00:00+01:00")
    monkeypatch.setenv("REGFLOW_DEVELOPMENT", "1")


def test_import_without_a_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bank", "import"]) == 2
    assert "FILE manquant / missing" in capsys.readouterr().err


def test_a_file_that_cannot_be_read_records_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bank", "import", str(tmp_path / "absent.xml")]) == 2
    err = capsys.readouterr().err
    assert "illisible / cannot be read" in err
    assert "rien n'a été enregistré / nothing recorded" in err
    assert not (tmp_path / "unused.db").exists()


def test_a_statement_breaking_the_schema_is_refused_with_its_lines(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "releve.xml"
    broken.write_text(statement().replace("<MsgId>REGFLOW-TEST-2024-11</MsgId>", ""), encoding="utf-8")
    assert main(["bank", "import", str(broken), "--format", "camt053"]) == 2
    err = capsys.readouterr().err
    assert "le relevé ne respecte pas le schéma camt.053.001.02 (1 erreur(s)) / the statement breaks" in err
    assert ("ligne / line 6: Element '{urn:iso:std:iso:20022:tech:xsd:camt.053.001.02}CreDtTm': This element is not "
            "expected. Expected is ( {urn:iso:std:iso:20022:tech:xsd:camt.053.001.02}MsgId ).") in err
    assert "Traceback" not in err


def test_a_decision_names_who_takes_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bank", "confirm", "12"]) == 2
    assert "--by WHO" in capsys.readouterr().err
