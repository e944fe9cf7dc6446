"""Sending an answer at the latency model's bandwidth: the bytes' time spread over the body.

NCBI's first byte comes once the answer is started and the rest streams as it is built, so a
big page is slow to finish, not slow to start; a client judging lateness by the first byte
(as a hedge should) then sees the server's time, not a wait before the status line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(slots=True)
class SendPacer:
    """Holds a response's writer back so its bytes leave at `bandwidth` bytes/s from the first."""

    bandwidth: float
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    sent: int = 0
    slept: float = 0.0
    _start: float | None = field(default=None, repr=False)

    def due(self, nbytes: int) -> float:
        """Seconds to wait after `nbytes` more have been written, so far as they are early.
        Elapsed time is at least what was slept, so a test's clock that sleeping does not
        move still gives each byte its time exactly once."""
        now = self.clock()
        if self._start is None:
            self._start = now
        self.sent += nbytes
        elapsed = max(now - self._start, self.slept)
        return max(0.0, self.sent / self.bandwidth - elapsed)

    async def wrote(self, nbytes: int) -> None:
        """Call after writing `nbytes` of the body: waits until they are due."""
        wait = self.due(nbytes)
        if wait > 0:
            self.slept += wait
            await self.sleep(wait)


PACER_KEY = web.RequestKey("harvester.pacer", SendPacer)
"""Set by the gatekeeper on answers the latency model sends at a bandwidth."""
