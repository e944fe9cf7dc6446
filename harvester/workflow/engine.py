"""The six steps of the index-list workflow (steps.py), as the work a pool of workers runs.

Per chunk of source ids (plan): per-id elink builds the index, committed to the store with the
chunk's new targets claimed, so no target is fetched twice (link). A chunk whose targets are all
new and fill a page or more per link name gets them on the History server by one
neighbor_history elink, and esearch `#N` checks each entry's size against the index; every
other chunk's new targets are pooled across chunks and put there by one epost per whole pages'
worth (the rest once linking ends), which needs no size check: we know what we posted (history,
whose bookkeeping is history.py; the pooling is the scheduler's). efetch/esummary pages by
WebEnv (fetch); parsed records keyed by uid go to the store, and the ids no page brought are
confirmed by fetching them directly (key). The join is the output writer's job (join).

This module says what each piece of work does and what work it adds; the scheduler
(scheduler.py) alone says when it runs. Every request passes the client's one gate. How many
workers run at once follows the latency the client sees (slots.py), up to the job's
`concurrency`.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

from harvester.config import JobConfig
from harvester.errors import HarvesterError, HistoryExpiredError, NcbiTransientError
from harvester.eutils.client import EutilsClient
from harvester.eutils.results import LinkSetHistory
from harvester.stats import Stats
from harvester.workflow import kept
from harvester.workflow.cache_records import CacheRecords
from harvester.workflow.fetching import Fetcher, Versions
from harvester.workflow.hedge import HedgePolicy, Hedger
from harvester.workflow.history import Forgetting, OpenEntries
from harvester.workflow.index import index_of, register_new
from harvester.workflow.keyed import UnjoinableRecords
from harvester.workflow.known import KnownRecords
from harvester.workflow.known_entries import KnownEntries
from harvester.workflow.linking import Linker
from harvester.workflow.scheduler import (
    Check,
    Confirm,
    History,
    Link,
    Page,
    Post,
    Scheduler,
    Work,
)
from harvester.workflow.setaside import SetAside, describe
from harvester.workflow.slots import Slots
from harvester.workflow.states import EntryState, Posting, SourceStatus
from harvester.workflow.store import Chunk, Entry, Store
from harvester.workflow.together import together

log = logging.getLogger("harvester")
IDLE_LOOK = 0.05
"""Seconds between looks at the gate while a chunk's index elink is out before any is in."""
IDLE_SPECULATION = 0.25
"""Seconds the gate must have idled before a chunk's neighbor_history is sent on speculation
(at NCBI's rates, over two turns lost; an emulator answering at once never waits so long)."""


