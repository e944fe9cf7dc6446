"""The gate: no burst in any one-second window, late sends made up, the rate cut by 429s and
recovered, another program's share left to it.

All timing runs on a virtual loop clock (tests/eutils_helpers.py): nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from eutils_helpers import VirtualClock, virtual_time

from harvester.errors import ConfigError
from harvester.eutils.gates import process_gate, reset_process_gate
from harvester.eutils.pacing import (
    DEFAULT_MARGIN,
    MIN_GAP,
    Gate,
    is_us_peak,
    policy_for,
    urgent,
)
from harvester.eutils.rate_control import DECREASE, LONE_CUT, RateControl

KEEP_RATE = 1 - DEFAULT_MARGIN
"""The share of the limit the gate uses when saturated."""


def most_in_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of releases inside any closed window of `window` seconds."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def release_times(
    gate: Gate, clock: VirtualClock, n: int, busy: Callable[[int], float] = lambda i: 0.0
) -> list[float]:
    """When each of `n` concurrent attempts was sent; `busy(i)` seconds of blocked event loop
    pass between the i-th release and its send (a parse holding the loop, say)."""
    times: list[float] = []
    order = itertools.count()

    async def one() -> None:
        release = await gate.acquire()
        clock.now += busy(next(order))  # the loop blocked: every timer runs late too
        gate.sent(release)
        times.append(clock.now)

    await asyncio.gather(*(one() for _ in range(n)))
    return sorted(times)


@pytest.mark.parametrize(("api_key", "limit"), [(False, 3), (True, 10)])
async def test_ncbi_policy_never_exceeds_limit_in_any_second(api_key: bool, limit: int) -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi", api_key=api_key))
        times = await release_times(gate, clock, 60)
    assert most_in_window(times) == limit
    assert most_in_window(times, 1.0 / KEEP_RATE) == limit  # the margin is kept, not just 1 s
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(MIN_GAP / limit, rel=1e-6)  # never a burst
    span = times[-1] - times[0]  # saturated: n per window of 1 s + margin
    assert span == pytest.approx(
        (60 // limit - 1) / KEEP_RATE + (limit - 1) * MIN_GAP / limit, rel=1e-6
    )


@pytest.mark.parametrize("stall", [0.02, 0.05])
async def test_a_late_send_is_made_up_not_lost(stall: float) -> None:
    """Every 7th send is held up by a blocked loop: the windows, counted from the real sends,
    stay within the limit, and the run loses a fraction of the stalled time, where a bucket of
    one (each release a period after the last) would lose all of it."""
    async with virtual_time() as clock:
        calm = await release_times(Gate(policy_for("ncbi", api_key=True)), clock, 300)
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi", api_key=True))
        times = await release_times(gate, clock, 300, busy=lambda i: stall if i % 7 == 3 else 0)
    assert most_in_window(times, 1.0 / KEEP_RATE - 1e-9) == 10
    lost = (times[-1] - times[0]) - (calm[-1] - calm[0])
    stalled = stall * len(range(3, 300, 7))
    assert 0 < lost < stalled / 3


async def test_a_send_later_than_its_release_pushes_its_lane() -> None:
    """The window counts from `sent`: a request that left late holds its lane's next slot."""
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"))
        first = await gate.acquire()
        await gate.acquire()
        await gate.acquire()
        clock.now += 0.5
        gate.sent(first)  # the first request only left now
        await gate.acquire()
        assert clock.now == pytest.approx(first.at + 1 / KEEP_RATE, abs=1e-6)


async def test_aiolimiter_style_burst_is_what_we_avoid() -> None:
    from aiolimiter import AsyncLimiter

    async with virtual_time() as clock:
        bursty = AsyncLimiter(3, 1)
        times: list[float] = []
        for _ in range(6):
            await bursty.acquire()
            times.append(clock.now)
    assert most_in_window(times) > 3  # the shape notes §1 warns about


