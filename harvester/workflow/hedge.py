"""A read sent again when the server is long overdue with its first byte and the gate has
nothing else to send.

NCBI now and then holds an answer for tens of seconds (the read timeout allows 120 s). In the
middle of a harvest other work fills the gate meanwhile; near its end everything waits on that
one answer, with the allowance unused. So a fetch by History page or by id, or an index elink
(reads: asking twice changes nothing at NCBI) is asked a second time when the server is late:
when its request has been out `factor` times the usual time to first byte with no byte of the
answer back, at a moment when the gate has a turn nobody takes. The first whole answer wins and
the other request is dropped. Only one copy is ever sent, so a hedge costs one request at a
time the allowance would otherwise go unused.

Only the server's delay counts (eutils/first_byte.py): the clock starts when the request's bytes
leave, not while it waits at the gate, in a backoff or for the byte budget, and stops for good
once its status line is in; an answer still streaming, being parsed or queued on our side is
never asked for again, however busy this process is. A body that stalls after its first byte is
the stall watch's to end (eutils/stall.py), and then retried, not hedged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from harvester.eutils.client import EutilsClient
from harvester.eutils.first_byte import FirstByteWatch, current_watch

__all__ = ["HedgePolicy", "Hedger"]

_T = TypeVar("_T")
LOOK_AGAIN = 1e-6
"""Seconds an overdue read waits before it is judged again (any delay above zero will do)."""


@dataclass(frozen=True, slots=True)
class HedgePolicy:
    """When a first byte is overdue: `factor` times the typical (median) time to first byte,
    and at least `minimum` seconds after the request's send."""

    factor: float = 4.0
    minimum: float = 3.0
    poll: float = 0.25
    """Seconds between looks at the gate once a read is overdue and the gate was busy."""

    def overdue_after(self, latency: float) -> float:
        """Seconds after its send at which a request with no answer yet is overdue."""
        return max(self.minimum, self.factor * latency)


async def _watched(watch: FirstByteWatch | None, ask: Callable[[], Awaitable[_T]]) -> _T:
    """`ask()` in this task with `watch` shown the exchanges it sends (None: watched by none)."""
    current_watch.set(watch)  # this task's own context: other tasks never see it
    return await ask()


class Hedger:
    """Runs reads, each asked once more if the server is overdue while the pipeline idles."""

    def __init__(
        self,
        *,
        latency: Callable[[], float],
        idle: Callable[[], bool],
        clock: Callable[[], float],
        policy: HedgePolicy | None = None,
        on_hedge: Callable[[], None] = lambda: None,
        on_won: Callable[[], None] = lambda: None,
    ) -> None:
        """`latency`: the typical time to first byte; `clock`: the clock of `release.at`."""
        self.latency, self.idle, self.clock = latency, idle, clock
        self.policy = policy or HedgePolicy()
        self.on_hedge, self.on_won = on_hedge, on_won

    @classmethod
    def for_client(cls, client: EutilsClient, policy: HedgePolicy | None = None) -> Hedger:
        """Hedging through `client`'s gate, idle when it has had a turn free with nobody to take
        it (other work may be waiting for a worker stuck on the overdue read itself); counted
        in the client's stats."""
        return cls(
            latency=client.concurrency.typical_first_byte,
            idle=lambda: client.gate.idle() > 0,
            clock=client.gate.now,
            policy=policy,
            on_hedge=lambda: client.stats.incr("harvest/hedged"),
            on_won=lambda: client.stats.incr("harvest/hedges_won"),
        )

    async def read(self, ask: Callable[[], Awaitable[_T]]) -> _T:
        """`ask()`'s answer; a second `ask()` races the first once the first's first byte is
        overdue and the pipeline idles. A failed copy is forgotten while the other may still
        answer."""
        watch = FirstByteWatch()
        first: asyncio.Future[_T] = asyncio.ensure_future(_watched(watch, ask))
        out: set[asyncio.Future[_T]] = {first}
        hedged = False
        try:
            while True:
                done, out = await asyncio.wait(
                    out,
                    timeout=None if hedged else self._wait(watch),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    if task.exception() is None:
                        if task is not first:
                            self.on_won()
                        return task.result()
                    if not out:
                        return task.result()  # the last copy failed: its error is the answer
                if not hedged and not done and await self._due(watch):
                    out.add(asyncio.ensure_future(_watched(None, ask)))
                    hedged = True
                    self.on_hedge()
        finally:
            for task in out:
                task.cancel()
            # the copies' own errors and cancellations are dropped; this read's cancellation,
            # should it come while they end, is not
            await asyncio.gather(*out, return_exceptions=True)

    def _wait(self, watch: FirstByteWatch) -> float:
        """Seconds until the read could next be overdue: a request not yet out (or already
        answering) cannot be sooner than a whole `overdue_after` from now."""
        limit = self.policy.overdue_after(self.latency())
        since = watch.waiting_since()
        if since is None:
            return limit
        return max(self.policy.poll, since + limit - self.clock())

    def _overdue(self, watch: FirstByteWatch) -> bool:
        since = watch.waiting_since()
        limit = self.policy.overdue_after(self.latency())
        return since is not None and self.clock() - since >= limit

    async def _due(self, watch: FirstByteWatch) -> bool:
        """Overdue and the gate idle, judged once more after the loop has polled its sockets:
        when the loop was busy, a status line already in the socket buffer is seen first."""
        if not self._overdue(watch):
            return False
        # A timer, not sleep(0): the loop runs the I/O callbacks of its next poll before its
        # timers, so the reader's wake-up is queued ahead of ours (sleep(0) queues ours first).
        await asyncio.sleep(LOOK_AGAIN)
        return self._overdue(watch) and self.idle()
