"""Crash points for the fault-injection tests: a process kills itself at a named point, once.

`REGFLOW_CRASH_AT=<point>` and `REGFLOW_CRASH_ONCE_FILE=<path>`: the first process reaching the point
creates the file and dies by SIGKILL (no clean-up, no ack, no rollback message); later ones go on.
Unset in production, where `crash_point` is a dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def crash_point(name: str) -> None:
    if os.environ.get("REGFLOW_CRASH_AT") != name:
        return
    once = Path(os.environ.get("REGFLOW_CRASH_ONCE_FILE", f"/tmp/regflow-crashed-{name}"))
    try:
        once.touch(exist_ok=False)
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
