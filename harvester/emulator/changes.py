"""Ground truth of what changed in an emulator dataset between two days, from its clock, for
tests of refresh and caching: which records are new or revised, which links came or went.

    from harvester.emulator.changes import record_changes, link_changes
    moved = record_changes("tiny", "snp", uids, "2026-09-15", "2026-10-15")
    moved.added, moved.modified  # uids born, and uids revised, after the first day
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harvester.emulator.dataset import Dataset
from harvester.emulator.linklists import LINKS
from harvester.emulator.spec import load_spec


@dataclass(frozen=True, slots=True)
class RecordChanges:
    """The records of some uids of one db, compared between `before` and `after`."""

    added: frozenset[int]
    """Fetchable on `after`, not on `before` (new records)."""
    modified: frozenset[int]
    """Fetchable on both days, revised after `before` (their mdat moved)."""
    unchanged: frozenset[int]
    """Fetchable on both days, not revised in between."""
    absent: frozenset[int]
    """Not fetchable on `after` (not yet born, withdrawn, or not a uid of the db)."""

    @property
    def changed(self) -> frozenset[int]:
        """What a refresh must fetch: the new records and the revised ones."""
        return self.added | self.modified


@dataclass(frozen=True, slots=True)
class LinkChanges:
    """(source, target) links of some sources under one link name, between two days."""

    added: frozenset[tuple[int, int]]
    removed: frozenset[tuple[int, int]]
    kept: frozenset[tuple[int, int]]


def dataset_on(dataset: str, day: str) -> Dataset:
    """The dataset (a name or YAML path) as of `day` (`YYYY-MM-DD`)."""
    return Dataset(load_spec(dataset, day))


def record_changes(
    dataset: str, db: str, uids: Iterable[int], before: str, after: str
) -> RecordChanges:
    """Which of `uids` are new, revised or unchanged on `after` compared with `before`."""
    old, new = dataset_on(dataset, before), dataset_on(dataset, after)
    added, modified, unchanged, absent = set(), set(), set(), set()
    for uid in set(uids):
        if not new.exists(db, uid):
            absent.add(uid)
        elif not old.exists(db, uid):
            added.add(uid)
        elif new.mdat(db, uid) > old.clock.day:
            modified.add(uid)
        else:
            unchanged.add(uid)
    return RecordChanges(*map(frozenset, (added, modified, unchanged, absent)))


def link_changes(
    dataset: str, linkname: str, sources: Iterable[int], before: str, after: str
) -> LinkChanges:
    """Which links of `sources` under `linkname` came, went or stayed from `before` to `after`."""
    old, new = dataset_on(dataset, before), dataset_on(dataset, after)
    wanted, dbfrom = sorted(set(sources)), LINKS[linkname].dbfrom

    def pairs(ds: Dataset) -> set[tuple[int, int]]:
        return {(s, t) for s in wanted if ds.known(dbfrom, s) for t, _ in ds.links(linkname, s)}

    then, now = pairs(old), pairs(new)
    return LinkChanges(frozenset(now - then), frozenset(then - now), frozenset(now & then))
