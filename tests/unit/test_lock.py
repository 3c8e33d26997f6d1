"""The lock files are in step with pyproject.toml: every dependency it names (the runtime ones and the dev extra)
is pinned, with its files' hashes, at a version its specifier allows. A dependency added, dropped or re-bounded
without `scripts/lock` fails here, before an install from the lock goes without it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PROJECT = "regflow (pyproject.toml)"  # how the lock names a dependency of pyproject.toml itself in its "# via"


@dataclass
class Pin:
    name: NormalizedName
    version: str
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)


def read_lock(path: Path) -> list[Pin]:
    """`name==version [; marker] \\`, its `--hash=sha256:...` lines, then `# via` one or more requirers."""
    pins: list[Pin] = []
    in_via = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip().removesuffix("\\").strip()
        if not line or (not raw[0].isspace() and line.startswith("#")):
            continue
        if not raw[0].isspace():
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {line} is not pinned to one version"
            pins.append(Pin(canonicalize_name(requirement.name), specifier.version, requirement.marker))
            in_via = False
        elif line.startswith("--hash="):
            pins[-1].hashes.append(line.removeprefix("--hash="))
        elif line.startswith("# via"):
            requirer = line.removeprefix("# via").strip()
            if requirer:
                pins[-1].via.add(requirer)
            in_via = not requirer
        elif line.startswith("#") and in_via:
            pins[-1].via.add(line.lstrip("#").strip())
    return pins


def by_name(pins: list[Pin]) -> dict[NormalizedName, list[Pin]]:
    named: dict[NormalizedName, list[Pin]] = {}
    for pin in pins:
        named.setdefault(pin.name, []).append(pin)
    return named


def pyproject_requirements() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return ([Requirement(r) for r in project["dependencies"]],
            [Requirement(r) for r in project["optional-dependencies"]["dev"]])


RUNTIME, DEV = pyproject_requirements()


@pytest.mark.parametrize(("lock", "requirements"), [(RUNTIME_LOCK, RUNTIME), (DEV_LOCK, [*RUNTIME, *DEV])],
                         ids=["runtime", "dev"])
def test_every_dependency_of_pyproject_is_locked_at_a_version_it_allows(
        lock: Path, requirements: list[Requirement]) -> None:
    locked = by_name(read_lock(lock))
    problems = []
    for requirement in requirements:
        pins = locked.get(canonicalize_name(requirement.name), [])
        if not pins:
            problems.append(f"{requirement} is not in {lock.name}")
        problems += [f"{requirement}: {lock.name} pins {pin.version}" for pin in pins
                     if not requirement.specifier.contains(pin.version, prereleases=True)]
        problems += [f"{requirement}: {extra} of its [{','.join(sorted(requirement.extras))}] is not in {lock.name}"
                     for extra in _extras_requirements(requirement) if canonicalize_name(extra.name) not in locked]
    assert not problems, "run scripts/lock:\n" + "\n".join(problems)


def _extras_requirements(requirement: Requirement) -> list[Requirement]:
    """What `package[extra]` adds, from the installed package's metadata (nothing when it is not installed)."""
    if not requirement.extras:
        return []
    try:
        declared = metadata.requires(requirement.name) or []
    except metadata.PackageNotFoundError:
        return []
    added = []
    for text in declared:
        dependency = Requirement(text)
        if dependency.marker is not None and any(
                dependency.marker.evaluate({"extra": extra}) for extra in requirement.extras) and not \
                dependency.marker.evaluate({"extra": ""}):
            added.append(dependency)
    return added


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=["runtime", "dev"])
def test_the_lock_holds_no_dependency_that_pyproject_dropped(lock: Path) -> None:
    named = {canonicalize_name(r.name) for r in (RUNTIME if lock == RUNTIME_LOCK else [*RUNTIME, *DEV])}
    stale = sorted(pin.name for pin in read_lock(lock) if PROJECT in pin.via and pin.name not in named)
    assert not stale, f"run scripts/lock: {lock.name} still locks {stale} for pyproject.toml"


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=["runtime", "dev"])
def test_every_package_is_pinned_with_the_hashes_of_its_files_and_says_how_to_regenerate_it(lock: Path) -> None:
    pins = read_lock(lock)
    assert pins, f"{lock.name} locks nothing"
    assert [pin.name for pin in pins if not pin.hashes] == [], "pip's hash-checking mode needs every hash"
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for pin in pins for h in pin.hashes)
    assert "scripts/lock" in lock.read_text(encoding="utf-8").split("\n", 3)[1], "the header names scripts/lock"
    assert not re.search(r"https?://|--(extra-)?index-url|--find-links", lock.read_text(encoding="utf-8")), \
        "a lock names no index: the installing machine's pip configuration says where packages come from"


def test_the_image_runs_the_versions_ci_tests() -> None:
    """The runtime lock is the dev lock less the dev extra's packages: the same versions. (A dev tool may be in
    it when a runtime package needs it, pypdf for factur-x; for pyproject's sake, the test above says no.)"""
    runtime, dev = by_name(read_lock(RUNTIME_LOCK)), by_name(read_lock(DEV_LOCK))
    differ = {name: ([p.version for p in pins], [p.version for p in dev.get(name, [])])
              for name, pins in runtime.items()
              if sorted((p.version, str(p.marker)) for p in pins) !=
              sorted((p.version, str(p.marker)) for p in dev.get(name, []))}
    assert not differ, f"run scripts/lock: runtime and dev locks disagree (runtime, dev): {differ}"


def test_the_image_ci_and_bootstrap_install_from_the_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^COPY .*\brequirements\.lock\b", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN pip install .*--require-hashes -r requirements\.lock", dockerfile, re.MULTILINE)
    assert re.search(r"pip install [^\n]*--no-deps \.", dockerfile), "the project alone, resolving nothing"
    assert not re.search(r"pip install (--no-cache-dir )?\.(\s|$)", dockerfile), "an unlocked install"
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    assert "lock=requirements-dev.lock" in bootstrap
    assert re.search(r'pip install .*--require-hashes -r "\$lock"', bootstrap)
    assert re.search(r"pip install .*--no-deps -e \.", bootstrap)
    assert re.search(r'cat pyproject\.toml "\$lock"', bootstrap), "the stamp follows the lock and pyproject.toml"
    assert "scripts/bootstrap" in (ROOT / ".ci" / "run").read_text(encoding="utf-8"), "CI installs through it"
