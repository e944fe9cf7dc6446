"""Records for the job's db, by History page or by id, as the store keeps them: (uid, (encoded
fields, whole record)) for each record, and the ids NCBI said it has no record for; with the
record cache on, each record's version too (read from the parsed record, for the cache's key).
Which uid a record is keyed by is keyed.py's.

A History page streams: every BATCH_BYTES of its records go to the caller's sink (committed)
while the rest of the answer is still coming, so a page holds a batch, not all its records, and
the byte budget lets many answers stream at once (budget.py). The page is done only once its
answer is whole: the caller commits the rest with the page's mark."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from threading import get_ident

from harvester.config import MB, JobConfig
from harvester.eutils.client import EutilsClient
from harvester.eutils.pacing import urgent
from harvester.eutils.results import Record
from harvester.ncbi import FetchVia
from harvester.workflow import kept
from harvester.workflow.budget import BATCH_BYTES, RECORD_OVERHEAD, ByteBudget
from harvester.workflow.fields import FieldExtractor, Stored
from harvester.workflow.hedge import Hedger
from harvester.workflow.keyed import UnjoinableRecords, record_uid, unjoinable
from harvester.workflow.page_plan import planned_page_size, prior_record_bytes
from harvester.workflow.record_version import RecordVersion, record_version
from harvester.workflow.store import Entry

Versions = dict[int, RecordVersion]
Fetched = tuple[list[tuple[int, Stored]], list[int], Versions]
"""(records as (uid, (encoded fields, whole record)), ids NCBI said are missing, the records'
versions when asked for); the records list is a `kept.Packed` carrying their blob, compressed
off the event loop."""
Sink = Callable[[kept.Packed, Versions], Awaitable[bool]]
"""Takes a batch of a page's records before the page ends (with their versions, when asked
for): True once committed, so they leave memory; False to keep them for the next batch (none
of the page's records was seen to be a target yet, which the page's end decides)."""


class Fetcher:
    """Fetches by efetch or esummary, as the job says, through the client's one gate."""

    def __init__(
        self, job: JobConfig, client: EutilsClient, hedger: Hedger, versioned: bool = False
    ) -> None:
        """`versioned`: read each record's version (the record cache keys by it)."""
        self.job, self.client, self.hedger, self.versioned = job, client, hedger, versioned
        self.extractor = FieldExtractor(job.fields)
        self.budget = ByteBudget(job.fetch.memory_mb * MB, prior_record_bytes(job))
        self._packer = kept.Packer()
        """Packs the records' blobs on the parse thread (whether compressing pays, sampled)."""

    async def page(self, entry: Entry, retstart: int, sink: Sink) -> tuple[Fetched, list[int]]:
        """One page of a History entry (asked again if overdue while the pipeline idles), once
        the bytes it holds at most fit the budget: the records not yet given to `sink`, and the
        uids of those it took (the copy of the answer that won, should the read be hedged)."""
        size = self.job.fetch.page_size if entry.page_size is None else entry.page_size
        async with self.budget.hold(self.budget.streaming(size)):
            fetched, sent = await self.hedger.read(
                partial(self._page, entry.webenv, entry.query_key, retstart, size, sink)
            )
            return self._observed(fetched), sent

    async def _page(
        self, webenv: str, query_key: str, retstart: int, size: int, sink: Sink
    ) -> tuple[Fetched, list[int]]:
        """One copy of a page's read, with the uids of the records it gave to `sink`."""
        sent: list[int] = []
        fetched = await self._fetch(
            webenv=webenv, query_key=query_key, retstart=retstart, retmax=size, sink=(sink, sent)
        )
        return fetched, sent

    def plan(self) -> int:
        """The page size for an entry starting now, from the bytes per record seen so far."""
        return planned_page_size(self.job, self.budget.per_record())

    def _observed(self, fetched: Fetched) -> Fetched:
        """Tell the budget what the page's records hold (the caller commits them before its
        next await, so they are gone before another page's bytes are let in)."""
        self._observe(fetched[0])
        return fetched

    def _observe(self, good: list[tuple[int, Stored]]) -> None:
        self.budget.observe(len(good), sum(len(v) + len(r) for _, (v, r) in good))

    async def confirm(self, uids: list[int]) -> tuple[dict[int, Stored], list[int], Versions]:
        """Fetch ids no page brought, asked once: (records found, ids NCBI said it has no
        record for, versions). Whether the ids the answer lacks are missing is lacking.py's."""
        # The end of the run waits on these, and nothing waits on a check: they go ahead of
        # the checks and pages waiting at the gate.
        with urgent():
            async with self.budget.hold(self.budget.estimate(len(uids))):
                fetched = await self.hedger.read(partial(self._fetch, ids=[str(t) for t in uids]))
            good, said, versions = self._observed(fetched)
        return dict(good), said, versions

    async def _fetch(
        self,
        ids: list[str] | None = None,
        webenv: str | None = None,
        query_key: str | None = None,
        retstart: int | None = None,
        retmax: int | None = None,
        sink: tuple[Sink, list[int]] | None = None,
    ) -> Fetched:
        """The answer's records; with `sink` (and the list of uids it took), every BATCH_BYTES
        of them are packed and given to it as they come, and only the rest is returned."""
        good: list[tuple[int, Stored]] = []
        missing: list[int] = []
        unkeyed: list[str] = []
        versions: Versions = {}
        held, due = 0, BATCH_BYTES
        digester = _Digester(self, packs=sink is not None)
        """Digests on the parse thread, with versions read for this call's records only (a
        hedged copy or a failed attempt fills its own, dropped with it: a dict kept on the
        fetcher kept their entries, and could hand a later read a copy's version)."""
        read, versioned = digester.read, self.versioned
        async for step in self._records(digester, ids, webenv, query_key, retstart, retmax):
            for record in step:  # per record: kept lean, ~1,000 of them a MB at ~1 KB
                uid = record_uid(record)
                if uid is None:
                    if record.uid:
                        raise UnjoinableRecords(unjoinable(record))
                    unkeyed.append(record.uid)
                elif record.error:
                    missing.append(int(uid))
                else:
                    key = int(uid)
                    stored = record.digest or self.extractor.encode(record)
                    good.append((key, stored))
                    held += _weight(stored)
                    if versioned:
                        found = read.pop(key, None)
                        versions[key] = found if found is not None else record_version(record)
                    if sink is not None and held >= due:
                        blob = digester.blob_for(good)
                        batch = (
                            kept.Packed(good, blob)
                            if blob is not None
                            else await self._packed(good)
                        )
                        if await sink[0](batch, versions):
                            self.budget.observe(len(batch), held - len(batch) * RECORD_OVERHEAD)
                            sink[1].extend([key for key, _ in batch])
                            good, versions, held = [], {}, 0
                        due = held + BATCH_BYTES
            del step  # its records are in `good` or committed (budget.STREAM_BYTES)
        if unkeyed and not good and not missing and not (sink and sink[1]):
            raise UnjoinableRecords(
                f"{self.job.fetch.via} {self.job.db} answered {len(unkeyed)} records in which "
                "no uid could be found: they cannot be joined"
            )
        if not good:
            return good, missing, versions
        return await self._packed(good), missing, versions

    async def _packed(self, good: list[tuple[int, Stored]]) -> kept.Packed:
        """The records with their blob, compressed off the event loop."""
        blob = await self.client.transport.offload(
            partial(self._packer.pack, _wholes(good)), "pack"
        )
        return kept.Packed(good, blob)

    def _records(
        self,
        digest: Callable[[Record], Record],
        ids: list[str] | None,
        webenv: str | None,
        query_key: str | None,
        retstart: int | None,
        retmax: int | None,
    ) -> AsyncIterator[list[Record]]:
        """The answer's records in the groups they were parsed and digested in."""
        fetch = self.job.fetch
        if fetch.via == FetchVia.ESUMMARY:
            return self.client.esummary(
                self.job.db,
                ids=ids,
                webenv=webenv,
                query_key=query_key,
                retstart=retstart,
                retmax=retmax,
                version=fetch.version,
                retmode=fetch.retmode or "xml",
                digest=digest,
            ).groups
        return self.client.efetch(
            self.job.db,
            ids=ids,
            webenv=webenv,
            query_key=query_key,
            retstart=retstart,
            retmax=retmax,
            rettype=fetch.rettype,
            retmode=fetch.retmode,
            digest=digest,
        ).groups


