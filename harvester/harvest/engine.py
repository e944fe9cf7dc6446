"""The six steps, pipelined: the only module that knows the order of the stages.

Per chunk of source ids: (1) per-id elink builds the index, (2) committed to the store with the
chunk's new targets claimed, (3) one neighbor_history elink (or an epost of the new targets when
earlier chunks already claimed some, so no target is fetched twice) puts them on the History
server and esearch `#N` checks the entry's size against the index, (4) efetch/esummary pages
by WebEnv, (5) parsed records keyed by uid go to the store, and short pages are completed by
fetching the missing ids directly. (6) The join is the output writer's job.

A fixed pool of workers takes tasks from one priority queue (later stages first), so fetching
starts as soon as the first entry exists and every request passes the client's one gate.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from harvester.config import JobConfig
from harvester.errors import HistoryExpiredError
from harvester.eutils.client import EutilsClient
from harvester.eutils.pacing import urgent
from harvester.eutils.results import LinkSet, LinkSetHistory, Record
from harvester.harvest.fields import FieldExtractor
from harvester.harvest.page_gaps import lacked
from harvester.harvest.store import Chunk, Entry, Store
from harvester.ncbi import MAX_QUERY_KEYS

RECONCILE, LINK, HISTORY, CHECK, PAGE = range(5)
"""Task priorities, most urgent first: a LINK is only queued when pages run low (see _feed),
and a RECONCILE only once a page's worth of ids lacks a record, or at the tail (_tail_stage)."""
LINKS_AHEAD = 6
"""Chunks being linked at once, ahead of the pages in the queue ..."""
DEFERRED_CHECKS = 16
"""Size checks held back while pages are queued (the oldest goes out when more wait): neither
an entry's pages nor the confirmation of its missing ids needs its check, so checks sent after
the last pages fill the time their answers take instead of pushing the last pages later."""
DEFERRED_SHORT_PAGES = 16
"""Entries' short last pages held back the same way, and released before the checks, largest
first: they answer sooner than full pages, so the last full pages go out earlier and the
by-id confirmation that has to wait for every page's answer starts sooner."""
LINKS_IN_FLIGHT = 100_000
"""... as long as their parsed elink answers hold about this many links in all, so memory is
bounded by this, not by how many links each source has."""
KEY_MARGIN = 10
"""Start a fresh WebEnv this many query keys before NCBI's practical limit."""


@dataclass(order=True)
class _Task:
    priority: int
    seq: int
    run: Callable[[], Awaitable[None]] = field(compare=False)


