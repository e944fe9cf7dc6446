"""What every fuzz test shares: Hypothesis profiles, a hang guard and a memory bound.

`HYPOTHESIS_PROFILE=long` (examples per test from HYPOTHESIS_LONG_EXAMPLES, default 20,000)
is the soak; the default profile keeps the whole fuzz suite to a few seconds in CI.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=20,
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
MAX_PEAK_GROWTH = 256 << 20
"""Resident memory one input may add at its peak, C allocations (lxml's, SQLite's) included."""


class Hang(BaseException):
    """An input took longer than SECONDS_PER_INPUT (a BaseException: no handler eats it)."""


def _kib(field: str) -> int:
    """A figure of /proc/self/status in bytes (`VmRSS`, `VmHWM`), or 0 off Linux."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    """Start the kernel's peak-RSS figure (VmHWM) afresh (Linux 4.0+), so it is this input's."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """Fail an input that hangs, and one whose peak resident memory grows past the bound."""

    def hang(_signum: int, _frame: object) -> None:
        raise Hang(f"no answer within {SECONDS_PER_INPUT} s")

    before = _kib("VmRSS")
    measured = _reset_peak()
    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_INPUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if measured:
        grown = _kib("VmHWM") - before
        assert grown < MAX_PEAK_GROWTH, f"this input's peak memory grew by {grown >> 20} MiB"
