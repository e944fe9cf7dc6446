"""Which of a job's targets the record cache can give, and which must be fetched: records
checked within `max_age` are served as held, older ones after NCBI's mdat query says they have
not changed (one epost and one esearch per call, changed.py), and the rest are fetched.

A database without mdat (the caller says so) gets its older records fetched again, never served
unchecked. A record NCBI changed is dropped from the cache; it comes back when fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harvester.eutils.client import EutilsClient
from harvester.workflow.changed import changed_among
from harvester.workflow.record_cache import CachedRecord, CacheFormat, RecordCache

__all__ = ["FromCache", "from_cache"]


@dataclass(frozen=True, slots=True)
class FromCache:
    """What the cache gives for a list of targets, and what is left to fetch."""

    served: dict[int, CachedRecord]
    """Records to use as fetched: fresh, or confirmed unchanged by NCBI just now."""
    fetch: list[int]
    """Targets to fetch, in the order given: not held, changed, or not checkable."""
    requests: int
    """Requests the check took (0 when every held record was fresh)."""
    changed: frozenset[int] = frozenset()
    """Held records NCBI says changed since they were checked (for the change log)."""
    unchecked: int = 0
    """Older records fetched again because the database keeps no mdat."""


async def from_cache(
    cache: RecordCache,
    client: EutilsClient,
    db: str,
    fmt: CacheFormat,
    uids: Sequence[int],
    *,
    mdat: bool,
) -> FromCache:
    """Split `uids` into records the cache may serve and targets to fetch; `mdat` says whether
    `db` answers esearch `datetype=mdat` (docs/NCBI_BEHAVIOUR.md)."""
    held = cache.lookup(db, fmt, uids)
    served = {uid: record for uid, record in held.items() if cache.is_fresh(record)}
    stale = [record for uid, record in held.items() if uid not in served]
    requests, changed, unchecked = 0, frozenset[int](), 0
    if stale and mdat:
        since = cache.checked_since(stale)
        assert since is not None  # stale is not empty
        found = await changed_among(client, db, [r.uid for r in stale], since)
        requests = found.requests
        changed = frozenset(r.uid for r in stale) if found.uids is None else found.uids
        unchanged = [r.uid for r in stale if r.uid not in changed]
        cache.confirm(db, fmt, unchanged)
        cache.forget(db, fmt, sorted(changed))
        served.update({r.uid: r for r in stale if r.uid not in changed})
    elif stale:
        unchecked = len(stale)
    fetch = [uid for uid in uids if uid not in served]
    return FromCache(served, fetch, requests, changed, unchecked)
