"""The six steps of the index-list workflow (steps.py), as the work a pool of workers runs.

Per chunk of source ids (plan): per-id elink builds the index, committed to the store with the
chunk's new targets claimed (link); one neighbor_history elink (or an epost of the new targets
when earlier chunks already claimed some, so no target is fetched twice) puts them on the
History server and esearch `#N` checks the entry's size against the index (history, whose
bookkeeping is history.py); efetch/esummary pages by WebEnv (fetch); parsed records keyed by
uid go to the store, and the ids no page brought are confirmed by fetching them directly
(key). The join is the output writer's job (join).

This module says what each piece of work does and what work it adds; the scheduler
(scheduler.py) alone says when it runs. Every request passes the client's one gate. How many
workers run at once follows the latency the client sees (slots.py), up to the job's
`concurrency`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from harvester.config import JobConfig
from harvester.errors import HarvesterError, HistoryExpiredError, NcbiTransientError
from harvester.eutils.client import EutilsClient
from harvester.eutils.results import LinkSetHistory
from harvester.workflow.fetching import Fetcher
from harvester.workflow.hedge import HedgePolicy, Hedger
from harvester.workflow.history import Forgetting, OpenEntries
from harvester.workflow.index import index_of, register_new
from harvester.workflow.keyed import UnjoinableRecords
from harvester.workflow.known import KnownRecords
from harvester.workflow.known_entries import KnownEntries
from harvester.workflow.linking import Linker
from harvester.workflow.scheduler import Check, Confirm, History, Link, Page, Scheduler, Work
from harvester.workflow.setaside import SetAside, describe
from harvester.workflow.slots import Slots
from harvester.workflow.states import EntryState, Posting, SourceStatus
from harvester.workflow.store import Chunk, Entry, Store

log = logging.getLogger("harvester")


def _links_held(entries: list[Entry]) -> dict[int, set[int | None]]:
    """By chunk, the link names its open entries hold (None: a post holding them all)."""
    held: dict[int, set[int | None]] = {}
    for entry in entries:
        held.setdefault(entry.chunk, set()).add(entry.link)
    return held


class Harvest:
    """Runs (or resumes) one job against one client and one store."""

    def __init__(
        self,
        job: JobConfig,
        store: Store,
        client: EutilsClient,
        hedge: HedgePolicy | None = None,
        known: KnownRecords | None = None,
    ) -> None:
        """`known`: records already held (a refresh's previous store), fetched only if NCBI
        says they changed (known_entries.py)."""
        self.job, self.store, self.client = job, store, client
        self.stats = client.stats
        self.names = store.linknames() or list(job.linknames)
        """The link names the index numbers: the job's, then (`linkname: all`) those elink
        answered that einfo did not list, as first seen."""
        self.links = {name: i for i, name in enumerate(self.names)}
        self.slots = Slots(client.concurrency, client.gate, self._has_ready, self.stats)
        self.scheduler = Scheduler(self.slots.limit, job.fetch.page_size, known is not None)
        self.hedger = Hedger.for_client(client, hedge)
        self.fetcher = Fetcher(job, client, self.hedger)
        self.linker = Linker(job, client, self.hedger)
        self.entries = (
            OpenEntries(store, self.scheduler, job.fetch.page_size, self.stats)
            if known is None
            else KnownEntries(store, self.scheduler, self.stats, job, known, self.fetcher.extractor)
        )
        self.forgetting = Forgetting()
        self.set_aside = SetAside(client.config.backoff().cap, client.gate.now)
        self.progressed = False
        """Whether any work has succeeded: until then a failure is not set aside (a wrong
        URL or a dead server is reported at once, not after rounds of waiting)."""

    async def run(self) -> None:
        """Work until nothing is left; the first unrecoverable error stops every worker."""
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
        entries = self.store.entries((EntryState.OPEN,))
        held = _links_held(entries)
        for chunk in self.store.chunks():
            if not chunk.linked:
                self.scheduler.enqueue(Link(chunk))
            else:
                self._continue_linked(chunk, held.get(chunk.chunk, set()))
        for entry in entries:
            self.entries.start(entry)

    def _continue_linked(self, chunk: Chunk, held: set[int | None]) -> None:
        """A linked chunk's targets not on their way yet: its History request when it has no
        entry; else, by id, the pending ones of the link names no open entry holds (`held`;
        their post failed after the chunk's links were committed)."""
        if chunk.mode in (Posting.HISTORY, Posting.POST) and not self.store.chunk_has_entries(
            chunk.chunk
        ):
            self.scheduler.enqueue(History(chunk.chunk, chunk.mode))
            return
        if None in held:
            return
        uncovered = [
            uid
            for link in self.store.chunk_link_counts(chunk.chunk)
            if link not in held
            for uid in self.store.chunk_targets(chunk.chunk, link, pending_only=True)
        ]
        if uncovered:
            self.scheduler.enqueue(Confirm(tuple(uncovered)))

    def said_known(self) -> list[str]:
        """The warnings of validating known records (a db NCBI would not answer mdat for)."""
        return self.entries.warnings if isinstance(self.entries, KnownEntries) else []

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
            case History(chunk, mode):
                await self.history(chunk, mode)
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
            held = _links_held(self.store.entries((EntryState.OPEN,)))
            self._continue_linked(stored, held.get(chunk.chunk, set()))
            return
        ids = self.store.chunk_sources(chunk)
        if self.scheduler.speculate():  # neighbor_history does not need the index: send it too
            items, early = await asyncio.gather(self.linker.index(ids), self.linker.history(ids))
        else:
            items, early = await self.linker.index(ids), None
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
        mode, claimed = self.store.commit_links(
            chunk.chunk, statuses, edges, self.names if added else None
        )
        self.scheduler.linked(mode, len(edges))
        self.stats.incr("harvest/chunks_linked")
        self.stats.incr("harvest/targets", claimed)
        self.stats.incr("harvest/links", len(edges))
        if mode == Posting.HISTORY and early is not None:
            await self._entries_from_history(chunk.chunk, early)
        elif mode != Posting.NONE:
            if early is not None:
                self.stats.incr("harvest/speculation_unused")
            self.scheduler.enqueue(History(chunk.chunk, mode))

    def _register(self, items: list[Any]) -> list[str]:
        """With `linkname: all`, the link names elink answered that the job did not know yet
        (numbered after the known ones; stored with the chunk's links)."""
        if not self.job.all_links:
            return []
        added = register_new(items, self.links, self.job.db)
        self.names += added
        return added

    # -- history: targets onto the History server, size checked ----------------------------
    async def history(self, chunk: int, mode: Posting) -> None:
        if mode == Posting.POST:
            await self._post(chunk, None, self.store.chunk_targets(chunk))
            return
        found = await self.linker.history(self.store.chunk_sources(self.store.chunk(chunk)))
        await self._entries_from_history(chunk, found)

    async def _entries_from_history(self, chunk: int, found: LinkSetHistory | None) -> None:
        """Entries for a chunk whose targets are all new, one per link name with targets."""
        counts = self.store.chunk_link_counts(chunk)
        rows = []
        if found is not None:
            for h in found.histories:
                link = self.links.get(h.linkname)
                if link is not None and counts.get(link):
                    rows.append((chunk, link, found.webenv, h.query_key, counts.pop(link)))
        for link in counts:  # NCBI stored nothing for this link name: post its targets
            self.store.note(
                f"chunk {chunk}: neighbor_history gave no entry for "
                f"{self.names[link]}; posting its targets instead"
            )
            await self._post(chunk, link, self.store.chunk_targets(chunk, link))
        for entry in self.store.add_entries(rows):
            self.entries.start(entry)
        self.stats.incr("harvest/entries", len(rows))

    async def _post(self, chunk: int, link: int | None, targets: list[int]) -> None:
        if not targets:
            return
        posted = await self.linker.post(targets)
        for entry in self.store.add_entries(
            [(chunk, link, posted.webenv, posted.query_key, len(targets))]
        ):
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
            await self.rebuild(entry)
            return
        self.entries.checked(entry, found.count)

    # -- fetch and key: pages, confirmation by id, rebuilding ------------------------------
    async def page(self, entry: Entry, retstart: int) -> None:
        if self.store.entry(entry.entry).state != EntryState.OPEN:
            return
        try:
            good, missing = await self.fetcher.page(entry, retstart)
        except HistoryExpiredError:
            await self.rebuild(entry)
            return
        if good and not self.store.count_targets([uid for uid, _ in good]):
            raise UnjoinableRecords(
                f"{self.job.fetch.via} {self.job.db} answered {len(good)} records for "
                f"History entry {entry.query_key} of chunk {entry.chunk}, none keyed by an id "
                f"elink gave (first: {good[0][0]}): their ids and elink's do not match"
            )
        self.forgetting.kept()
        fresh = self.store.commit_records(good, missing, page=(entry.entry, retstart))
        self.stats.incr("harvest/records", fresh)
        gaps = self.entries.page_in(entry, retstart, [uid for uid, _ in good] + missing)
        self.stats.incr("harvest/gaps", len(gaps))
        self.scheduler.enqueue(Confirm(tuple(gaps)))

    async def confirm(self, uids: list[int]) -> None:
        """Fetch by id whatever pages did not bring, batched across entries; what still lacks
        a record is missing at NCBI (withdrawn, merged) and is marked so. Then settle the
        awaiting entries left without pending ids."""
        asked = self.store.pending_among(uids)
        page = self.job.fetch.page_size
        await asyncio.gather(
            *(self._confirm(asked[start : start + page]) for start in range(0, len(asked), page))
        )
        self.entries.settle_awaiting()

    async def _confirm(self, uids: list[int]) -> None:
        found, missing = await self.fetcher.confirm(uids)
        self.stats.incr("harvest/refetched", len(found))
        fresh = self.store.commit_records(list(found.items()), missing)
        self.stats.incr("harvest/records", fresh)

    async def rebuild(self, entry: Entry) -> None:
        """The entry expired, and with it (as NCBI expires a WebEnv whole) every open entry of
        its WebEnv: post just their targets still missing and fetch those. Requests still
        reading that WebEnv stop at their next attempt instead of retrying to the same end."""
        if self.store.entry(entry.entry).state != EntryState.OPEN:
            return
        self.linker.lost(entry.webenv)  # its other reads fail without a request from now on
        self.forgetting.lost(self.client.gate.now(), self.set_aside.pause)
        lost = [e for e in self.store.entries((EntryState.OPEN,)) if e.webenv == entry.webenv]
        self.entries.replace(lost)  # all before any await: their other failures return at once
        self.stats.incr("harvest/rebuilt", len(lost))
        await asyncio.gather(
            *(
                self._post(
                    gone.chunk,
                    gone.link,
                    self.store.chunk_targets(gone.chunk, gone.link, pending_only=True),
                )
                for gone in lost
            )
        )
