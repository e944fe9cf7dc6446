"""When an id without a record is missing at NCBI: once two answers lacked it.

Withdrawn ids are the usual cause, and then a by-id answer finds none of the ids a page lacked:
the page and that answer make two. When a by-id answer finds some, a page lacking the others
may have been short (a backend hiccup), so that answer counts as the first. An id no page was
asked for (a refresh's new and changed records, fetched by id only) needs two by-id answers.

Instead of a request of its own, an id one by-id answer lacked joins the next confirmation
batch (scheduler.py), so the second asking costs one request for the whole run's withdrawn ids,
not one per batch. What is noted here lives in memory: after a restart an id needs its two
answers again (asked once more at worst, never taken as missing on less).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence


class Lacking:
    """Which ids being confirmed some answer lacked already: a page, or a by-id answer."""

    def __init__(self) -> None:
        self._by_page: set[int] = set()
        self._by_id: set[int] = set()

    def paged(self, uids: Iterable[int]) -> None:
        """A page (or every page of an entry) lacked these ids."""
        self._by_page.update(uids)

    def answered(
        self, asked: Sequence[int], found: Collection[int], said: Collection[int]
    ) -> tuple[list[int], list[int]]:
        """A by-id answer to `asked` brought `found` and said `said` have no record: (the ids
        missing now, said or lacked twice; the ids to ask once more)."""
        missing: list[int] = []
        again: list[int] = []
        for uid in asked:
            if uid in found:
                pass
            elif uid in said or uid in self._by_id or (not found and uid in self._by_page):
                missing.append(uid)
            else:
                again.append(uid)
        for uid in asked:
            self._by_page.discard(uid)
            self._by_id.discard(uid)
        self._by_id.update(again)
        return missing, again
