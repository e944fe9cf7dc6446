"""What every fuzz test shares: Hypothesis profiles, a hang guard and a memory bound.

`HYPOTHESIS_PROFILE=long` (examples per test from HYPOTHESIS_LONG_EXAMPLES, default 20,000)
is the soak; the default profile keeps the whole fuzz suite to a few seconds in CI.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
from collections.abc import Iterator

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("HYPOTHESIS_LONG_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SECONDS_PER_INPUT = 10
"""Longer than any one input may take: past it the input hangs."""
MAX_RSS_GROWTH = 512 << 20
"""Peak resident memory may grow by this much over the whole fuzz run, C allocations included."""
_BASELINE = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Hang(BaseException):
    """An input took longer than SECONDS_PER_INPUT (a BaseException: no handler eats it)."""


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """Fail an input that hangs, and one after which the process's peak memory is past the
    bound (lxml's and SQLite's allocations count too: this is the kernel's figure)."""

    def hang(_signum: int, _frame: object) -> None:
        raise Hang(f"no answer within {SECONDS_PER_INPUT} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_INPUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak - _BASELINE < MAX_RSS_GROWTH, f"peak memory grew by {(peak - _BASELINE) >> 20} MiB"
