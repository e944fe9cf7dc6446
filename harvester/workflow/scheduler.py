"""What the harvest runs next: every ordering policy in one place, behind enqueue / next / done.

The engine says what work exists and when each piece is done; the scheduler alone decides the
order, from counts of its own (never the reporting counters of stats.py):

- priorities, most urgent first: confirmations by id (the end of the run waits on them), elinks,
  History requests and posts, size checks, pages; first come, first served within one;
- lookahead: a chunk's elink is queued only while few pages are queued (so the gate never idles
  between chunks, yet the index grows no faster than it is fetched) and few chunks' links are
  held in memory at once;
- held back while pages are queued, released when the queue runs dry: entries' short last pages
  (largest first), then size checks (the oldest goes early once too many wait);
- confirmation batching: ids to confirm go out a request's worth at once, else at each stage of
  the tail (the last page sent, one page left, none), or at once when nothing is left to fetch;
  ids a by-id answer lacked join the next batch, and at the end wait for the batches still out;
- post pooling: targets without a History entry of their own are pooled across chunks and
  posted in whole pages of the size planned then (the oldest first) once a job's page size's
  worth waits, the rest once linking ends, so each is posted once and fetched in full pages.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harvester.workflow.states import Posting
from harvester.workflow.store import Chunk, Entry

LINKS_AHEAD = 6
"""Chunks being linked at once, ahead of the pages in the queue ..."""
LINKS_IN_FLIGHT = 100_000
"""... as long as their parsed elink answers hold about this many links in all, so memory is
bounded by this, not by how many links each source has."""
HELD_CHECKS = 16
"""Size checks held back while pages are queued: neither an entry's pages nor the confirmation
of its missing ids needs its check, so checks sent after the last pages fill the time their
answers take instead of pushing the last pages later."""
HELD_SHORT_PAGES = 16
"""Entries' short last pages held back the same way, and released before the checks, largest
first: they answer sooner than full pages, so the last full pages go out earlier and the
confirmation that has to wait for every page's answer starts sooner."""


@dataclass(frozen=True, slots=True)
class Link:
    """Steps 1-2: the per-id elink of one chunk of source ids, committed as the index."""

    chunk: Chunk


@dataclass(frozen=True, slots=True)
class History:
    """Step 3: a linked chunk's new targets put on the History server (`mode`: history or post)."""

    chunk: int
    mode: Posting


@dataclass(frozen=True, slots=True)
class Check:
    """Step 3: an entry's size check against the index (esearch #N)."""

    entry: Entry


@dataclass(frozen=True, slots=True)
class Page:
    """Steps 4-5: one page of an entry, at `retstart`, asking for `size` ids."""

    entry: Entry
    retstart: int
    size: int


@dataclass(frozen=True, slots=True)
class Confirm:
    """Step 5: ids no page brought, fetched by id. Enqueued with the ids wanted; handed out
    with the batch to ask now."""

    uids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Post:
    """Step 3: targets pooled across chunks, put on the History server by one epost. Enqueued
    with the ids to pool; handed out with the ids to post now and the page size they were
    counted in whole pages of, which their entry is paged at (None: the pool's rest, planned
    when its entry starts, with what is known by then)."""

    uids: tuple[int, ...]
    page_size: int | None = None


Work = Link | History | Post | Check | Page | Confirm
PRIORITY: dict[type[Work], int] = {Confirm: 0, Link: 1, History: 2, Post: 2, Check: 3, Page: 4}
"""Most urgent first."""


@dataclass(order=True, frozen=True, slots=True)
class _Queued:
    priority: int
    seq: int
    work: Work = field(compare=False)


