"""Memory bounded by bytes in flight, not by pages: fetched pages wait their turn for a share of
a byte budget before they are asked, so page size and concurrency cannot multiply into
gigabytes (2,000-record pages at 64 in flight held 400 MB before, see benchmarks/SCALE.md).

What a page holds at once is what it has read and not yet committed: a page streamed in batches
(fetching.py) commits its records every BATCH_BYTES, so it holds at most a batch, the batch's
blob and the answer's read buffers however large the page is (`streaming`); an answer kept
whole until it ends (a confirmation by id) holds all its records (`estimate`). Records' bytes
are not known before they are asked: they are estimated from the records fetched so far (their
kept bytes and a fixed overhead per record), starting from a guess per record that is
corrected as soon as the first batch is in. A hold larger than the whole budget goes alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["BATCH_BYTES", "RECORD_GUESS", "RECORD_OVERHEAD", "STREAM_BYTES", "ByteBudget"]

RECORD_GUESS = 4096
"""Bytes a record is assumed to hold before any has been fetched (a SNP docsum is ~2 KB)."""
RECORD_OVERHEAD = 256
"""Bytes of Python objects per held record beyond its kept bytes (tuples, ints, bytes heads)."""
BATCH_BYTES = 512 * 1024
"""Estimated bytes of a streaming page's records committed together: small enough that many
answers stream within the budget (a ~10 MB page once held all of its records until its last
byte, so 128 MB let ~12 pages stream at once), large enough that a transaction's fixed cost
stays small beside its rows (~25 records of 21 KB, ~240 of 2 KB)."""
STREAM_BYTES = 1024 * 1024
"""What a streaming answer holds beside its batches: aiohttp's read buffer (up to 2 x 64 KiB),
the reads of a parse step (up to `parse.STEP_BYTES` and one more read, let go as they are
fed), the records that step makes until the fetcher has them (each layer lets a step go once
its consumer has it), the parser's record in progress."""


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

    def streaming(self, records: int) -> int:
        """The bytes a page of `records` records streamed in batches holds at most: a batch of
        records and its blob while they are packed and committed, and the answer's buffers;
        never more than the whole page would."""
        return min(self.estimate(records), 2 * BATCH_BYTES + STREAM_BYTES)

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
