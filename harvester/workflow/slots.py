"""The worker pool's admission: how many workers may hold a task at once, as the client's
concurrency controller says (eutils/concurrency.py), re-read whenever a slot is taken or freed.

Workers take a slot before they take a task, so tasks still leave the queue in priority order
and only as fast as slots free up. A slot freed while work waits and the gate has had a
release due with nobody to take it is the controller's sign that the limit is too low.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable

from harvester.eutils.concurrency import ConcurrencyControl
from harvester.eutils.pacing import Gate
from harvester.stats import Stats

__all__ = ["Slots"]


class Slots:
    """A semaphore whose size is the controller's limit for the gate's rate at the moment."""

    def __init__(
        self,
        control: ConcurrencyControl,
        gate: Gate,
        work_waiting: Callable[[], bool],
        stats: Stats | None = None,
    ) -> None:
        self.control, self.gate = control, gate
        self.work_waiting = work_waiting
        self.stats = stats if stats is not None else Stats()
        self.in_use = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def limit(self) -> int:
        """Slots allowed now."""
        return self.control.limit(self.gate.rate, self.gate.now())

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """`async with slots.hold():` one slot, freed on the way out however the block ends."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self.in_use >= self.limit() or self._waiters:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.in_use -= 1  # the slot handed over as it was cancelled: hand it on
                    self._wake()
                raise
        else:
            self.in_use += 1
        peak = self.stats.get("slots/peak")
        if self.in_use > peak:  # a counter that only rises: the most held at once
            self.stats.incr("slots/peak", self.in_use - peak)
        self.stats.incr("slots/taken")
        self.stats.incr("slots/limit_sum", self.limit())  # / taken: the mean limit

    def _release(self) -> None:
        full = self.in_use >= self.limit()
        self.in_use -= 1
        if full and self.work_waiting() and self.gate.idle() > 0:
            self.control.on_starved(self.gate.now())
            self.stats.incr("slots/starved")
        self._wake()

    def _wake(self) -> None:
        """Hand slots to waiters, first come first served, while the limit allows."""
        limit = self.limit()
        while self._waiters and self.in_use < limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_use += 1  # taken on the waiter's behalf
                waiter.set_result(None)
