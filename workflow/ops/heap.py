"""The collector's settings for a long-running process (a consumer, the relay), set once it is ready to work.

What a process builds to start (modules, the ORM's mappers, pydantic's validators, fonts, XSD schemas, the
catalogue: some 150,000 objects) lives as long as it does, yet every full collection walked all of it again, about
100 ms each, and a message's allocations (a PDF's flowables, an ORM row's state) set one off every few dozen
messages. Measured in-process over the stages of 60 registrations (`bench.profile_stages`): the collector took 12 %
of the CPU with CPython's defaults, 2 % with the start-up heap frozen and the youngest generation collected every
10,000 allocations instead of 700 (most of a message's objects are freed by reference counting first).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # CPython's default is 700; the older generations keep their defaults (10, 10)


def settle_heap() -> None:
    """Collect once, then freeze what survived (`gc.freeze`: moved out of every later collection's sight)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