class Scheduler:
    """Holds the harvest's work and hands it out in order to a pool of `concurrency` workers
    (a number, or what the concurrency controller allows at the moment)."""

    def __init__(
        self,
        concurrency: int | Callable[[], int],
        page_size: int,
        checks_confirm: bool = False,
        plan: Callable[[], int] | None = None,
    ) -> None:
        """`plan`: the page size of an entry starting now (page_plan.py), which pooled posts
        are cut in whole pages of (as many as the job's `page_size` ids make, so no more
        eposts go out than with pages of that size); `page_size` itself if None."""
        self._workers = concurrency if callable(concurrency) else lambda: concurrency
        self._page_size = page_size
        self._plan = plan or (lambda: page_size)
        self._checks_confirm = checks_confirm
        """Whether checks bring ids to confirm (a refresh's mdat questions, known_entries.py):
        then the tail waits for them too, so their ids go out together, not one set's each."""
        self._ready: asyncio.PriorityQueue[_Queued] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self._queued: collections.Counter[type[Work]] = collections.Counter()
        self._running: collections.Counter[type[Work]] = collections.Counter()
        self._unlinked: collections.deque[Link] = collections.deque()
        self._short_pages: list[Page] = []
        self._checks: collections.deque[Check] = collections.deque()
        self._to_confirm: set[int] = set()
        self._confirming: set[int] = set()
        self._asked_again: set[int] = set()
        """Ids waiting to be confirmed that one by-id answer lacked already (lacking.py)."""
        self._confirm_queued = False
        self._tail_confirmed = -1
        """The last stage of the tail (see _tail_stage) at which the known gaps were asked."""
        self._to_post: dict[int, None] = {}
        """Pooled targets, oldest first (a dict keeps the order and each id once)."""
        self._post_queued = False
        self._set_aside: collections.Counter[type[Work]] = collections.Counter()
        """Work failed and waiting to be queued again (`later`)."""
        self._blind_speculation = True
        """Whether the first chunk may still send its neighbor_history before any is linked."""
        self._chunks_linked = 0
        self._chunks_posted = 0
        self._links = 0

    # -- the interface -----------------------------------------------------------------------
    def enqueue(self, work: Work) -> None:
        """Add work; it runs when the policies say (a Confirm's ids are batched)."""
        match work:
            case Link():
                self._unlinked.append(work)
                self._feed()
            case Check():
                self._checks.append(work)
                if len(self._checks) > HELD_CHECKS or not self._queued[Page]:
                    self._put(self._checks.popleft())
            case Page() if work.size < (work.entry.page_size or self._page_size):
                self._short_pages.append(work)
                if len(self._short_pages) > HELD_SHORT_PAGES or not self._queued[Page]:
                    self._put(self._short_pages.pop(0))
            case Confirm():
                self._to_confirm.update(u for u in work.uids if u not in self._confirming)
                self._confirm_if_due()
            case Post():
                self._to_post.update(dict.fromkeys(work.uids))
                self._post_if_due()
            case _:
                self._put(work)

    async def next(self) -> Work:
        """The most urgent work, waiting for some if none is queued."""
        return self._take(await self._ready.get())

    def next_nowait(self) -> Work | None:
        """The most urgent work, or None if none is queued now."""
        try:
            return self._take(self._ready.get_nowait())
        except asyncio.QueueEmpty:
            return None

    def done(self, work: Work) -> None:
        """Work handed out by `next` has finished."""
        self._running[type(work)] -= 1
        if isinstance(work, Link):
            self._feed()
        elif isinstance(work, Confirm):
            self._confirming.difference_update(work.uids)
        self._post_if_due()  # the last chunk linked: the pool goes, before the queue drains
        self._confirm_if_due()
        self._ready.task_done()

    def confirm_again(self, uids: Iterable[int]) -> None:
        """Ids a running confirmation's answer lacked, to ask once more: they join the next
        batch (queued once this one is done, or when a batch is due anyway)."""
        uids = set(uids)
        self._confirming.difference_update(uids)
        self._to_confirm.update(uids)
        self._asked_again.update(uids)

    def later(self, work: Work, delay: float) -> None:
        """Work handed out by `next` failed: it is queued again after `delay` seconds, and
        until then the harvest is not drained."""
        self._running[type(work)] -= 1
        if isinstance(work, Confirm):
            self._confirming.difference_update(work.uids)
        self._set_aside[type(work)] += 1
        self._feed()
        self._confirm_if_due()
        asyncio.get_running_loop().call_later(delay, self._again, work)

    def _again(self, work: Work) -> None:
        self._set_aside[type(work)] -= 1
        self.enqueue(work)
        self._ready.task_done()  # the failed round's; enqueue counted the new one

    def has_ready(self) -> bool:
        """Whether work is queued for the next worker."""
        return not self._ready.empty()

    async def drained(self) -> None:
        """Return once every piece of work enqueued is done."""
        await self._ready.join()

    def linked(self, mode: Posting, links: int) -> None:
        """A chunk's index is stored: it held `links` links, its targets go on by `mode`."""
        self._chunks_linked += 1
        self._chunks_posted += mode == Posting.POST
        self._links += links

    def speculate(self) -> bool:
        """Whether to send a chunk's neighbor_history alongside its per-id elink: for the first
        chunk (nothing is known yet), then while chunks mostly bring a page or more of new
        targets each; not once a third of them were pooled (their History entries go unused)."""
        if not self._chunks_linked:
            blind, self._blind_speculation = self._blind_speculation, False
            return blind
        return self._chunks_posted * 3 < self._chunks_linked

    def any_linked(self) -> bool:
        """Whether some chunk's index is in (what is known then decides speculation)."""
        return self._chunks_linked > 0

    # -- policies ----------------------------------------------------------------------------
    def _put(self, work: Work) -> None:
        self._queued[type(work)] += 1
        self._ready.put_nowait(_Queued(PRIORITY[type(work)], next(self._seq), work))

    def _take(self, queued: _Queued) -> Work:
        if self._ready.empty():  # the gate would idle: held-back work goes now
            self._release_held_back()
        work = queued.work
        self._queued[type(work)] -= 1
        self._running[type(work)] += 1
        if isinstance(work, Page):
            self._feed()
            self._confirm_if_due()  # the last page to go out opens the tail
        elif isinstance(work, Confirm):
            work = self._confirm_batch()
        elif isinstance(work, Post):
            work = self._post_batch()
        return work

    def _feed(self) -> None:
        """Queue the next chunks' elinks once the queued pages would keep the gate busy for
        less than an elink's round trip."""
        per_chunk = self._links / self._chunks_linked if self._chunks_linked else 0
        ahead = (
            LINKS_AHEAD
            if not per_chunk
            else max(1, min(LINKS_AHEAD, int(LINKS_IN_FLIGHT // per_chunk)))
        )
        lookahead = 2 * self._workers()  # pages queued below which the next chunks are linked
        while self._unlinked and self._open(Link) < ahead and self._queued[Page] < lookahead:
            self._put(self._unlinked.popleft())

    def _release_held_back(self) -> None:
        """The short pages first, largest first; the size checks once those are taken."""
        if self._short_pages:
            for page in sorted(self._short_pages, key=lambda p: -p.size):
                self._put(page)
            self._short_pages.clear()
        else:
            while self._checks:
                self._put(self._checks.popleft())

    def _open(self, kind: type[Work]) -> int:
        return self._queued[kind] + self._running[kind]

    def _tail_stage(self) -> int | None:
        """None before every page is sent; then 0 while pages are out, 1 with one page left,
        2 with none. The gaps known at each stage are confirmed then, so the last confirmation,
        which waits for the slowest page, asks only for the few ids that page lacked."""
        if self._unlinked or self._short_pages or self._queued[Page] or self._to_post:
            return None
        if self._open(Link) or self._open(History) or self._open(Post) or self._checks_open():
            return None
        running = self._running[Page]
        return 2 if not running else 1 if running == 1 else 0

    def _nothing_left_to_fetch(self) -> bool:
        """No chunk, History request or page is waiting, held back or running (size checks
        may be: they rarely add pages, and then those pages are confirmed in turn)."""
        return not (
            self._unlinked
            or self._short_pages
            or self._to_post
            or self._open(Link)
            or self._open(History)
            or self._open(Post)
            or self._open(Page)
            or self._checks_open()
        )

    def _checks_open(self) -> bool:
        """Checks held, queued or running, when they bring ids to confirm."""
        return self._checks_confirm and bool(self._checks or self._open(Check))

    def _confirm_if_due(self) -> None:
        """Ask the ids waiting to be confirmed when a request's worth waits, the tail reaches a
        new stage, or nothing is left to fetch; so confirming costs few requests."""
        if not self._to_confirm:
            return
        stage = self._tail_stage()
        if len(self._to_confirm) >= self._page_size:
            self._queue_confirm()
        elif self._only_asked_again_while_confirming():
            return  # they go with what the confirmations out lack, once those are in
        elif stage is not None and stage > self._tail_confirmed:
            self._tail_confirmed = stage
            self._queue_confirm()
        elif self._nothing_left_to_fetch():
            self._queue_confirm()

    def _only_asked_again_while_confirming(self) -> bool:
        """Only ids to ask once more wait while confirmations are out: they wait for what
        those lack, to go in one request."""
        return bool(self._running[Confirm]) and self._to_confirm <= self._asked_again

    def _queue_confirm(self) -> None:
        if not self._confirm_queued:
            self._confirm_queued = True
            self._put(Confirm(()))

    def _confirm_batch(self) -> Confirm:
        """The ids to ask now: all those waiting that are not being asked already."""
        self._confirm_queued = False
        uids = sorted(self._to_confirm - self._confirming)
        whole = len(uids) // self._page_size * self._page_size
        if self._checks_confirm and whole and not self._nothing_left_to_fetch():
            uids = uids[:whole]  # whole pages while more is coming; the rest waits for more
        self._to_confirm.difference_update(uids)
        self._asked_again.difference_update(uids)
        self._confirming.update(uids)
        return Confirm(tuple(uids))

    def _linking_over(self) -> bool:
        """No chunk is waiting for, or in, its elink or its neighbor_history (set aside
        included): no target will join the pool from a chunk's links any more."""
        return not (
            self._unlinked
            or any(self._open(kind) + self._set_aside[kind] for kind in (Link, History))
        )

    def _post_if_due(self) -> None:
        """Post the pool once a page's worth waits, or whatever waits once linking is over."""
        if not self._to_post or self._post_queued:
            return
        if len(self._to_post) >= self._page_size or self._linking_over():
            self._post_queued = True
            self._put(Post(()))

    def _post_batch(self) -> Post:
        """The ids to post now: the oldest whole pages of the pool (of the size planned now; a
        job's page size's worth at least, `_post_if_due`), or all of it once linking is over,
        so only the job's last pooled entry ends in a short page."""
        self._post_queued = False
        size, page = len(self._to_post), self._plan()
        whole = not self._linking_over()
        if whole:
            size -= size % page
        uids = tuple(itertools.islice(self._to_post, size))
        for uid in uids:
            del self._to_post[uid]
        return Post(uids, page if whole else None)  # the rest: planned when its entry starts