def _weight(stored: Stored) -> int:
    """What a fetched record weighs in a batch (`BATCH_BYTES`): `_fetch` and `_Digester` cut
    their batches by the same sum, so the parse thread's blobs fall where the loop's do."""
    return len(stored[0]) + len(stored[1]) + RECORD_OVERHEAD


def _wholes(batch: list[tuple[int, Stored]]) -> list[tuple[int, bytes]]:
    """What `kept.pack` keeps of a batch: each record's uid and whole record."""
    return [(uid, whole) for uid, (_, whole) in batch]


class _Digester:
    """A fetch's records digested where they are parsed (the parse thread): fields, whole
    bytes and, when asked, versions; and, for a streaming page, each `BATCH_BYTES` of them
    packed there too, where `_fetch` will cut its batch, so a batch costs no hand-off to the
    parse thread of its own (~0.1-0.3 ms of CPU each, benchmarks/PARSE.md).

    The loop takes a blob only for the very records of its batch (`blob_for`); once the two
    part (a sink kept a batch, a retry sent records again), it packs its batches itself."""

    __slots__ = (
        "_batches",
        "_encode",
        "_held",
        "_loop",
        "_packer",
        "_packs",
        "_pending",
        "_stats",
        "_versioned",
        "read",
    )

    def __init__(self, fetcher: Fetcher, *, packs: bool) -> None:
        self._encode = fetcher.extractor.encode
        self._packer = fetcher._packer
        self._versioned = fetcher.versioned
        self._packs = packs
        self._pending: list[tuple[int, Stored]] = []
        self._held = 0
        self._batches: deque[tuple[list[tuple[int, Stored]], bytes, float]] = deque()
        """Batches packed and not yet taken by the loop, with their blobs and the CPU seconds
        packing them took, oldest first."""
        self._stats = fetcher.client.transport.stats
        self._loop = get_ident()
        """The event loop's thread, where `_fetch` makes its digester."""
        self.read: Versions = {}
        """Versions read of this call's records (the record cache keys by them)."""

    def __call__(self, record: Record) -> Record:
        """The record without its element, carrying (fields, whole record)."""
        uid = record_uid(record)
        if record.error or uid is None:
            return record.digested(None)
        key = int(uid)
        if self._versioned:
            self.read[key] = record_version(record)
        stored = self._encode(record)
        if self._packs:
            self._pending.append((key, stored))
            self._held += _weight(stored)
            if self._held >= BATCH_BYTES:
                batch, self._pending, self._held = self._pending, [], 0
                if get_ident() == self._loop:  # digested on the loop (a JSON answer): no
                    self._packs = False  # packing here, `_fetch` sends its batches off
                    return record.digested(stored)
                start = time.thread_time()
                blob = self._packer.pack(_wholes(batch))
                self._batches.append((batch, blob, time.thread_time() - start))
        return record.digested(stored)

    def blob_for(self, good: list[tuple[int, Stored]]) -> bytes | None:
        """The blob packed of exactly these records (the same objects, in order), else None:
        and from then on none is packed here (the loop's batches no longer fall where these
        do). Called between parse steps, never while one runs."""
        if self._batches:
            batch, blob, spent = self._batches.popleft()
            if len(batch) == len(good) and all(
                ours[1] is theirs[1] for ours, theirs in zip(batch, good, strict=True)
            ):
                self._stats.incr("thread/pack_s", spent)  # packing, not parsing, in the summary
                self._stats.incr("thread/parse_s", -spent)
                return blob
        self._packs = False
        self._pending, self._batches = [], deque()
        return None
