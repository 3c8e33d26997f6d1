"""The command line run as operations run it: `python -m regflow.cli ARGS` in its own process (forked from the
tests' zygote, tests/zygote.py), with the test fleet's environment (its database, broker namespace, clock)."""

from __future__ import annotations

import subprocess

from tests.conftest import RunningConsumers
from tests.zygote import run_regflow


def regflow(consumers: RunningConsumers, *args: str) -> subprocess.CompletedProcess[str]:
    return run_regflow(list(args), consumers.env, timeout=90)
