"""How the work splits into requests, and the fewest requests and seconds it can take: source
ids into elink chunks, an entry into fetch pages, the request floor and the allowed rate, in one
place for the store (its chunks), the engine (its pages), the store's views and the summary
(the floor of a run) and `harvester plan` (its estimate), so none can count differently."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from harvester.eutils.settings import ClientConfig
from harvester.workflow.states import Posting

__all__ = [
    "Floor",
    "allowed_rate",
    "capped_chunks",
    "chunk_floor",
    "chunks",
    "estimated_floor",
    "floor_seconds",
    "history_entry",
    "page_count",
    "pages",
    "request_floor",
]


def page_count(ids: int, page_size: int) -> int:
    """The fetch pages `ids` ids take, each at most `page_size` ids."""
    return -(-ids // page_size)


def pages(size: int, page_size: int) -> Iterator[tuple[int, int]]:
    """(retstart, ids in it) of each page of an entry holding `size` ids, in order."""
    for retstart in range(0, size, page_size):
        yield retstart, min(page_size, size - retstart)


def chunks(sources: int, batch: int) -> Iterator[tuple[int, int, int]]:
    """(chunk, first position, last position) of each elink chunk of `sources` source ids,
    `batch` ids each (the last may hold fewer)."""
    for chunk, (first, ids) in enumerate(pages(sources, batch)):
        yield chunk, first, first + ids - 1


def capped_chunks(weights: Iterable[int], batch: int, cap: int) -> Iterator[tuple[int, int, int]]:
    """(chunk, first position, last position) of elink chunks of consecutive sources, each at
    most `batch` of them and at most `cap` in summed `weights` (one per source, in order); a
    source weighing more than `cap` alone is a chunk of its own."""
    chunk, first, held, total = 0, 0, 0, 0
    for position, weight in enumerate(weights):
        if position > first and (position - first == batch or held + weight > cap):
            yield chunk, first, position - 1
            chunk, first, held = chunk + 1, position, 0
        held += weight
        total = position + 1
    if total > first:
        yield chunk, first, total - 1


@dataclass(frozen=True, slots=True)
class Floor:
    """The fewest requests some work allows, by what they are for."""

    elink: int = 0
    history: int = 0
    """neighbor_history requests, and the epost of the pooled targets."""
    checks: int = 0
    """esearch size checks, one per neighbor_history entry (an epost's size is known)."""
    pages: int = 0

    @property
    def requests(self) -> int:
        return self.elink + self.history + self.checks + self.pages

    def __add__(self, other: Floor) -> Floor:
        return Floor(
            self.elink + other.elink,
            self.history + other.history,
            self.checks + other.checks,
            self.pages + other.pages,
        )


def chunk_floor(
    mode: Posting | None, entries: Collection[int], page_size: int, fetch_page: int | None = None
) -> Floor:
    """One chunk's own floor: its elink; once linked (`mode`) with `history` (its targets all
    new, each link name's filling a page at least: `sizes` in `entries`) one neighbor_history
    and, per History entry, one check and its pages, `fetch_page` records each (the page size
    planned from the prior bytes per record, page_plan.py; the job's if None). Pooled targets
    are counted together, by `request_floor`."""
    fetch_page = fetch_page or page_size
    if history_entry(mode, entries, page_size):
        return Floor(1, 1, len(entries), sum(page_count(n, fetch_page) for n in entries))
    return Floor(elink=1)


def history_entry(mode: Posting | None, entries: Collection[int], page_size: int) -> bool:
    """Whether a chunk's targets get neighbor_history entries of their own: all new (`mode`
    history) and at least a page of each link name; else they are pooled (store.commit_links
    decides alike)."""
    return mode == Posting.HISTORY and bool(entries) and min(entries) >= page_size


def request_floor(
    linked: Iterable[tuple[Posting | None, Collection[int]]],
    page_size: int,
    fetch_page: int | None = None,
) -> Floor:
    """The floor of a job's chunks, each as (mode, or None before it is linked; entry sizes):
    each chunk's own, and the pooled targets (those of chunks without entries of their own)
    in one epost and full pages (of `fetch_page` records, as in `chunk_floor`)."""
    total, pooled = Floor(), 0
    for mode, entries in linked:
        total += chunk_floor(mode, entries, page_size, fetch_page)
        if mode is not None and not history_entry(mode, entries, page_size):
            pooled += sum(entries)
    if pooled:
        total += Floor(history=1, pages=page_count(pooled, fetch_page or page_size))
    return total


def estimated_floor(
    sources: int,
    batch: int,
    links_per_source: float,
    page_size: int,
    fetch_page: int | None = None,
) -> Floor:
    """`harvester plan`'s floor before the index exists: every chunk's targets new and of one
    link name, `links_per_source` of them per source id (0: the floor before fetching)."""
    return request_floor(
        (
            (Posting.HISTORY, (math.ceil((last - first + 1) * links_per_source),))
            for _, first, last in chunks(sources, batch)
        ),
        page_size,
        fetch_page,
    )


def floor_seconds(requests: int, rate: float) -> float:
    """The time `requests` take at `rate` at the least: n requests are n-1 gate periods apart,
    as the first goes out at once."""
    return (requests - 1) / rate if rate and requests else 0.0


def allowed_rate(config: ClientConfig) -> float:
    """Requests per second the client's policy allows (10/s for NCBI with the API key the
    client sends, 3/s without), as the gate paces them."""
    return config.rate_policy().rate
