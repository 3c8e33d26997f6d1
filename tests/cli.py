"""The command line run as operations run it: `python -m regflow.cli ARGS` in its own process, with the test fleet's
environment (its database, broker namespace, clock)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import RunningConsumers


def regflow(consumers: RunningConsumers, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=consumers.env, capture_output=True,
                          text=True, timeout=90, check=False)
