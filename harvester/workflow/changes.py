"""What a refresh changed, for people: links added and removed per source and link name, and
kept targets whose record NCBI revised, written to the job directory's `CHANGES.jsonl` and
counted for the summary.

The index is read as the job store keeps it (the `edges` table, link names numbered by the
store's `linknames`): source -> link name -> targets. A target counts as updated only when it
is linked both before and after and NCBI says its record changed; a new target is an addition,
not an update. The file holds the last refresh's changes, in a fixed order, written whole under
a temporary name and renamed (outfile.py), so a refresh run again after a crash writes the same
bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from harvester.workflow.outfile import open_output

__all__ = [
    "CHANGES_NAME",
    "ChangeCounts",
    "Index",
    "change_lines",
    "changes_path",
    "count_changes",
    "store_index",
    "write_changes",
]

CHANGES_NAME = "CHANGES.jsonl"
Index = Mapping[int, Mapping[str, Sequence[int]]]
"""source uid -> link name -> target uids (NCBI's order; order does not count as a change)."""


@dataclass(frozen=True, slots=True)
class ChangeCounts:
    """What the summary says a refresh moved."""

    added: int = 0
    """Links (source, link name, target) present now and not before."""
    removed: int = 0
    """Links present before and gone now."""
    updated: int = 0
    """Targets linked before and now whose record NCBI revised in between."""
    sources: int = 0
    """Sources with at least one link added or removed."""


def store_index(
    db: sqlite3.Connection, linknames: Sequence[str]
) -> dict[int, dict[str, list[int]]]:
    """A job store's index (its `edges`, `linknames` as the store numbers them), in rank order."""
    index: dict[int, dict[str, list[int]]] = {}
    rows = db.execute("SELECT source, link, target FROM edges ORDER BY source, link, rank")
    for source, link, target in rows:
        name = linknames[link] if 0 <= link < len(linknames) else str(link)
        index.setdefault(source, {}).setdefault(name, []).append(target)
    return index


def _links(index: Index) -> set[tuple[int, str, int]]:
    return {
        (source, name, target)
        for source, per_name in index.items()
        for name, targets in per_name.items()
        for target in targets
    }


def _targets(index: Index) -> set[int]:
    return {t for per_name in index.values() for targets in per_name.values() for t in targets}


def _updated(before: Index, after: Index, updated: Iterable[int]) -> list[int]:
    kept = _targets(before) & _targets(after)
    return sorted(kept.intersection(updated))


def change_lines(
    before: Index, after: Index, updated: Iterable[int]
) -> Iterator[dict[str, object]]:
    """The change log's records: links added and removed (by source, link name, then whether
    removed or added, then target), then updated targets by uid."""
    old, new = _links(before), _links(after)
    moved = sorted(
        [(s, n, "removed", t) for s, n, t in old - new]
        + [(s, n, "added", t) for s, n, t in new - old]
    )
    for source, name, change, target in moved:
        yield {"source": source, "link": name, "change": change, "target": target}
    for target in _updated(before, after, updated):
        yield {"target": target, "change": "updated"}


def count_changes(before: Index, after: Index, updated: Iterable[int]) -> ChangeCounts:
    """The counts behind the summary's added/removed/updated line."""
    old, new = _links(before), _links(after)
    added, removed = new - old, old - new
    sources = {s for s, _, _ in added} | {s for s, _, _ in removed}
    return ChangeCounts(
        added=len(added),
        removed=len(removed),
        updated=len(_updated(before, after, updated)),
        sources=len(sources),
    )


def changes_path(job_dir: Path) -> Path:
    return job_dir / CHANGES_NAME


def write_changes(
    job_dir: Path, before: Index, after: Index, updated: Iterable[int]
) -> ChangeCounts:
    """Write `CHANGES.jsonl` in the job directory (replacing the last refresh's) and return the
    counts; the same inputs always give the same bytes."""
    updated = list(updated)
    with open_output(changes_path(job_dir), owner=job_dir) as out:
        for line in change_lines(before, after, updated):
            out.write(orjson.dumps(line) + b"\n")
    return count_changes(before, after, updated)
