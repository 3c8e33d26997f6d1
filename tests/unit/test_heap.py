"""A long-running process's collector: the start-up heap frozen, the youngest generation collected less often."""

from __future__ import annotations

import json
import subprocess
import sys


def test_a_settled_process_keeps_its_start_up_objects_out_of_collections_and_collects_young_ones_less_often(
) -> None:
    # In a process of its own: freezing this test run's heap would change every test after it.
    probe = ("import gc, json; from workflow.ops.heap import settle_heap; before = gc.get_threshold(); "
             "settle_heap(); print(json.dumps([gc.get_freeze_count(), before, gc.get_threshold()]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    frozen, before, after = json.loads(out)
    assert frozen > 1_000  # the modules' and their objects, at least
    assert after == [10_000, *before[1:]]  # the older generations as CPython sets them
