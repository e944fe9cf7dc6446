"""The job store's WAL is checkpointed on a thread of its own once records are committed, so a
commit on the event loop does not copy and fsync the WAL itself (wal_checkpoints.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from harvester.workflow import kept
from harvester.workflow.store import Store
from harvester.workflow.wal_checkpoints import AUTO_CHECKPOINT_PAGES


def _records(first: int, count: int) -> kept.Packed:
    bodies = [(uid, os.urandom(16_000).hex().encode()) for uid in range(first, first + count)]
    return kept.Packed([(u, (b"v", b)) for u, b in bodies], kept.pack(bodies))


def test_commits_leave_the_checkpoints_to_their_thread(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    try:
        # every connection's own checkpoint waits for 16x the default: it is only a bound
        assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (
            AUTO_CHECKPOINT_PAGES
        )
        assert store._checkpoints is None  # the thread starts with the first records
        store.commit_records(_records(1, 40))
        for first in range(41, 400, 40):
            store.commit_records(_records(first, 40))  # ~13 MB, past SQLite's default 4 MB
        deadline = time.monotonic() + 30
        while _backfilled(store) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling for the thread's progress, not timing anything
        assert _backfilled(store) > 0  # the thread copied the WAL's frames into the database
    finally:
        store.close()
    with Store(tmp_path / "state.sqlite") as again:
        assert len(list(again.kept_records())) == 400


def _backfilled(store: Store) -> int:
    """Frames of the WAL already copied into the database, read from the wal-index without
    checkpointing any: `nBackfill`, the u32 (native order) after its two 48-byte headers."""
    shm = Path(f"{store.path}-shm").read_bytes()
    return int.from_bytes(shm[96:100], sys.byteorder)


def test_a_store_dropped_without_closing_stops_its_thread(tmp_path: Path) -> None:
    """Tests and tools that let a store go without close() leave no thread checkpointing."""
    store = Store(tmp_path / "state.sqlite", lock=False)
    store.commit_records(_records(1, 2))
    thread = store._checkpoints._thread if store._checkpoints else None
    assert thread is not None and thread.is_alive()
    del store
    thread.join(timeout=30)
    assert not thread.is_alive()
