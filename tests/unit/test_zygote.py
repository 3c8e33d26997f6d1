"""The tests' fork server (tests/zygote.py) runs a command as `python -m regflow.cli` does: same output, same
exit code, the environment it is given."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.zygote import ENABLED, run_regflow

pytestmark = pytest.mark.skipif(not ENABLED, reason="REGFLOW_TEST_FORKSERVER=0: every process is spawned")


def spawned(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize("args", [["-h"], ["no-such-command"], ["pay", "--amount", "douze"]])
def test_a_forked_command_prints_and_exits_as_a_spawned_one(args: list[str]) -> None:
    env = dict(os.environ)
    forked = run_regflow(args, env, timeout=60)
    reference = spawned(*args, env=env)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        reference.returncode, reference.stdout, reference.stderr)


def test_a_forked_command_reads_the_environment_it_is_given_not_the_zygotes() -> None:
    env = {**os.environ, "COLUMNS": "40"}
    narrow = run_regflow(["-h"], env, timeout=60)
    assert narrow.stdout == spawned("-h", env=env).stdout
    assert narrow.stdout != run_regflow(["-h"], {**os.environ, "COLUMNS": "200"}, timeout=60).stdout