async def test_no_burst_after_idle_period() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"))
        await release_times(gate, clock, 3)
        await asyncio.sleep(30)  # virtual: the bucket must not bank capacity
        times = await release_times(gate, clock, 6)
    assert most_in_window(times) <= 3
    assert times[1] - times[0] >= MIN_GAP / 3


async def test_urgent_attempts_go_ahead_of_those_already_waiting() -> None:
    """Turns are first come, first served, except that urgent attempts (and the tasks started
    inside `urgent()`) pass every waiting normal one; the pacing itself does not change."""
    async with virtual_time() as clock:
        gate = Gate(policy_for("custom", rate=2))
        order: list[str] = []

        async def attempt(name: str) -> None:
            release = await gate.acquire()
            gate.sent(release)
            order.append(name)

        async def urgent_pair() -> None:
            with urgent():
                await asyncio.gather(attempt("u1"), attempt("u2"))

        tasks = [asyncio.create_task(attempt(f"n{i}")) for i in range(4)]
        await asyncio.sleep(0)  # n0 holds the gate, n1-n3 wait in turn
        tasks.append(asyncio.create_task(urgent_pair()))
        tasks.append(asyncio.create_task(attempt("n4")))
        start = clock.now
        await asyncio.gather(*tasks)
        elapsed = clock.now - start
    assert order == ["n0", "n1", "u1", "u2", "n2", "n3", "n4"]
    assert elapsed == pytest.approx(6 / 2 / KEEP_RATE, rel=0.01)  # seven at 2 per window


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    async with virtual_time():
        gate = Gate(policy_for("custom", rate=1))
        first = await gate.acquire()
        gate.sent(first)
        waiting = [asyncio.create_task(gate.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        waiting[0].cancel()
        done = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError)
    assert all(not isinstance(d, BaseException) for d in done[1:])


async def test_429_without_retry_after_cuts_the_rate() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"))
        await release_times(gate, clock, 2)
        gate.on_429()
        assert gate.rate == pytest.approx(3 * DECREASE)
        times = await release_times(gate, clock, 8)
        window = gate.window
    assert most_in_window(times, window - 1e-9) <= 2  # two lanes a window at 2.25/s
    assert gate.stats.get("gate/slowdowns") == 1 and gate.stats.get("gate/rate_cuts") == 1


async def test_retry_after_holds_every_request_until_it_passes() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"))
        await gate.acquire()
        hit = clock.now
        gate.on_429(retry_after=2.0)
        times = await release_times(gate, clock, 3)
        assert gate.rate == pytest.approx(3.0 * LONE_CUT)  # a lone 429: a nudge, no more
    assert times[0] >= hit + 2.0
    assert most_in_window(times) <= 3


async def test_429_arriving_while_queued_still_holds_the_waiters() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"))
        await gate.acquire()
        hit = clock.now
        waiter = asyncio.ensure_future(release_times(gate, clock, 2))
        await asyncio.sleep(0)
        gate.on_429(retry_after=5.0)
        times = await waiter
    assert times[0] >= hit + 5.0


async def test_repeated_429s_cut_the_rate_for_a_while_then_it_recovers() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi", api_key=True))
        gate.on_429(retry_after=1.0)
        clock.now += 2
        gate.on_429(retry_after=1.0)
        assert gate.rate == pytest.approx(10 * LONE_CUT * DECREASE)
        rates = []
        for _ in range(80):
            clock.now += 1
            rates.append(gate.rate)
    assert rates[0] == pytest.approx(10 * LONE_CUT * DECREASE)  # held ...
    assert all(b >= a for a, b in itertools.pairwise(rates))  # ... then won back gradually
    assert rates[-1] == pytest.approx(10.0)


async def test_rate_never_drops_below_floor() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"), control=RateControl(min_factor=1 / 8))
        for _ in range(20):
            gate.on_429()
            clock.now += 1.5
        assert gate.rate == pytest.approx(3 / 8)


async def test_rate_headers_leave_another_programs_share_and_count_our_own() -> None:
    """Another program spends 3 of a 10/s key: each answer's X-RateLimit-Remaining is 10 less
    ours in its window less those 3, so the gate keeps to 7 lanes a window."""
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi", api_key=True))
        sent = []
        for _ in range(12):  # four a second: room to see the other program
            release = await gate.acquire()
            gate.sent(release)
            sent.append(release)
            clock.now += 0.25
        for release in sent[-8:]:
            ours = sum(release.at - 1.0 < r.at <= release.at for r in sent)
            gate.on_rate_headers(release, 10, 10 - ours - 3)
        assert gate.rate == pytest.approx(7)
        times = await release_times(gate, clock, 28)
    assert most_in_window(times) <= 7


async def test_idle_counts_only_a_due_release_nobody_takes() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"))
        await release_times(gate, clock, 3)  # three lanes used: the next is due a window on
        assert gate.idle() == 0.0
        clock.now += 1.5
        assert gate.idle() == pytest.approx(1.5 - (1 / KEEP_RATE - 2 * MIN_GAP / 3), abs=1e-6)
        waiter = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0)
        assert gate.idle() == 0.0  # someone holds the gate
        await waiter


