"""A body that trickles is stalled: aiohttp's `sock_read` bounds the wait for one byte, so an
answer of a byte a second would run to the total timeout (15 minutes). This bounds its pace
as curl's low-speed limit does: at least `min_bytes` in every `seconds` of the body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from harvester.errors import TransportError

__all__ = ["StallWatch", "Stalled", "watched"]


class Stalled(TransportError):
    """A body brought fewer bytes than the stall bound asks in one window: a timeout, retried."""


class StallWatch:
    """Windows of `seconds` on `clock`, each needing `min_bytes`: a window that brought them
    starts the next one at once; one that ends short raises Stalled."""

    def __init__(self, seconds: float, min_bytes: int, clock: Callable[[], float]) -> None:
        self.seconds, self.min_bytes, self.clock = seconds, min_bytes, clock
        self._start, self._got = clock(), 0

    def remaining(self) -> float:
        """Seconds the next read may wait before this window ends (0 or less: ended)."""
        return self._start + self.seconds - self.clock()

    def fed(self, n: int) -> None:
        """`n` bytes arrived now; Stalled if the window ended before it had enough."""
        now = self.clock()
        self._got += n
        if self._got >= self.min_bytes:
            self._start, self._got = now, 0
        elif now - self._start >= self.seconds:
            raise self.stalled()

    def stalled(self) -> Stalled:
        return Stalled(
            f"the answer stalled (fewer than {self.min_bytes} bytes in {self.seconds:g} s) "
            "on every attempt"
        )


async def watched(read: Callable[[], Awaitable[bytes]], watch: StallWatch) -> AsyncIterator[bytes]:
    """The chunks `read` returns until it returns b"", each read bounded by the window left."""
    while True:
        try:
            async with asyncio.timeout(max(watch.remaining(), 0.0)):
                chunk = await read()
        except TimeoutError:
            raise watch.stalled() from None
        if not chunk:
            return
        watch.fed(len(chunk))
        yield chunk
