"""Reconnecting to the broker: exponential backoff while the broker stays away, back to a short delay
for a new incident once the connection had been working, by its loop's turns or its age (else a
long-lived consumer cut ten times waits 30 s after every later cut)."""

from __future__ import annotations

from collections.abc import Callable
from random import Random

import pika.exceptions

from consumers.policy import Backoff, Jitter
from consumers.runner import keep_running

Script = tuple[Callable[[], None], Callable[[float], None], list[float], Callable[[], float]]


def scripted(outages: list[float]) -> Script:
    """A `run` that works for each given number of seconds, then loses the connection; then returns."""
    now = [0.0]
    slept: list[float] = []
    remaining = list(outages)

    def run() -> None:
        if not remaining:
            return
        now[0] += remaining.pop(0)
        raise pika.exceptions.AMQPConnectionError("connection reset")

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    return run, sleep, slept, lambda: now[0]


def test_the_delay_doubles_while_the_broker_stays_away_up_to_the_cap() -> None:
    run, sleep, slept, clock = scripted([0.0] * 8)
    keep_running(run, lambda: False, "test", max_delay=30, sleep=sleep, monotonic=clock)
    assert slept == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_a_cut_after_a_working_connection_starts_again_from_the_short_delay() -> None:
    run, sleep, slept, clock = scripted([0.0, 0.0, 0.0, 600.0, 0.0, 3600.0])
    keep_running(run, lambda: False, "test", sleep=sleep, monotonic=clock)
    assert slept == [0.5, 1, 2, 0.5, 1, 0.5]


def test_a_connection_whose_loop_took_a_turn_was_working_its_loss_starts_from_the_short_delay() -> None:
    """A cut two seconds after a reconnection, the loop having handled messages meanwhile: 0.5 s, not the
    16 s or 30 s the broker's earlier absence had reached (the fault suite cuts every few seconds)."""
    run, sleep, slept, clock = scripted([0.0] * 5 + [2.0, 2.0, 0.0, 0.0])
    turns = [0]
    worked = iter([False] * 5 + [True, True, False, False])

    def run_and_turn() -> None:
        turns[0] += next(worked, False)  # the loop ticked on this connection before it was lost
        run()

    keep_running(run_and_turn, lambda: False, "test", sleep=sleep, monotonic=clock, progress=lambda: turns[0])
    assert slept == [0.5, 1, 2, 4, 8, 0.5, 0.5, 1, 2]


def test_a_connection_lost_before_its_loop_took_a_turn_keeps_climbing() -> None:
    run, sleep, slept, clock = scripted([2.0] * 6)
    keep_running(run, lambda: False, "test", sleep=sleep, monotonic=clock, progress=lambda: 7)
    assert slept == [0.5, 1, 2, 4, 8, 16]


def test_a_stop_request_ends_the_loop_instead_of_reconnecting() -> None:
    run, sleep, slept, clock = scripted([0.0] * 3)
    keep_running(run, lambda: True, "test", sleep=sleep, monotonic=clock)
    assert slept == []


def test_the_delays_come_from_the_backoff_given() -> None:
    run, sleep, slept, clock = scripted([0.0] * 8)
    jittered = Backoff(first=0.5, cap=30, jitter=Jitter.EQUAL, random=Random(5))
    keep_running(run, lambda: False, "test", sleep=sleep, monotonic=clock, backoff=jittered)
    nominal = [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert all(n / 2 <= s <= n for s, n in zip(slept, nominal, strict=True))
    assert slept != nominal  # drawn, not the bare exponential
