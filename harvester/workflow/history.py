"""Step `history`'s bookkeeping: what each open History entry still waits for (its pages, its
size check, the confirmation of the ids its pages lacked), when it is done, and how often in a
row the History server lost what it was given. The engine sends the requests; this says what
their answers settle and which work they add."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harvester.errors import NcbiTransientError
from harvester.stats import Stats
from harvester.workflow.lacking import Lacking
from harvester.workflow.page_gaps import lacked
from harvester.workflow.plan import pages
from harvester.workflow.scheduler import Check, Confirm, Page, Scheduler
from harvester.workflow.states import EntryState
from harvester.workflow.store import Entry, Store

MAX_REBUILDS = 3
"""WebEnvs lost in a row, no page read in between, before the History server that keeps
forgetting counts as a failure (set aside, then final)."""


class HistoryKeepsExpiring(NcbiTransientError):
    """NCBI lost History entries again and again, none read in between: counted as one
    failure of the History server's, not of each page (each rebuild makes new pages), so the
    rounds, and the requests they cost, stay bounded."""

    key = ("history-lost",)

    def __init__(self, times: int) -> None:
        super().__init__(
            f"NCBI lost the History entries it was given {times} times in a row before a page "
            "of them could be read"
        )


class Forgetting:
    """Counts the WebEnvs lost since a page was last read; past MAX_REBUILDS the History server
    rests for a pause, in which no entry is rebuilt (the rebuild fails without a request)."""

    def __init__(self) -> None:
        self.lost_in_a_row = 0
        self.rests_until = float("-inf")

    def kept(self) -> None:
        """A page was read: the History server keeps what it is given."""
        self.lost_in_a_row = 0

    def lost(self, now: float, pause: float) -> None:
        """A WebEnv was lost at `now`; raises when its entries may not be rebuilt now."""
        if now < self.rests_until:  # it just kept forgetting: no rebuild for a pause
            raise HistoryKeepsExpiring(MAX_REBUILDS)
        self.lost_in_a_row += 1
        if self.lost_in_a_row > MAX_REBUILDS:
            self.lost_in_a_row = 0  # the next round may rebuild again, after the pause
            self.rests_until = now + pause
            raise HistoryKeepsExpiring(MAX_REBUILDS)


class OpenEntries:
    """The open entries' pages, checks and confirmations still out; an entry is done once its
    pages are in, its missing ids are confirmed and its check is in."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        page_size: int,
        stats: Stats,
        plan: Callable[[], int] | None = None,
    ) -> None:
        """`page_size`: the job's, for entries of a store made before entries planned their
        pages; `plan`: the page size for an entry starting now (page_plan.py), else the job's."""
        self.store, self.scheduler, self.page_size, self.stats = store, scheduler, page_size, stats
        self.plan = plan or (lambda: page_size)
        self.pages_left: dict[int, set[int]] = {}
        """An open entry's pages not in yet, by retstart."""
        self.entry_ids: dict[int, list[int]] = {}
        """An open entry's ids, ascending, to place its pages by (page_gaps.py)."""
        self.unchecked: set[int] = set()
        """Entries whose size check has not answered yet."""
        self.awaiting: dict[int, Entry] = {}
        """Entries whose pages are all in, until their ids without a record are confirmed."""
        self.confirmed: set[int] = set()
        """Entries whose missing ids are confirmed, done once their check is in too."""
        self.lacking = Lacking()
        """The ids pages lacked, so a by-id answer lacking them too makes them missing."""

    def start(self, entry: Entry) -> None:
        """Fetch an entry's pages, sized by the index, and check its size unless it is known
        (an epost's: we know what we posted); the check adds pages if NCBI holds more than the
        index says."""
        entry = self.sized(entry)
        if entry.reported is None:
            self.unchecked.add(entry.entry)
            self._enqueue_pages(entry, entry.expected)
            self.scheduler.enqueue(Check(entry))
        else:
            self._enqueue_pages(entry, max(entry.reported, entry.expected))

    def ids_known(self, entry: Entry, ids: list[int]) -> None:
        """The entry's ids, ascending, as read off the event loop when it was made (15k of
        them took 20-50 ms to read on it), to place its pages by."""
        self.entry_ids[entry.entry] = ids if len(ids) == entry.expected else []

    def sized(self, entry: Entry) -> Entry:
        """The entry with its page size, planned now and kept in the store if it has none yet
        (the job's, should an older run have paged it already: its done pages are at that)."""
        if entry.page_size is not None:
            return entry
        size = self.page_size if self.store.done_pages(entry.entry) else self.plan()
        self.store.set_page_size(entry.entry, size)
        if size < self.page_size:
            self.stats.incr("harvest/entries_paged_smaller")
        return replace(entry, page_size=size)

    def size_of(self, entry: Entry) -> int:
        """Records per page of a started entry."""
        return self.page_size if entry.page_size is None else entry.page_size

    def checked(self, entry: Entry, count: int) -> None:
        """esearch says the entry holds `count` ids: the pages past the index's, if any."""
        self.unchecked.discard(entry.entry)
        self.store.set_reported(entry.entry, count)
        if count != entry.expected:
            self.entry_ids[entry.entry] = []  # its pages cannot be placed by the index
            self.stats.incr("check/mismatch")
            self.store.note(
                f"entry {entry.query_key} of chunk {entry.chunk} holds "
                f"{count} ids, the index says {entry.expected}"
            )
        left = self.pages_left.setdefault(entry.entry, set())
        for retstart, ids in pages(count, self.size_of(entry)):
            if retstart >= entry.expected and retstart not in left:
                left.add(retstart)
                self.scheduler.enqueue(Page(entry, retstart, ids))
        if entry.entry in self.confirmed and not left:
            self._finish(entry)

    def page_in(self, entry: Entry, retstart: int, returned: list[int]) -> list[int]:
        """The page at `retstart` brought `returned` (records and ids said missing): the ids
        of the entry it lacked, to confirm by id."""
        gaps = lacked(self._ids_of(entry), retstart, self.size_of(entry), returned)
        self.lacking.paged(gaps)
        left = self.pages_left.get(entry.entry, set())
        left.discard(retstart)
        if not left:
            self._pages_in(entry)
        return gaps

    def settle_awaiting(self) -> None:
        """After a confirmation: the awaiting entries left without pending ids are settled."""
        for entry in list(self.awaiting.values()):  # a rebuild drops replaced ones from it
            if not self.store.count_entry_pending(entry.entry):
                self._settle(entry)

    def replace(self, lost: list[Entry]) -> None:
        """The entries of a lost WebEnv are replaced (their targets posted again)."""
        for gone in lost:
            self.store.set_entry_state(gone.entry, EntryState.REPLACED)
            self.awaiting.pop(gone.entry, None)
            self.entry_ids.pop(gone.entry, None)

    def _enqueue_pages(self, entry: Entry, size: int) -> None:
        done = self.store.done_pages(entry.entry)
        todo = list(pages(size, self.size_of(entry)))
        self.pages_left[entry.entry] = left = {r for r, _ in todo} - done
        for retstart, ids in todo:
            if retstart in left:
                self.scheduler.enqueue(Page(entry, retstart, ids))
        if not left:
            self._pages_in(entry)

    def _ids_of(self, entry: Entry) -> list[int]:
        """The entry's ids from the index, or [] when the store holds another number of them
        for it or NCBI said it holds another number."""
        ids = self.entry_ids.get(entry.entry)
        if ids is None:
            ids = self.store.entry_targets(entry.entry)
            if len(ids) != entry.expected:
                ids = []
            self.entry_ids[entry.entry] = ids
        return ids

    def _pages_in(self, entry: Entry, paged: bool = True) -> None:
        """The entry's pages are all in (`paged`: it was paged, not validated): whatever it
        still lacks is confirmed by id, and the entry is settled once none is left (here, or
        after a confirmation)."""
        self.confirmed.discard(entry.entry)
        self.awaiting[entry.entry] = entry
        self.entry_ids[entry.entry] = []  # no page of it is out: its ids need not be held
        pending = self.store.entry_targets(entry.entry, pending_only=True)
        if pending:
            if paged:
                self.lacking.paged(pending)
            self.scheduler.enqueue(Confirm(tuple(pending)))
        else:
            self._settle(entry)

    def _settle(self, entry: Entry) -> None:
        """An awaiting entry without pending ids is done, or will be once its check is in."""
        del self.awaiting[entry.entry]
        if entry.entry in self.unchecked or self.pages_left.get(entry.entry):
            self.confirmed.add(entry.entry)  # done when its check (or its pages) are in
        else:
            self._finish(entry)

    def _finish(self, entry: Entry) -> None:
        self.confirmed.discard(entry.entry)
        self.entry_ids.pop(entry.entry, None)
        self.store.set_entry_state(entry.entry, EntryState.DONE)
