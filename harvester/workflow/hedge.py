"""A read sent again when its answer is long overdue and the gate has nothing else to send.

NCBI now and then holds an answer for tens of seconds (the read timeout allows 120 s). In the
middle of a harvest other work fills the gate meanwhile; near its end everything waits on that
one answer, with the allowance unused. So a fetch by History page or by id, or an index elink
(reads: asking twice changes nothing at NCBI) whose answer is `factor` times the usual latency
late, at a moment when the gate has a turn nobody takes, is asked a second time. The
first whole answer wins and the other request is dropped. Only one copy is ever sent, so a
hedge costs one request at a time the allowance would otherwise go unused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from harvester.eutils.client import EutilsClient

__all__ = ["HedgePolicy", "Hedger"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class HedgePolicy:
    """When an answer is overdue: `factor` times the typical (median) latency, and at least
    `minimum` seconds."""

    factor: float = 4.0
    minimum: float = 3.0
    poll: float = 0.25
    """Seconds between looks at the gate once an answer is overdue and the gate was busy."""

    def overdue_after(self, latency: float) -> float:
        """Seconds after which an answer still out is overdue."""
        return max(self.minimum, self.factor * latency)


class Hedger:
    """Runs reads, each asked once more if it is overdue while the pipeline idles."""

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
        self.latency, self.idle, self.clock = latency, idle, clock
        self.policy = policy or HedgePolicy()
        self.on_hedge, self.on_won = on_hedge, on_won

    @classmethod
    def for_client(cls, client: EutilsClient, policy: HedgePolicy | None = None) -> Hedger:
        """Hedging through `client`'s gate, idle when it has had a turn free with nobody to take
        it (other work may be waiting for a worker stuck on the overdue read itself); counted
        in the client's stats."""
        return cls(
            latency=client.concurrency.typical_latency,
            idle=lambda: client.gate.idle() > 0,
            clock=client.gate.now,
            policy=policy,
            on_hedge=lambda: client.stats.incr("harvest/hedged"),
            on_won=lambda: client.stats.incr("harvest/hedges_won"),
        )

    async def read(self, ask: Callable[[], Awaitable[_T]]) -> _T:
        """`ask()`'s answer; a second `ask()` races the first once the first is overdue and the
        pipeline idles. A failed copy is forgotten while the other may still answer."""
        started = self.clock()
        first: asyncio.Future[_T] = asyncio.ensure_future(ask())
        out: set[asyncio.Future[_T]] = {first}
        hedged = False
        try:
            while True:
                wait = self.policy.poll
                if not hedged:
                    due = started + self.policy.overdue_after(self.latency())
                    wait = max(wait, due - self.clock())
                done, out = await asyncio.wait(
                    out, timeout=None if hedged else wait, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    if task.exception() is None:
                        if task is not first:
                            self.on_won()
                        return task.result()
                    if not out:
                        return task.result()  # the last copy failed: its error is the answer
                if not hedged and not done and self._due(started):
                    out.add(asyncio.ensure_future(ask()))
                    hedged = True
                    self.on_hedge()
        finally:
            for task in out:
                task.cancel()
            # the copies' own errors and cancellations are dropped; this read's cancellation,
            # should it come while they end, is not
            await asyncio.gather(*out, return_exceptions=True)

    def _due(self, started: float) -> bool:
        overdue = self.clock() - started >= self.policy.overdue_after(self.latency())
        return overdue and self.idle()
