"""A refresh's previous store: which kept batch holds a uid is indexed outside the Python heap,
so a store of millions of records costs the run no more memory than one of thousands."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from harvester.workflow.known import PreviousStore
from harvester.workflow.store import Store

FIRST, COUNT, BATCH = 10**6, 200_000, 20_000
MB = 1 << 20


def _store(path: Path) -> None:
    """A store holding COUNT small records kept in batches of BATCH, and one withdrawn target."""
    with Store(path) as store:
        store.initialise("hash", [1], 1)
        for start in range(FIRST, FIRST + COUNT, BATCH):
            records = [(uid, (b"v", b"<r/>")) for uid in range(start, start + BATCH)]
            store.commit_records(records)


def test_the_previous_store_finds_records_without_holding_every_uid_in_memory(
    tmp_path: Path,
) -> None:
    _store(tmp_path / "previous.sqlite")
    previous = PreviousStore(tmp_path / "previous.sqlite")
    tracemalloc.start()
    try:
        assert previous.holds([5, FIRST + 7]) and not previous.holds([5, 6])
        found = previous.lookup([FIRST, FIRST + COUNT - 1, 5])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        previous.close()
    assert {uid: k.body for uid, k in found.items()} == {FIRST: b"<r/>", FIRST + COUNT - 1: b"<r/>"}
    assert peak < 4 * MB  # a dict of the 200,000 uids alone takes ~15 MB
