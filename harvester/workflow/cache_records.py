"""The record cache shared by jobs (record_cache.py) as known records (known.py): what other
jobs fetched is offered to a harvest like a refresh's previous store, so NCBI's mdat question on
the History set holding it decides whether it is served (known_entries.py), and what the harvest
fetches goes into the cache, dated by the server's clock. A refresh with the cache on asks both.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from harvester.config import JobConfig
from harvester.errors import HarvesterError
from harvester.eutils.client import EutilsClient
from harvester.stats import Stats
from harvester.workflow.fields import Stored
from harvester.workflow.known import Known, KnownRecords
from harvester.workflow.record_cache import CacheFormat, RecordCache, cache_source
from harvester.workflow.record_version import RecordVersion

log = logging.getLogger("harvester")

__all__ = [
    "CacheRecords",
    "EitherKnown",
    "cache_line",
    "cache_summary",
    "either_known",
    "open_cache",
]


class CacheRecords:
    """One job's view of the cache: its db and fetch format, records younger than max_age.
    Reads go through `cache`; puts and use times through `writer`, off the event loop. The
    cache is an optimisation: when it fails (another process holding it past the busy
    timeout, a full disk), the job says so once and goes on without it, never fails for it."""

    def __init__(
        self, cache: RecordCache, writer: CacheWriter, db: str, fmt: CacheFormat, stats: Stats
    ) -> None:
        self.cache, self.writer, self.db, self.fmt, self.stats = cache, writer, db, fmt, stats
        self.warnings: list[str] = []
        """Why the cache was left, if it was (for the summary's warnings)."""

    @property
    def off(self) -> bool:
        return bool(self.warnings)

    def _failed(self, exc: Exception) -> None:
        if not self.warnings:
            message = f"the record cache failed ({exc}); the job went on without it"
            self.warnings.append(message)
            log.warning("%s", message)

    def drain(self) -> None:
        """Wait for every put (a failed one is a warning)."""
        try:
            self.writer.drain()
        except CACHE_ERRORS as exc:
            self._failed(exc)
        self.stats.incr("cache/put_seconds", self.writer.take_seconds())

    def close(self) -> None:
        uses = self.cache.take_uses()
        try:
            if uses and not self.off:
                self.writer.submit_nowait(lambda cache: cache.write_uses(uses))
            self.writer.close()
        except CACHE_ERRORS as exc:
            self._failed(exc)
        finally:
            with contextlib.suppress(*CACHE_ERRORS):
                self.cache.close()

    def holds(self, uids: Iterable[int]) -> bool:
        if self.off:
            return False
        try:
            return self.cache.holds(self.db, self.fmt, list(uids))
        except CACHE_ERRORS as exc:
            self._failed(exc)
            return False

    def lookup(self, uids: Sequence[int]) -> dict[int, Known]:
        """Those held and offered, each as of the server's day it was fetched."""
        if self.off:
            return {}
        try:
            found = self.cache.lookup(self.db, self.fmt, uids)
            if self.cache.uses_due():
                uses = self.cache.take_uses()
                self.writer.submit_nowait(lambda cache: cache.write_uses(uses))
        except CACHE_ERRORS as exc:
            self._failed(exc)
            return {}
        return {
            uid: Known(record.body, _day(record.fetched), cached=True)
            for uid, record in found.items()
            if self.cache.offered(record)
        }

    async def keep(
        self,
        records: Sequence[tuple[int, Stored]],
        versions: Mapping[int, RecordVersion],
        missing: Sequence[int],
    ) -> None:
        """Put fetched records in the cache (once the job store has them); drop those NCBI
        says it no longer has. Waits (without blocking the loop) while too many puts are out."""
        if self.off:
            return
        db, fmt = self.db, self.fmt
        try:
            if records:
                rows = [(uid, whole, versions.get(uid, NO_VERSION)) for uid, (_, whole) in records]
                await self.writer.submit(lambda cache: cache.put(db, fmt, rows))
                self.stats.incr("cache/put", len(records))
            if missing:
                gone = list(missing)
                await self.writer.submit(lambda cache: cache.forget(db, fmt, gone))
        except CACHE_ERRORS as exc:
            self._failed(exc)


CACHE_ERRORS = (HarvesterError, sqlite3.Error, OSError)
"""What a cache read or write may fail with: a warning, never a failed job."""
WRITES_AHEAD = 8
"""Puts queued before `keep` waits for the oldest: bounds the records held in memory when the
disk (or another process's write) is slower than the fetches."""


class CacheWriter:
    """Puts records into the cache on a thread of its own with its own connection, so
    compressing and writing them, and waiting on another process's write, never holds up the
    event loop (compression and SQLite release the GIL); one thread keeps them in order."""

    def __init__(self, opener: Callable[[], RecordCache]) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="record-cache")
        self._opener = opener
        self._cache: RecordCache | None = None
        """Opened, used and closed on the thread only."""
        self._pending: deque[Future[None]] = deque()
        self._seconds = 0.0

    def submit_nowait(self, work: Callable[[RecordCache], None]) -> None:
        """Queue a write; a write already failed raises here."""
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._run, work))

    async def submit(self, work: Callable[[RecordCache], None]) -> None:
        """Queue a write, then wait on the loop while more than WRITES_AHEAD are out."""
        self.submit_nowait(work)
        while len(self._pending) > WRITES_AHEAD:
            await asyncio.wrap_future(self._pending[0])
            while self._pending and self._pending[0].done():
                self._pending.popleft().result()

    def _run(self, work: Callable[[RecordCache], None]) -> None:
        started = time.perf_counter()
        if self._cache is None:
            self._cache = self._opener()
        work(self._cache)
        self._seconds += time.perf_counter() - started

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def take_seconds(self) -> float:
        """The writing time since last asked (call after `drain`)."""
        seconds, self._seconds = self._seconds, 0.0
        return seconds

    def close(self) -> None:
        """Finish the queued writes (raising the first failure) and close the connection."""
        try:
            self.drain()
        finally:
            self._pool.submit(self._close).result()
            self._pool.shutdown()

    def _close(self) -> None:
        if self._cache is not None:
            self._cache.close()


