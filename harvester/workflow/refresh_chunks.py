"""A refresh's elink chunks: consecutive sources, at most `elink_batch` of them and at most
LISTING_CAP of the previous run's targets, so that the one esearch listing which of a History
set's held records NCBI has unchanged (known_entries.py) fits a single page. Smaller chunks cost
some elink requests; a normal run's chunks are `elink_batch` sources each (plan.chunks)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from harvester.workflow.plan import capped_chunks
from harvester.workflow.store import Store

__all__ = ["LISTING_CAP", "refresh_chunks", "source_weights"]

LISTING_CAP = 9_000
"""Previous targets a refresh's chunk holds at most: below esearch's 10,000 ids per page and
PubMed's 9,999 listable, with room for the links added since the previous run."""
_ASKED_AT_ONCE = 900
"""Source uids per query (SQLite's bound parameters, at most 999 in older builds)."""


def source_weights(previous: Store, sources: Sequence[int]) -> Iterator[int]:
    """Per source uid (in order), the previous run's targets of its largest link name: each
    of a chunk's History sets (one per link name) holds at most their sum. A source the
    previous run did not have weighs 0. Read a few hundred sources at a time."""
    for start in range(0, len(sources), _ASKED_AT_ONCE):
        part = sources[start : start + _ASKED_AT_ONCE]
        marks = ",".join("?" * len(part))
        held: dict[int, int] = {}
        for source, count in previous.db.execute(
            f"SELECT source, count(*) FROM edges WHERE source IN ({marks}) GROUP BY source, link",
            part,
        ):
            held[source] = max(held.get(source, 0), count)
        yield from (held.get(uid, 0) for uid in part)


def refresh_chunks(
    previous: Store, sources: Sequence[int], batch: int
) -> Iterator[tuple[int, int, int]]:
    """(chunk, first, last position) of a refresh's chunks of `sources` (plan.capped_chunks)."""
    return capped_chunks(source_weights(previous, sources), batch, LISTING_CAP)
