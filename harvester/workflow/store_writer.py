"""The job store's writes off the event loop while a harvest runs: a chunk's ~15k link edges
took 100-250 ms to commit on the loop, and the pacing gate's releases waited as long
(benchmarks/WEIGHT.md). Every write goes to the parse thread (Transport.submit), in the order
it was made, on a connection of its own, so the transactions and their order are the ones the
loop made before: a crash loses a suffix of them, as before. The loop reads on the store's own
connection, which sees a write once it is committed (WAL)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["StoreWriter", "Submit", "WriteNotMade"]

_T = TypeVar("_T")
Submit = Callable[[Callable[[], Any]], "asyncio.Future[Any]"]
"""Queues work on the one thread that writes (Transport.submit); its answer to await."""


class WriteNotMade(Exception):
    """A write queued after one that failed: not made, as the run stops at the first failure
    (the store then holds what it would have held had the run stopped there)."""


class StoreWriter:
    """Runs the store's writes on one thread, in the order they are queued."""

    def __init__(self, submit: Submit, connection: sqlite3.Connection) -> None:
        self._submit = submit
        self.connection = connection
        """The writes' own connection, used on the writing thread only."""
        self._local = threading.local()
        self._out: set[asyncio.Future[Any]] = set()
        self.failed: BaseException | None = None
        """The first write that failed: raised again to whoever writes or drains next."""

    def here(self) -> bool:
        """Whether the calling thread is making one of the queued writes now."""
        return bool(getattr(self._local, "writing", False))

    def queue(self, work: Callable[[], _T]) -> asyncio.Future[_T]:
        """`work()` queued behind every write queued before; raises the failure of an earlier
        write instead, as the write that failed would have raised where it was made."""
        if self.failed is not None:
            raise self.failed
        future: asyncio.Future[_T] = self._submit(lambda: self._make(work))
        self._out.add(future)
        future.add_done_callback(self._settled)
        # the caller's cancellation stops its wait, never the write: `_out` keeps the write
        # itself until it is made, so `drain` and `close` wait for a write already running
        waited = asyncio.shield(future)
        waited.add_done_callback(_seen)
        return waited

    def _make(self, work: Callable[[], _T]) -> _T:
        """On the writing thread: the write, unless one before it failed."""
        if self.failed is not None:
            raise WriteNotMade("an earlier write to the job store failed")
        self._local.writing = True
        try:
            return work()
        except BaseException as exc:
            self.failed = exc
            raise
        finally:
            self._local.writing = False

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._out.discard(future)
        if not future.cancelled():
            future.exception()  # seen here: a failure is raised by `failed`, not logged

    def close(self) -> None:
        """Close the writes' connection: now if no write is out, else on the writing thread
        once those are made (a harvest cancelled while it waited for them)."""
        if not self._out:
            self.connection.close()
            return
        with contextlib.suppress(RuntimeError):  # the thread is gone, and its writes with it
            self._submit(self.connection.close)

    async def drain(self) -> None:
        """Wait for every write queued; raise the first that failed."""
        while self._out:
            await asyncio.wait(set(self._out))
        if self.failed is not None:
            raise self.failed


def _seen(future: asyncio.Future[Any]) -> None:
    """A write nobody waits for (a small write, a cancelled wait): its failure is raised by
    `failed`, not logged as never retrieved."""
    if not future.cancelled():
        future.exception()
