"""A refresh's elink chunks. Where esearch cannot list a set past a size at all (PubMed lists
only the first 9,999 uids of a result, NCBI_NOTES §4), consecutive sources are grouped at most
`elink_batch` of them and at most the db's LISTING_CAPS of the previous run's targets, so the
one esearch listing which of a History set's held records NCBI has unchanged (known_entries.py)
can list it: a set it cannot list reuses nothing. Elsewhere a larger set is listed in more
pages, one request per 10,000 ids, which costs no more than the chunks a cap would add (each
a per-id elink and a neighbor_history: 85 requests against 69 in benchmarks/REFRESH.md), so the
chunks stay `elink_batch` sources each (plan.chunks), as in a normal run."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from harvester.workflow.plan import capped_chunks, chunks
from harvester.workflow.store import Store

__all__ = ["LISTING_CAPS", "listing_cap", "refresh_chunks", "source_weights"]

LISTING_CAPS = {"pubmed": 9_000}
"""Previous targets a refresh's chunk holds at most, by db, where esearch lists no set past a
size (PubMed's 9,999), with room for the links added since the previous run."""
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


def listing_cap(db: str) -> int | None:
    """The previous targets a refresh's chunk of `db` holds at most (None: no cap)."""
    return LISTING_CAPS.get(db)


def refresh_chunks(
    previous: Store, sources: Sequence[int], batch: int, db: str
) -> Iterator[tuple[int, int, int]]:
    """(chunk, first, last position) of a refresh's chunks of `sources`: capped by the
    previous targets where `db` has a listing cap (plan.capped_chunks), else plan.chunks."""
    cap = listing_cap(db)
    if cap is None:
        return chunks(len(sources), batch)
    return capped_chunks(source_weights(previous, sources), batch, cap)