class Harvest:
    """Runs (or resumes) one job against one client and one store."""

    def __init__(
        self,
        job: JobConfig,
        store: Store,
        client: EutilsClient,
        hedge: HedgePolicy | None = None,
        known: KnownRecords | None = None,
        cache: CacheRecords | None = None,
    ) -> None:
        """`known`: records already held (a refresh's previous store, the record cache), fetched
        only if NCBI says they changed (known_entries.py); `cache`: where fetched records go
        once committed."""
        self.job, self.store, self.client, self.cache = job, store, client, cache
        self.stats = client.stats
        self.names = store.linknames() or list(job.linknames)
        """The link names the index numbers: the job's, then (`linkname: all`) those elink
        answered that einfo did not list, as first seen."""
        self.links = {name: i for i, name in enumerate(self.names)}
        self.slots = Slots(client.concurrency, client.gate, self._has_ready, self.stats)
        self.hedger = Hedger.for_client(client, hedge)
        self.fetcher = Fetcher(job, client, self.hedger, versioned=cache is not None)
        self.scheduler = Scheduler(
            self.slots.limit, job.fetch.page_size, known is not None, self.fetcher.plan
        )
        self.linker = Linker(job, client, self.hedger)
        self.entries = (
            OpenEntries(store, self.scheduler, job.fetch.page_size, self.stats, self.fetcher.plan)
            if known is None
            else KnownEntries(
                store,
                self.scheduler,
                self.stats,
                job,
                known,
                self.fetcher.extractor,
                self.fetcher.plan,
            )
        )
        self.forgetting = Forgetting()
        self.set_aside = SetAside(client.config.backoff().cap, client.gate.now)
        self.progressed = False
        """Whether any work has succeeded: until then a failure is not set aside (a wrong
        URL or a dead server is reported at once, not after rounds of waiting)."""

    async def run(self) -> None:
        """Work until nothing is left; the first unrecoverable error stops every worker. The
        store is written off the event loop meanwhile (store_writer.py), every write made
        once this returns."""
        async with self.store.writing_off_loop(partial(self.client.transport.submit, kind="store")):
            await self._run()

    async def _run(self) -> None:
        self._plan_from_store()
        workers = [asyncio.create_task(self._worker()) for _ in range(self.job.concurrency)]
        drained = asyncio.create_task(self.scheduler.drained())
        try:
            done, _ = await asyncio.wait([drained, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not drained:
                    task.result()  # a worker only ends by raising
        finally:
            for task in [drained, *workers]:
                task.cancel()
            await asyncio.gather(drained, *workers, return_exceptions=True)

    def _plan_from_store(self) -> None:
        """Enqueue whatever the store says is not done yet (everything, on a fresh job)."""
        for chunk in self.store.chunks():
            if not chunk.linked:
                self.scheduler.enqueue(Link(chunk))
            elif self._awaits_history(chunk):
                self.scheduler.enqueue(History(chunk.chunk, Posting.HISTORY))
        for entry in self.store.entries((EntryState.OPEN,)):
            self.entries.start(entry)
        unposted = self.store.unposted()  # pooled, or left out by neighbor_history: post them
        if unposted:
            self.scheduler.enqueue(Post(tuple(unposted)))

    def _awaits_history(self, chunk: Chunk) -> bool:
        """A linked chunk whose neighbor_history has not given it an entry yet."""
        return chunk.mode == Posting.HISTORY and not self.store.chunk_posted(chunk.chunk)

    def said_known(self) -> list[str]:
        """The warnings of validating known records (a db NCBI would not answer mdat for) and
        of the record cache (left when it failed)."""
        known = self.entries.warnings if isinstance(self.entries, KnownEntries) else []
        return known + (self.cache.warnings if self.cache is not None else [])

    def _has_ready(self) -> bool:
        return self.scheduler.has_ready()

    async def _worker(self) -> None:
        while True:
            async with self.slots.hold():  # a slot first: work leaves in the scheduler's order
                work = await self.scheduler.next()
                try:
                    await self._do(work)
                except HarvesterError as exc:
                    if not self.set_aside.recoverable(exc) or not self.progressed:
                        raise  # NCBI's refusal, or a server that never answered usefully
                    self.scheduler.later(work, self.set_aside.failed(work, exc))
                    self.stats.incr("harvest/set_aside")
                    log.warning("%s failed (%s); asking again later", describe(work), exc)
                else:
                    self.progressed = True
                    self.scheduler.done(work)

    async def _do(self, work: Work) -> None:
        match work:
            case Link(chunk):
                await self.link(chunk)
            case History(chunk, _):
                await self.history(chunk)
            case Post(uids, page_size):
                await self.post(list(uids), page_size)
            case Check(entry):
                await self.check(entry)
            case Page(entry, retstart):
                await self.page(entry, retstart)
            case Confirm(uids):
                await self.confirm(list(uids))

    # -- link: per-id elink, the index -----------------------------------------------------
    async def link(self, chunk: Chunk) -> None:
        stored = self.store.chunk(chunk.chunk)
        if stored.linked:  # set aside after its links were committed: carry on from there
            if self._awaits_history(stored):
                self.scheduler.enqueue(History(chunk.chunk, Posting.HISTORY))
            else:
                self.scheduler.enqueue(Post(tuple(self.store.unposted(chunk.chunk))))
            return
        ids = self.store.chunk_sources(chunk)
        if self.scheduler.speculate():  # neighbor_history does not need the index: send it too
            async with together() as group:
                indexed = group.create_task(self.linker.index(ids))
                speculated = group.create_task(self._speculated_history(ids))
            items, early = indexed.result(), speculated.result()
        else:
            items, early = await self._index_or_idle(ids)
        added = self._register(items)
        statuses, edges = index_of(ids, items, self.links)
        doubtful = [source for source, status in statuses.items() if status != SourceStatus.LINKED]
        if doubtful:  # no links, or left out of the answer: said so only when asked twice
            asked_again = await self.linker.index(doubtful)
            added += self._register(asked_again)
            again, more = index_of(doubtful, asked_again, self.links)
            for source, status in again.items():
                if {status, statuses[source]} == {SourceStatus.NO_LINKS, SourceStatus.UNKNOWN}:
                    raise NcbiTransientError(  # neither answer can be taken at its word
                        f"elink answered source {source} once without links and once left it out"
                    )
                statuses[source] = status
            edges += more
            self.stats.incr("harvest/sources_asked_again", len(doubtful))
        mode, claimed = await self.store.run(
            partial(
                self.store.commit_links,
                chunk.chunk,
                statuses,
                edges,
                self.names if added else None,
                history_from=self.job.fetch.page_size,
            )
        )
        self.scheduler.linked(mode, len(edges))
        self.stats.incr("harvest/chunks_linked")
        self.stats.incr("harvest/targets", claimed)
        self.stats.incr("harvest/links", len(edges))
        if mode != Posting.HISTORY and early is not None:
            self.stats.incr("harvest/speculation_unused")
        if mode == Posting.HISTORY and early is not None:
            await self._entries_from_history(chunk.chunk, early)
        elif mode == Posting.HISTORY:
            self.scheduler.enqueue(History(chunk.chunk, mode))
        elif mode == Posting.POST:
            targets = await self.store.run(partial(self.store.chunk_targets, chunk.chunk))
            self.scheduler.enqueue(Post(tuple(targets)))

    async def _index_or_idle(self, ids: list[int]) -> tuple[list[Any], LinkSetHistory | None]:
        """The index; and the chunk's neighbor_history too should the gate idle a while before
        any chunk's index is in (the first elinks are out and all other work waits on their
        answers): a turn nobody takes costs no time, and the pages can start with the first
        answers instead of a round trip later. Once a chunk is linked, `speculate` decides."""
        async with together() as group:
            indexed = group.create_task(self.linker.index(ids))
            speculated: asyncio.Task[LinkSetHistory | None] | None = None
            while not indexed.done() and not self.scheduler.any_linked():
                await asyncio.wait({indexed}, timeout=IDLE_LOOK)
                idle = self.client.gate.idle() >= IDLE_SPECULATION
                if idle and not indexed.done() and not self.scheduler.any_linked():
                    speculated = group.create_task(self._speculated_history(ids))
                    self.stats.incr("harvest/speculated_when_idle")
                    break
        return indexed.result(), speculated.result() if speculated is not None else None

    async def _speculated_history(self, ids: list[int]) -> LinkSetHistory | None:
        """A neighbor_history sent on speculation: if it fails, the chunk's index does not fail
        with it; the chunk then asks for its History entries as it would have without."""
        try:
            return await self.linker.history(ids)
        except HarvesterError as exc:
            self.stats.incr("harvest/speculation_failed")
            log.info("neighbor_history sent on speculation failed (%s); asked again later", exc)
            return None

    def _register(self, items: list[Any]) -> list[str]:
        """With `linkname: all`, the link names elink answered that the job did not know yet
        (numbered after the known ones; stored with the chunk's links)."""
        if not self.job.all_links:
            return []
        added = register_new(items, self.links, self.job.db)
        self.names += added
        return added

    # -- history: targets onto the History server ------------------------------------------
    async def history(self, chunk: int) -> None:
        found = await self.linker.history(self.store.chunk_sources(self.store.chunk(chunk)))
        await self._entries_from_history(chunk, found)

    async def _entries_from_history(self, chunk: int, found: LinkSetHistory | None) -> None:
        """Entries for a chunk whose targets are all new, one per link name with targets; the
        targets of a link name NCBI stored nothing for join the pool."""
        entries, unstored = await self.store.run(partial(self._add_entries, chunk, found))
        for entry, ids in entries:
            self.entries.ids_known(entry, ids)
            self.entries.start(entry)
        self.stats.incr("harvest/entries", len(entries))
        for link, targets in unstored.items():
            self.store.note(
                f"chunk {chunk}: neighbor_history gave no entry for "
                f"{self.names[link]}; posting its targets instead"
            )
            self.scheduler.enqueue(Post(tuple(targets)))

    def _add_entries(
        self, chunk: int, found: LinkSetHistory | None
    ) -> tuple[list[tuple[Entry, list[int]]], dict[int, list[int]]]:
        """A store write: the chunk's entries NCBI made, with the ids each holds, and the
        targets of each link name it stored nothing for."""
        counts = self.store.chunk_link_counts(chunk)
        rows = []
        if found is not None:
            for h in found.histories:
                link = self.links.get(h.linkname)
                if link is not None and counts.get(link):
                    rows.append((chunk, link, found.webenv, h.query_key, counts.pop(link)))
        made = [(e, self.store.entry_targets(e.entry)) for e in self.store.add_entries(rows)]
        return made, {link: self.store.chunk_targets(chunk, link) for link in counts}

    async def post(self, uids: list[int], page_size: int | None = None) -> None:
        """One epost of pooled targets (those still pending) as one entry, fetched in pages of
        `page_size` (the size the pool was cut in whole pages of; planned at its start if
        None)."""
        targets = await self.store.run(partial(self.store.pending_among, uids))  # off the loop
        if not targets:
            return
        if page_size is not None and page_size < self.job.fetch.page_size:
            self.stats.incr("harvest/entries_paged_smaller")
        posted = await self.linker.post(targets)
        entry = await self.store.run(
            partial(self.store.add_post, targets, posted.webenv, posted.query_key, page_size)
        )
        self.entries.ids_known(entry, sorted(targets))  # what it holds: what was posted
        self.entries.start(entry)
        self.stats.incr("harvest/entries")

    async def check(self, entry: Entry) -> None:
        try:
            if isinstance(self.entries, KnownEntries) and self.entries.validates(entry):
                await self.entries.validate(entry, self.client)  # its known targets: mdat
                return
            found = await self.client.esearch(
                self.job.db, f"#{entry.query_key}", webenv=entry.webenv, retmax=0
            )
        except HistoryExpiredError:
            self.rebuild(entry)
            return
        self.entries.checked(entry, found.count)

    # -- fetch and key: pages, confirmation by id, rebuilding ------------------------------
    async def page(self, entry: Entry, retstart: int) -> None:
        """One page, its records committed in batches as they stream (each batch's targets
        fetched, the page not done) and the rest with the page's mark once the answer is
        whole: a page cut short is asked again, its committed records stored again as the
        same values (first copy wins), and no page is marked done that is not in whole."""
        if self.store.entry(entry.entry).state != EntryState.OPEN:
            return
        joined = False

        async def batch_in(batch: kept.Packed, versions: Versions) -> bool:
            nonlocal joined
            joined = joined or bool(self.store.count_targets([uid for uid, _ in batch]))
            if joined:
                await self._commit_batch(batch, versions)
            return joined

        try:
            (good, missing, versions), sent = await self.fetcher.page(entry, retstart, batch_in)
        except HistoryExpiredError:
            self.rebuild(entry)
            return
        if good and not joined and not self.store.count_targets([uid for uid, _ in good]):
            raise UnjoinableRecords(
                f"{self.job.fetch.via} {self.job.db} answered {len(good)} records for "
                f"History entry {entry.query_key} of chunk {entry.chunk}, none keyed by an id "
                f"elink gave (first: {good[0][0]}): their ids and elink's do not match"
            )
        self.forgetting.kept()
        await self._commit_records(good, missing, page=(entry.entry, retstart))
        gaps = self.entries.page_in(entry, retstart, sent + [uid for uid, _ in good] + missing)
        self.stats.incr("harvest/gaps", len(gaps))
        self.scheduler.enqueue(Confirm(tuple(gaps)))
        if self.cache is not None:  # last: the page's bookkeeping is done before this waits
            await self.cache.keep(good, versions, missing)

    async def _commit_batch(self, batch: kept.Packed, versions: Versions) -> None:
        """A batch of a page still streaming: committed (its targets fetched, the page not
        done yet), then given to the record cache."""
        await self._commit_records(batch)
        if self.cache is not None:
            await self.cache.keep(batch, versions, [])

    def _commit_records(
        self,
        records: Sequence[tuple[int, tuple[bytes, bytes]]],
        missing: Sequence[int] = (),
        page: tuple[int, int] | None = None,
    ) -> asyncio.Future[int]:
        """`store.commit_records` queued on the store's writer, counted as it is made."""
        day = self.client.transport.server_date
        return commit_counted(self.store, self.stats, records, missing, page=page, day=day)

    async def confirm(self, uids: list[int]) -> None:
        """Fetch by id whatever pages did not bring, batched across entries; what two answers
        lacked is missing at NCBI (withdrawn, merged) and is marked so (lacking.py). Then
        settle the awaiting entries left without pending ids."""
        asked = self.store.pending_among(uids)
        page = self.fetcher.plan()  # by-id answers are pages too: as many bytes as planned
        async with together() as group:
            for start in range(0, len(asked), page):
                group.create_task(self._confirm(asked[start : start + page]))
        self.entries.settle_awaiting()

    async def _confirm(self, uids: list[int]) -> None:
        """One by-id request; the ids it lacked for the first time join the next batch."""
        found, said, versions = await self.fetcher.confirm(uids)
        missing, again = self.entries.lacking.answered(uids, found, said)
        self.stats.incr("harvest/refetched", len(found))
        good = list(found.items())
        await self._commit_records(good, missing)
        if again:
            self.stats.incr("harvest/confirmed_again", len(again))
            self.scheduler.confirm_again(again)
        if self.cache is not None:  # last: the answer's bookkeeping is done before this waits
            await self.cache.keep(good, versions, missing)

    def rebuild(self, entry: Entry) -> None:
        """The entry expired, and with it (as NCBI expires a WebEnv whole) every open entry of
        its WebEnv: their targets still missing join the pool of targets to post (Post work,
        set aside and asked again if its epost fails, never stranded on entries nothing reads).
        Requests still reading that WebEnv stop at their next attempt instead of retrying to
        the same end."""
        if self.store.entry(entry.entry).state != EntryState.OPEN:
            return
        self.linker.lost(entry.webenv)  # its other reads fail without a request from now on
        self.forgetting.lost(self.client.gate.now(), self.set_aside.pause)
        lost = [e for e in self.store.entries((EntryState.OPEN,)) if e.webenv == entry.webenv]
        pending = [u for gone in lost for u in self.store.entry_targets(gone.entry, True)]
        self.entries.replace(lost)  # their other failures return at once
        self.stats.incr("harvest/rebuilt", len(lost))
        self.scheduler.enqueue(Post(tuple(sorted(pending))))


def commit_counted(
    store: Store,
    stats: Stats,
    records: Sequence[tuple[int, tuple[bytes, bytes]]],
    missing: Sequence[int] = (),
    *,
    page: tuple[int, int] | None = None,
    day: datetime.date | None = None,
) -> asyncio.Future[int]:
    """`store.commit_records` queued on the store's writer, its newly fetched records counted
    (`harvest/records`) when the write is made: a write outlives a waiter cancelled meanwhile
    (a hedged copy's batch), and the copy committing the same records next finds none new."""
    loop, here = asyncio.get_running_loop(), threading.get_ident()

    def commit() -> int:
        fresh = store.commit_records(records, missing, page=page, day=day)
        if threading.get_ident() == here:
            stats.incr("harvest/records", fresh)
        else:  # on the loop, before the write's own answer is
            loop.call_soon_threadsafe(stats.incr, "harvest/records", fresh)
        return fresh

    return store.run(commit)
