"""Memory bounded by bytes in flight, not by pages: fetched pages wait their turn for a share of
a byte budget before they are asked, so page size and concurrency cannot multiply into
gigabytes (2,000-record pages at 64 in flight held 400 MB before, see benchmarks/SCALE.md).

A page's bytes are not known before it is asked: they are estimated from the records fetched so
far (their kept bytes and a fixed overhead per record), starting from a guess per record that
is corrected as soon as the first page is in. A page larger than the whole budget goes alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["RECORD_GUESS", "RECORD_OVERHEAD", "ByteBudget"]

RECORD_GUESS = 4096
"""Bytes a record is assumed to hold before any has been fetched (a SNP docsum is ~2 KB)."""
RECORD_OVERHEAD = 256
"""Bytes of Python objects per held record beyond its kept bytes (tuples, ints, bytes heads)."""


class ByteBudget:
    """At most `limit` estimated bytes of pages held at once."""

    def __init__(self, limit: int, guess: int | None = None) -> None:
        """`guess`: bytes a record is expected to hold before any is fetched (the page plan's
        prior for the job's db and format), else `RECORD_GUESS`."""
        self.limit = limit
        self.guess = guess or RECORD_GUESS
        self.held = 0
        self.peak = 0
        self._changed = asyncio.Condition()
        self._bytes = 0
        self._records = 0

    def estimate(self, records: int) -> int:
        """The bytes a page of `records` records is expected to hold."""
        per = self._bytes // self._records if self._records else self.guess
        return records * (per + RECORD_OVERHEAD)

    def per_record(self) -> int | None:
        """The kept bytes a record has held on average so far, None before any came in."""
        return self._bytes // self._records if self._records else None

    def observe(self, records: int, nbytes: int) -> None:
        """A page came in: `records` records holding `nbytes` kept bytes."""
        self._records += records
        self._bytes += nbytes

    @contextlib.asynccontextmanager
    async def hold(self, nbytes: int) -> AsyncIterator[None]:
        """Wait until `nbytes` fit beside what is held (alone, if they exceed the budget)."""
        nbytes = min(nbytes, self.limit)
        async with self._changed:
            await self._changed.wait_for(lambda: self.held + nbytes <= self.limit)
            self.held += nbytes
            self.peak = max(self.peak, self.held)
        try:
            yield
        finally:
            async with self._changed:
                self.held -= nbytes
                self._changed.notify_all()