NO_VERSION = RecordVersion()


class EitherKnown:
    """Several providers as one (a refresh's previous store and the cache): a record held by
    more than one is taken as of the latest day, the first provider's on a tie."""

    def __init__(self, *providers: KnownRecords) -> None:
        self.providers = providers

    def holds(self, uids: Iterable[int]) -> bool:
        wanted = list(uids)
        return any(p.holds(wanted) for p in self.providers)

    def lookup(self, uids: Sequence[int]) -> dict[int, Known]:
        found: dict[int, Known] = {}
        for provider in self.providers:
            for uid, known in provider.lookup(uids).items():
                if uid not in found or known.as_of > found[uid].as_of:
                    found[uid] = known
        return found


def either_known(*providers: KnownRecords | None) -> KnownRecords | None:
    """The providers given (None: not there) as one, or None when there is none."""
    present = [p for p in providers if p is not None]
    if len(present) > 1:
        return EitherKnown(*present)
    return present[0] if present else None


def _day(stamp: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).date()


def open_cache(job: JobConfig, client: EutilsClient) -> CacheRecords | None:
    """The job's view of the record cache, or None when the cache is off; dated by the server's
    clock (its latest `Date` header), by the local one until the server has answered."""
    spec = job.cache
    if spec.folder is None:
        return None
    transport = client.transport
    opener = functools.partial(
        RecordCache,
        spec.folder,
        source=cache_source(job.endpoint),
        max_bytes=spec.max_bytes,
        max_age=spec.max_age,
        clock=lambda: transport.server_time or time.time(),
    )
    try:
        cache = opener()
    except CACHE_ERRORS as exc:  # an optimisation: the job goes on without it
        log.warning("the record cache failed (%s); the job goes on without it", exc)
        return None
    return CacheRecords(cache, CacheWriter(opener), job.db, CacheFormat.of(job.fetch), client.stats)


def cache_summary(job: JobConfig, stats: Stats) -> dict[str, Any]:
    """The summary's `cache` section: what the cache served and what the job put in it."""
    return {
        "folder": str(job.cache.folder),
        "max_age_seconds": job.cache.max_age,
        "records_from_cache": int(stats.get("known/from_cache")),
        "mdat_queries": int(stats.get("known/validations")),
        "records_put": int(stats.get("cache/put")),
        "put_seconds": round(stats.get("cache/put_seconds"), 3),  # on the writer's thread
    }


def cache_line(job: JobConfig) -> str:
    """`harvester plan`'s word on the cache."""
    spec = job.cache
    if spec.folder is None:
        return "cache          off (`cache: on` or --cache DIR shares records between jobs)"
    return (
        f"cache          on: {spec.folder} (records other jobs fetched less than "
        f"{_age(spec.max_age)} ago, by the server's clock, are served once one mdat esearch per "
        f"History set says they did not change; what is fetched is kept, at most "
        f"{spec.max_mb:,} MB)"
    )


def _age(seconds: float) -> str:
    for unit, size in (("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