async def test_wait_seconds_are_counted() -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi"))
        await release_times(gate, clock, 4)
    assert gate.stats.get("gate/acquired") == 4
    assert gate.stats.get("gate/wait_seconds") == pytest.approx(
        0 + MIN_GAP / 3 + 2 * MIN_GAP / 3 + 1 / KEEP_RATE,
        rel=1e-6,  # three MIN_GAP periods apart, the 4th a window on
    )


# ncbi-2007: >= 3 s apart off-peak, 15 s at US-Eastern peak (weekdays 05:00-21:00).
MONDAY_NOON_NY = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)  # 12:00 EST
MONDAY_LATE_NY = datetime(2026, 1, 13, 3, 0, tzinfo=UTC)  # 22:00 EST Monday
SATURDAY_NOON_NY = datetime(2026, 1, 17, 17, 0, tzinfo=UTC)
SUMMER_0430_NY = datetime(2026, 7, 15, 8, 30, tzinfo=UTC)  # 04:30 EDT Wednesday
SUMMER_0500_NY = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)  # 05:00 EDT Wednesday


@pytest.mark.parametrize(
    ("when", "peak"),
    [
        (MONDAY_NOON_NY, True),
        (MONDAY_LATE_NY, False),
        (SATURDAY_NOON_NY, False),
        (SUMMER_0430_NY, False),
        (SUMMER_0500_NY, True),
    ],
)
def test_us_peak_hours_follow_new_york_time(when: datetime, peak: bool) -> None:
    assert is_us_peak(when) is peak


@pytest.mark.parametrize(("when", "spacing"), [(MONDAY_NOON_NY, 15.0), (SATURDAY_NOON_NY, 3.0)])
async def test_ncbi_2007_spacing_depends_on_peak(when: datetime, spacing: float) -> None:
    async with virtual_time() as clock:
        gate = Gate(policy_for("ncbi-2007"), wall=lambda: when)
        times = await release_times(gate, clock, 4)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= spacing
    assert min(gaps) == pytest.approx(spacing / KEEP_RATE, rel=1e-6)


def test_policies_and_their_errors() -> None:
    assert policy_for("ncbi").rate == 3
    assert policy_for("ncbi", api_key=True).rate == 10
    assert policy_for("custom", rate=2.5).rate == 2.5
    assert policy_for("7").rate == 7
    with pytest.raises(ConfigError):
        policy_for("turbo")
    with pytest.raises(ConfigError):
        policy_for("custom")


def test_one_process_gate() -> None:
    reset_process_gate()
    try:
        first = process_gate(policy_for("ncbi"))
        assert process_gate(policy_for("ncbi")) is first
        with pytest.raises(ConfigError):
            process_gate(policy_for("ncbi-2007"))
    finally:
        reset_process_gate()
