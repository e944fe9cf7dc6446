"""The longest the event loop was held by one step during a run: a timer due every `interval`
is woken late by exactly as long as whatever ran instead (a parse, a commit, a GC pass), and
the pacing gate's releases wait as long. Reported as `loop_stall_max_ms` in the summary."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from harvester.stats import Stats

__all__ = ["INTERVAL", "LoopStalls", "watching"]

INTERVAL = 0.02
"""Seconds between the timer's wake-ups: often enough to see a stall of a few ms, rarely
enough to cost nothing (50 wake-ups a second)."""
STAT = "loop/stall_max_ms"


class LoopStalls:
    """Measures how late a periodic timer wakes; `worst` is the largest lateness seen, in s."""

    def __init__(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        interval: float = INTERVAL,
    ) -> None:
        self.clock, self.sleep, self.interval = clock, sleep, interval
        self.worst = 0.0

    async def watch(self) -> None:
        """Sleep `interval` again and again, noting how late each wake-up came (until
        cancelled)."""
        while True:
            due = self.clock() + self.interval
            await self.sleep(self.interval)
            self.worst = max(self.worst, self.clock() - due)


@contextlib.asynccontextmanager
async def watching(stats: Stats) -> AsyncIterator[LoopStalls]:
    """Watch the running loop while the block runs; its longest stall goes to `stats`."""
    stalls = LoopStalls(asyncio.get_running_loop().time)
    task = asyncio.create_task(stalls.watch(), name="loop-stall-watch")
    try:
        yield stalls
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stats.incr(STAT, max(0.0, stalls.worst * 1000 - stats.get(STAT)))
