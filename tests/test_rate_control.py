"""The rate the gate may use on the server's word: 429 cuts and recovery, rate headers.

Pure arithmetic on times given as numbers: nothing waits.
"""

from __future__ import annotations

import pytest

from harvester.eutils.rate_control import (
    DECREASE,
    HOLD,
    LONE_CUT,
    RECOVERY,
    SAMPLES,
    SLOW_START,
    RateControl,
)


def test_a_lone_429_with_retry_after_widens_the_margin_a_little() -> None:
    control = RateControl()
    assert control.on_429(100.0, retry_after=1.0)  # spurious, or jitter: a small cut
    assert control.rate(10, 100.0) == pytest.approx(10 * LONE_CUT)
    assert control.on_429(160.0, retry_after=1.0)  # a minute later: lone again
    assert control.rate(10, 160.0) == pytest.approx(10 * LONE_CUT)  # recovered meanwhile


def test_repeated_429s_cut_once_per_event_and_recover_slowly() -> None:
    control = RateControl()
    control.on_429(100.0, retry_after=1.0)
    assert control.on_429(102.0, retry_after=1.0)  # repeated within the window: cut
    assert not control.on_429(102.5, retry_after=1.0)  # the same burst: one event
    cut = LONE_CUT * DECREASE
    assert control.rate(10, 102.5) == pytest.approx(10 * cut)
    assert control.on_429(104.0, retry_after=1.0)
    cut *= DECREASE
    assert control.rate(10, 104.0 + HOLD) == pytest.approx(10 * cut)  # held for a while ...
    later = 104.0 + HOLD + 5
    assert control.rate(10, later) == pytest.approx(10 * (cut + 5 * RECOVERY))  # ... then back
    assert control.rate(10, later + 1000) == 10  # never above the policy
    assert control.cuts == 3


def test_with_rate_headers_repeated_429s_only_widen_the_margin() -> None:
    control = RateControl()
    control.on_rate_headers(10, 0, 10)  # nobody else in the window: the 429s are jitter
    for t in (100.0, 102.0, 104.0):
        assert control.on_429(t, retry_after=1.0)
    assert control.rate(10, 104.0) == pytest.approx(10 * LONE_CUT**3)


def test_a_429_without_retry_after_cuts_at_once() -> None:
    control = RateControl(min_factor=0.5)
    assert control.on_429(1.0, retry_after=None)
    for t in range(2, 20):
        control.on_429(float(t), retry_after=None)
    assert control.rate(3, 20.0) == pytest.approx(1.5)  # never below the floor


def test_rate_headers_leave_another_programs_share_to_it() -> None:
    control = RateControl()
    for own in range(1, SAMPLES + 1):  # another program holds 3 of 10 in every window
        control.on_rate_headers(10, 10 - 3 - min(own, 7), min(own, 7))
    assert control.rate(10, 0.0) == pytest.approx(7)
    for _ in range(SAMPLES):  # it stopped: the whole allowance is ours again
        control.on_rate_headers(10, 10 - 5, 5)
    assert control.rate(10, 0.0) == 10


def test_a_squeezed_share_is_still_seen() -> None:
    """Taking 8 of 10, we leave the other program 2 in most windows (its third is refused):
    the readings that show its 3 keep us at 7."""
    control = RateControl()
    for foreign in [2, 2, 3, 2, 2, 3, 2, 2]:
        control.on_rate_headers(10, 10 - 7 - foreign, 7)
    assert control.rate(10, 0.0) == 7


def test_one_odd_reading_does_not_move_the_rate() -> None:
    control = RateControl()
    readings = [0, 0, 1, 0, 0, 0, 0, 0]  # clock noise at the window's edge
    for foreign in readings:
        control.on_rate_headers(10, 10 - 6 - foreign, 6)
    assert control.rate(10, 0.0) == 10


def test_slow_start_runs_at_half_rate_until_the_first_reading() -> None:
    """Until an answer has said how much of the allowance is free, half of it; the first
    reading settles it, another program's share taken off."""
    control = RateControl(slow_start=True)
    assert control.rate(10, 50.0) == 5  # nobody has said how much is free yet
    assert control.rate(10, 50.0 + SLOW_START / 2) == 5
    control.on_rate_headers(10, 6, 1)  # the other program has spent 3 of this window
    assert control.rate(10, 50.3) == 7
    silent = RateControl(slow_start=True)  # a server without rate headers
    assert silent.rate(10, 50.0) == 5
    assert silent.rate(10, 50.0 + SLOW_START) == 10
    assert RateControl().rate(10, 50.0) == 10  # off unless asked for


def test_a_limit_announced_but_not_enforced_does_not_slow_a_custom_rate() -> None:
    control = RateControl()
    for _ in range(SAMPLES):  # 2,000/s against a server that says 3 and refuses nothing
        control.on_rate_headers(3, 0, 2000)
    assert control.rate(2000, 0.0) == 2000
    control.on_rate_headers(-1, 0, 0)  # nonsense is ignored
    assert control.rate(2000, 0.0) == 2000