class Harvest:
    """Runs (or resumes) one job against one client and one store."""

    def __init__(self, job: JobConfig, store: Store, client: EutilsClient) -> None:
        self.job, self.store, self.client = job, store, client
        self.stats = client.stats
        self.links = {name: i for i, name in enumerate(job.linknames)}
        self.extractor = FieldExtractor(job.fields)
        self.queue: asyncio.PriorityQueue[_Task] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self.pages_left: dict[int, set[int]] = {}
        self.modes: dict[str, int] = {}
        self.unlinked: collections.deque[Chunk] = collections.deque()
        self.linking = 0
        self.pages_queued = 0
        self.awaiting: dict[int, Entry] = {}
        """Entries whose pages are all in, until their ids without a record are confirmed."""
        self.to_confirm: set[int] = set()
        """Ids a page lacked (page_gaps.py) or an entry in `awaiting` lacks, not asked yet."""
        self.confirming: set[int] = set()
        """Ids being asked by id now."""
        self.reconcile_queued = False
        self.tail_confirmed = -1
        """The last stage of the tail (see _tail_stage) whose known gaps were confirmed."""
        self.entry_ids: dict[int, list[int]] = {}
        """An open entry's ids, ascending, to place its pages by (page_gaps.py)."""
        self.pages_running = 0
        self.confirming_listener: Callable[[list[int]], None] | None = None
        """Told the ids that will be confirmed by id (no page brings them): the early output
        writes a chunk whose pending targets are all such ids."""
        self.open_tasks: collections.Counter[int] = collections.Counter()
        """Tasks queued or running, by priority."""
        self.unchecked: set[int] = set()
        """Entries whose size check has not answered yet."""
        self.reconciled: set[int] = set()
        """Entries whose missing ids are confirmed, done once their check is in too."""
        self.deferred_checks: collections.deque[Entry] = collections.deque()
        self.deferred_pages: collections.deque[tuple[Entry, int, int]] = collections.deque()
        """Held-back short pages: (entry, retstart, ids it asks for)."""
        self.webenv: str | None = None
        self.keys_used = 0
        self.fetching_done = asyncio.Event()
        """Set once nothing is left to fetch but confirmations (and checks): the output can
        be written early (see early_output.py)."""

    # -- scheduling ------------------------------------------------------------------------
    def _put(self, priority: int, run: Callable[[], Awaitable[None]]) -> None:
        self.open_tasks[priority] += 1
        self.queue.put_nowait(_Task(priority, next(self._seq), run))

    def plan_from_store(self) -> None:
        """Queue whatever the store says is not done yet (everything, on a fresh job)."""
        for chunk in self.store.chunks():
            if not chunk.linked:
                self.unlinked.append(chunk)
            elif chunk.mode in ("history", "post") and not self.store.chunk_has_entries(
                chunk.chunk
            ):
                self._put(HISTORY, functools.partial(self.history, chunk.chunk, chunk.mode or ""))
        for entry in self.store.entries(("open",)):
            self._start_entry(entry)
        self._feed()

    def _feed(self) -> None:
        """Queue the next chunks' elinks once the queued pages would keep the gate busy for
        less than an elink's round trip, so the gate never idles between chunks."""
        lookahead = 2 * self.job.concurrency
        linked = self.stats.get("harvest/chunks_linked")
        per_chunk = self.stats.get("harvest/links") / linked if linked else 0
        ahead = (
            LINKS_AHEAD
            if not per_chunk
            else max(1, min(LINKS_AHEAD, int(LINKS_IN_FLIGHT // per_chunk)))
        )
        while self.unlinked and self.linking < ahead and self.pages_queued < lookahead:
            self.linking += 1
            self._put(LINK, functools.partial(self.link, self.unlinked.popleft()))

    async def run(self) -> None:
        """Work until the queue is empty; the first unrecoverable error stops every worker."""
        self.plan_from_store()
        workers = [asyncio.create_task(self._worker()) for _ in range(self.job.concurrency)]
        joined = asyncio.create_task(self.queue.join())
        try:
            done, _ = await asyncio.wait([joined, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not joined:
                    task.result()  # a worker only ends by raising
        finally:
            for task in [joined, *workers]:
                task.cancel()
            await asyncio.gather(joined, *workers, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            task = await self.queue.get()
            if self.queue.empty():  # the gate would idle: held-back work goes now
                self._release_held_back()
            ok = False
            try:
                await task.run()
                ok = True
            finally:
                self.open_tasks[task.priority] -= 1
                if ok and self._nothing_left_to_fetch():
                    for entry in self.awaiting.values():  # no page can bring more
                        self._want_confirmed(self._pending_of(entry))
                    if self.to_confirm:
                        self._queue_reconcile()  # confirm the rest
                    self.fetching_done.set()
                self.queue.task_done()

    def _release_held_back(self) -> None:
        """The short pages first, largest first; the size checks once those are taken."""
        if self.deferred_pages:
            for entry, retstart, _size in sorted(self.deferred_pages, key=lambda p: -p[2]):
                self._put_page(entry, retstart)
            self.deferred_pages.clear()
        else:
            while self.deferred_checks:
                self._release_check()

    def _tail_stage(self) -> int | None:
        """None before every page is sent; then 0 while pages are out, 1 with one page left,
        2 with none. The gaps known at each stage are confirmed then, so the last confirmation,
        which waits for the slowest page, asks only for the few ids that page lacked."""
        if self.unlinked or self.deferred_pages or self.pages_queued:
            return None
        if self.open_tasks[LINK] or self.open_tasks[HISTORY]:
            return None
        return 2 if not self.pages_running else 1 if self.pages_running == 1 else 0

    def _nothing_left_to_fetch(self) -> bool:
        """No chunk, history request or page is waiting, held back or running (size checks
        may be: they rarely add pages, and then those pages are confirmed in turn)."""
        return not (
            self.unlinked
            or self.deferred_pages
            or self.open_tasks[LINK]
            or self.open_tasks[HISTORY]
            or self.open_tasks[PAGE]
        )

    # -- step 1-2: per-id elink, the index -------------------------------------------------
    async def link(self, chunk: Chunk) -> None:
        try:
            await self._link(chunk)
        finally:
            self.linking -= 1
            self._feed()

    async def _link(self, chunk: Chunk) -> None:
        ids = self.store.chunk_sources(chunk)
        speculate = self._speculating()
        if speculate:  # neighbor_history does not need the index: send it alongside
            links_task, history_task = self._index_request(ids), self._history_request(ids)
            items, early = await asyncio.gather(links_task, history_task)
        else:
            items, early = await self._index_request(ids), None
        wanted = set(ids)
        statuses = dict.fromkeys(ids, "unknown")  # ids NCBI drops are unknown to it
        edges: list[tuple[int, int, int, int, int | None]] = []
        for item in items:
            if not isinstance(item, LinkSet) or len(item.ids) != 1 or not item.ids[0].isdigit():
                continue
            source = int(item.ids[0])
            if source not in wanted:
                continue
            if item.error:
                statuses[source] = "unknown"
                continue
            count = 0
            for db in item.dbs:
                link = self.links.get(db.linkname)
                if link is None:
                    continue
                scores = db.scores or ()
                for rank, target in enumerate(db.links):
                    score = scores[rank] if rank < len(scores) else None
                    edges.append((source, link, rank, int(target), score))
                    count += 1
            statuses[source] = "linked" if count else "no_links"
        mode, claimed = self.store.commit_links(chunk.chunk, statuses, edges)
        self.stats.incr("harvest/chunks_linked")
        self.stats.incr("harvest/targets", claimed)
        self.stats.incr("harvest/links", len(edges))
        self.modes[mode] = self.modes.get(mode, 0) + 1
        if mode == "history" and early is not None:
            await self._entries_from_history(chunk.chunk, early)
        elif mode != "none":
            if early is not None:
                self.stats.incr("harvest/speculation_unused")
            self._put(HISTORY, functools.partial(self.history, chunk.chunk, mode))

    def _speculating(self) -> bool:
        """Send neighbor_history with the per-id elink while chunks mostly bring new targets;
        stop once a third of them overlap earlier chunks (their early entries go unused)."""
        linked = sum(self.modes.values())
        return linked < 3 or self.modes.get("post", 0) * 3 < linked

    def _index_request(self, ids: list[int]) -> Awaitable[list[Any]]:
        return self.client.elink(
            self.job.dbfrom,
            [str(i) for i in ids],
            db=self.job.db,
            linkname=",".join(self.job.linknames),
            cmd=self.job.cmd,
            per_id=True,
        )

    async def _history_request(self, ids: list[int]) -> LinkSetHistory | None:
        items = await self.client.elink(
            self.job.dbfrom,
            [str(i) for i in ids],
            db=self.job.db,
            linkname=",".join(self.job.linknames),
            cmd="neighbor_history",
            per_id=False,
            webenv=self._webenv_for_new_keys(len(self.job.linknames)),
        )
        found = next((i for i in items if isinstance(i, LinkSetHistory)), None)
        if found is not None:
            self._adopt(found.webenv, len(found.histories))
        return found

    # -- step 3: targets onto the History server, size checked -----------------------------
    def _webenv_for_new_keys(self, needed: int) -> str | None:
        if self.keys_used + needed > MAX_QUERY_KEYS - KEY_MARGIN:
            self.webenv, self.keys_used = None, 0
        return self.webenv

    def _adopt(self, webenv: str, keys: int) -> None:
        if webenv != self.webenv:
            self.webenv, self.keys_used = webenv, 0
        self.keys_used += keys

    async def history(self, chunk: int, mode: str) -> None:
        if mode == "post":
            await self._post(chunk, None, self.store.chunk_targets(chunk))
            return
        chunk_row = next(c for c in self.store.chunks() if c.chunk == chunk)
        found = await self._history_request(self.store.chunk_sources(chunk_row))
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
                f"{self.job.linknames[link]}; posting its targets instead"
            )
            await self._post(chunk, link, self.store.chunk_targets(chunk, link))
        for entry in self.store.add_entries(rows):
            self._start_entry(entry)
        self.stats.incr("harvest/entries", len(rows))

    async def _post(self, chunk: int, link: int | None, targets: list[int]) -> None:
        if not targets:
            return
        posted = await self.client.epost(
            self.job.db, [str(t) for t in targets], webenv=self._webenv_for_new_keys(1)
        )
        self._adopt(posted.webenv, 1)
        for entry in self.store.add_entries(
            [(chunk, link, posted.webenv, posted.query_key, len(targets))]
        ):
            self._start_entry(entry)
        self.stats.incr("harvest/entries")

    def _start_entry(self, entry: Entry) -> None:
        """Fetch an entry's pages at once, sized by the index; its size check is held back
        (DEFERRED_CHECKS) and adds pages if NCBI holds more than the index says. The entry is
        done once its missing ids are confirmed and its check is in, in either order."""
        if entry.reported is None:
            self.unchecked.add(entry.entry)
            self._queue_pages(entry, entry.expected)
            self.deferred_checks.append(entry)
            if len(self.deferred_checks) > DEFERRED_CHECKS or not self.pages_queued:
                self._release_check()
        else:
            self._queue_pages(entry, max(entry.reported, entry.expected))

    def _release_check(self) -> None:
        """Queue the oldest held-back size check."""
        self._put(CHECK, functools.partial(self.check, self.deferred_checks.popleft()))

    async def check(self, entry: Entry) -> None:
        try:
            found = await self.client.esearch(
                self.job.db, f"#{entry.query_key}", webenv=entry.webenv, retmax=0
            )
        except HistoryExpiredError:
            await self.rebuild(entry)
            return
        self.unchecked.discard(entry.entry)
        self.store.set_reported(entry.entry, found.count)
        if found.count != entry.expected:
            self.entry_ids[entry.entry] = []  # its pages cannot be placed by the index
            self.stats.incr("check/mismatch")
            self.store.note(
                f"entry {entry.query_key} of chunk {entry.chunk} holds "
                f"{found.count} ids, the index says {entry.expected}"
            )
        left = self.pages_left.setdefault(entry.entry, set())
        page = self.job.fetch.page_size
        for retstart in range(0, found.count, page):
            if retstart >= entry.expected and retstart not in left:
                left.add(retstart)
                self._put_page(entry, retstart)
        if entry.entry in self.reconciled and not left:
            self._finish(entry)

    # -- step 4-5: pages, reconciliation, rebuilding ---------------------------------------
    def _queue_pages(self, entry: Entry, size: int) -> None:
        page = self.job.fetch.page_size
        left = set(range(0, size, page)) - self.store.done_pages(entry.entry)
        self.pages_left[entry.entry] = left
        for retstart in sorted(left):
            if retstart + page > size:
                self._hold_short_page(entry, retstart, size - retstart)
            else:
                self._put_page(entry, retstart)
        if not left:
            self._await_reconcile(entry)

    def _hold_short_page(self, entry: Entry, retstart: int, size: int) -> None:
        """Hold an entry's short last page back (DEFERRED_SHORT_PAGES) while pages are queued."""
        self.deferred_pages.append((entry, retstart, size))
        if len(self.deferred_pages) > DEFERRED_SHORT_PAGES or not self.pages_queued:
            held, start, _ = self.deferred_pages.popleft()
            self._put_page(held, start)

    def _await_reconcile(self, entry: Entry) -> None:
        """The entry's pages are all in: whatever it still lacks is confirmed by id, with the
        other entries' (see _want_confirmed), and the entry is settled once none is left."""
        self.reconciled.discard(entry.entry)
        self.awaiting[entry.entry] = entry
        self.entry_ids[entry.entry] = []  # no page of it is out: its ids need not be held
        pending = self._pending_of(entry)
        if pending:
            self._want_confirmed(pending)
        elif not self.store.count_pending(entry.chunk, entry.link):
            self._settle(entry)
        # else its last ids are being asked: reconcile settles it when they are in

    def _pending_of(self, entry: Entry) -> list[int]:
        """The entry's ids still without a record that are not being asked by id already."""
        pending = self.store.chunk_targets(entry.chunk, entry.link, pending_only=True)
        return [uid for uid in pending if uid not in self.confirming]

    def _want_confirmed(self, uids: list[int]) -> None:
        """Batch ids to confirm by id: a request's worth at once, the rest at the tail's stages
        or once nothing is left to fetch (see _worker), so confirming costs few requests."""
        self.to_confirm.update(uids)
        if uids and self.confirming_listener is not None:
            self.confirming_listener(uids)
        stage = self._tail_stage()
        if len(self.to_confirm) >= self.job.fetch.page_size:
            self._queue_reconcile()
        elif self.to_confirm and stage is not None and stage > self.tail_confirmed:
            self.tail_confirmed = stage
            self._queue_reconcile()

    def _queue_reconcile(self) -> None:
        if not self.reconcile_queued:
            self.reconcile_queued = True
            self._put(RECONCILE, self.reconcile)

    def _settle(self, entry: Entry) -> None:
        """An awaiting entry without pending ids is done, or will be once its check is in."""
        del self.awaiting[entry.entry]
        if entry.entry in self.unchecked or self.pages_left.get(entry.entry):
            self.reconciled.add(entry.entry)  # done when its check (or its pages) are in
        else:
            self._finish(entry)

    def _finish(self, entry: Entry) -> None:
        self.reconciled.discard(entry.entry)
        self.entry_ids.pop(entry.entry, None)
        self.store.set_entry_state(entry.entry, "done")

    def _put_page(self, entry: Entry, retstart: int) -> None:
        self.pages_queued += 1
        self._put(PAGE, functools.partial(self.page, entry, retstart))

    def _page_done(self, entry: Entry, retstart: int) -> None:
        left = self.pages_left.get(entry.entry, set())
        left.discard(retstart)
        if not left:
            self._await_reconcile(entry)

    def _records(
        self,
        ids: list[str] | None = None,
        webenv: str | None = None,
        query_key: str | None = None,
        retstart: int | None = None,
        retmax: int | None = None,
    ) -> AsyncIterator[Record]:
        fetch = self.job.fetch
        if fetch.via == "esummary":
            return self.client.esummary(
                self.job.db,
                ids=ids,
                webenv=webenv,
                query_key=query_key,
                retstart=retstart,
                retmax=retmax,
                version=fetch.version,
                retmode=fetch.retmode or "xml",
            )
        return self.client.efetch(
            self.job.db,
            ids=ids,
            webenv=webenv,
            query_key=query_key,
            retstart=retstart,
            retmax=retmax,
            rettype=fetch.rettype,
            retmode=fetch.retmode,
        )

    async def _fetch(
        self,
        ids: list[str] | None = None,
        webenv: str | None = None,
        query_key: str | None = None,
        retstart: int | None = None,
        retmax: int | None = None,
    ) -> tuple[list[tuple[int, bytes]], list[int]]:
        good: list[tuple[int, bytes]] = []
        missing: list[int] = []
        async for record in self._records(ids, webenv, query_key, retstart, retmax):
            if not record.uid.isdigit():
                continue
            if record.error:
                missing.append(int(record.uid))
            else:
                good.append((int(record.uid), self.extractor.encode(record)))
        return good, missing

    async def page(self, entry: Entry, retstart: int) -> None:
        self.pages_queued -= 1
        self._feed()
        if self.store.entry(entry.entry).state != "open":
            return
        self.pages_running += 1
        self._want_confirmed([])  # the last page to go out opens the tail
        try:
            try:
                good, missing = await self._fetch(
                    webenv=entry.webenv,
                    query_key=entry.query_key,
                    retstart=retstart,
                    retmax=self.job.fetch.page_size,
                )
            finally:
                self.pages_running -= 1
        except HistoryExpiredError:
            await self.rebuild(entry)
            return
        fresh = self.store.commit_records(good, missing, page=(entry.entry, retstart))
        self.stats.incr("harvest/records", fresh)
        returned = [uid for uid, _ in good] + missing
        gaps = lacked(self._ids_of(entry), retstart, self.job.fetch.page_size, returned)
        self.stats.incr("harvest/gaps", len(gaps))
        self._page_done(entry, retstart)
        self._want_confirmed(gaps)

    def _ids_of(self, entry: Entry) -> list[int]:
        """The entry's ids from the index, or [] when the entry holds only some of them (one
        posted again after its WebEnv expired) or NCBI said it holds another number."""
        ids = self.entry_ids.get(entry.entry)
        if ids is None:
            ids = self.store.chunk_targets(entry.chunk, entry.link)
            if len(ids) != entry.expected:
                ids = []
            self.entry_ids[entry.entry] = ids
        return ids

    async def reconcile(self) -> None:
        """Fetch by id whatever pages did not bring, batched across entries; what still lacks
        a record is missing at NCBI (withdrawn, merged) and is marked so. Then settle the
        awaiting entries left without pending ids."""
        self.reconcile_queued = False
        asked = self.store.pending_among(sorted(self.to_confirm - self.confirming))
        self.to_confirm.clear()
        self.confirming.update(asked)
        page = self.job.fetch.page_size
        try:
            await asyncio.gather(
                *(
                    self._confirm(asked[start : start + page])
                    for start in range(0, len(asked), page)
                )
            )
        finally:
            self.confirming.difference_update(asked)
        for entry in list(self.awaiting.values()):  # rebuild drops replaced ones from it
            if not self.store.count_pending(entry.chunk, entry.link):
                self._settle(entry)

    async def _confirm(self, uids: list[int]) -> None:
        """Fetch one batch of ids without a record, and mark what is still absent missing."""
        # An id is missing once two answers lack it: the page that should have held it and
        # this by-id fetch. Withdrawn ids are the usual cause, and then the fetch finds none of
        # them. When it finds some, the page was short (a backend hiccup, not withdrawn
        # records) and this answer may be short too, so what it lacks is asked once more.
        # The end of the run waits on these, and nothing waits on a check: they go ahead of
        # the checks and pages waiting at the gate.
        found: dict[int, bytes] = {}
        said: set[int] = set()
        asking = [str(t) for t in uids]
        for _ in range(2):
            with urgent():
                good, missing = await self._fetch(ids=asking)
            found.update(good)
            said.update(missing)
            asking = [str(t) for t in uids if t not in found and t not in said]
            if not good or not asking:
                break
        absent = [t for t in uids if t not in found and t not in said]
        self.stats.incr("harvest/refetched", len(found))
        fresh = self.store.commit_records(list(found.items()), [*said, *absent])
        self.stats.incr("harvest/records", fresh)

    async def rebuild(self, entry: Entry) -> None:
        """The entry expired, and with it (as NCBI expires a WebEnv whole) every open entry of
        its WebEnv: post just their targets still missing and fetch those. Requests still
        reading that WebEnv stop at their next attempt instead of retrying to the same end."""
        if self.store.entry(entry.entry).state != "open":
            return
        self.client.history_lost(entry.webenv)
        if self.webenv == entry.webenv:
            self.webenv, self.keys_used = None, 0
        lost = [e for e in self.store.entries(("open",)) if e.webenv == entry.webenv]
        for gone in lost:  # all marked before any await: their other failures return at once
            self.store.set_entry_state(gone.entry, "replaced")
            self.awaiting.pop(gone.entry, None)
            self.entry_ids.pop(gone.entry, None)
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
