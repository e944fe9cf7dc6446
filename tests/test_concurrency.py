"""The concurrency controller: Little's law on a moving latency, the spare the gate's idling
adds, halving on 5xx and timeouts, all within the ceiling. Pure arithmetic: nothing waits."""

from __future__ import annotations

import math

from harvester.eutils.concurrency import (
    FLOOR,
    HOLD,
    PRIOR_LATENCY,
    SPARE_FADE,
    WAITING,
    ConcurrencyControl,
)


def settle(control: ConcurrencyControl, latency: float, n: int = 200) -> None:
    for _ in range(n):
        control.on_latency(latency)


def little(rate: float, latency: float) -> int:
    need = rate * latency
    return math.ceil(need + 2 * math.sqrt(need)) + WAITING


def test_the_limit_follows_rate_times_latency() -> None:
    control = ConcurrencyControl(64)
    assert control.limit(10, 0.0) == little(10, PRIOR_LATENCY)  # before any answer
    settle(control, 1.5)
    assert control.limit(10, 0.0) == little(10, 1.5) == 25  # the 24 by hand
    assert control.limit(3, 0.0) == little(3, 1.5)  # no key: fewer
    settle(control, 4.5)  # three times slower
    assert control.limit(10, 0.0) == little(10, 4.5)


def test_latency_that_doubles_and_halves_is_followed_within_a_few_dozen_answers() -> None:
    control = ConcurrencyControl(64)
    settle(control, 1.0)
    settle(control, 2.0, 30)
    assert control.latency > 1.9
    settle(control, 0.5, 30)
    assert control.latency < 0.6


def test_the_ceiling_and_floor_bound_the_limit() -> None:
    control = ConcurrencyControl(16)
    settle(control, 30.0)
    assert control.limit(10, 0.0) == 16
    tiny = ConcurrencyControl(64)
    settle(tiny, 0.001)
    assert tiny.limit(0.1, 0.0) == 1 + WAITING  # one out, a couple waiting their turn
    assert ConcurrencyControl(1).limit(10, 0.0) == 1


def test_the_gate_idling_while_work_waits_adds_slots_that_fade() -> None:
    control = ConcurrencyControl(64)
    settle(control, 1.0)
    base = control.limit(10, 100.0)
    for _ in range(3):
        control.on_starved(100.0)
    assert control.limit(10, 100.0) == base + 3
    assert control.limit(10, 100.0 + SPARE_FADE) == base + 2
    assert control.limit(10, 100.0 + 10 * SPARE_FADE) == base
    assert control.starved == 3


def test_5xx_and_timeouts_halve_the_limit_which_grows_back() -> None:
    control = ConcurrencyControl(64)
    settle(control, 1.5)
    before = control.limit(10, 50.0)
    control.on_trouble(50.0, 10)
    assert control.limit(10, 50.0) == before // 2
    control.on_trouble(50.5, 10)
    assert control.limit(10, 50.5) == before // 4
    assert control.limit(10, 50.5 + HOLD) == before // 4  # held ...
    assert control.limit(10, 50.5 + HOLD + 3) == before // 4 + 3  # ... then one a second
    assert control.limit(10, 50.5 + HOLD + 100) == before
    for t in range(10):
        control.on_trouble(60.0 + t, 10)
    assert control.limit(10, 70.0) == FLOOR
    assert control.troubles == 12


def test_the_typical_first_byte_is_the_median_of_its_own_samples() -> None:
    """The hedge judges the server by its time to first byte, kept apart from the whole
    answers' latency (which includes the body and sizes the concurrency)."""
    control = ConcurrencyControl(64, prior_latency=1.0)
    assert control.typical_first_byte() == 1.0  # the prior before any answer
    for seconds in (0.2, 0.3, 9.0):
        control.on_first_byte(seconds)
    control.on_latency(5.0)
    assert control.typical_first_byte() == 0.3
    assert control.typical_latency() == 5.0
