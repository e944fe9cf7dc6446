"""The job store's WAL checkpoints on a thread of their own, so a commit on the event loop never
waits for a checkpoint's copy of the WAL into the database and its fsync: the kept records make
the WAL grow by ~3 GB in the 21 KB gene -> SNP run (benchmarks/WEIGHT.md), and SQLite's
automatic checkpoint ran inside whichever commit crossed its threshold.

A passive checkpoint runs beside the writer (WAL mode lets it), on its own connection, which
lets the GIL go for the whole call. The store's own connection keeps an automatic checkpoint at
a far larger threshold, a bound on the WAL should this thread fall behind.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

__all__ = ["AUTO_CHECKPOINT_PAGES", "EVERY", "Checkpoints"]

EVERY = 0.5
"""Seconds between checkpoints: at ~100 MB/s of kept records, ~50 MB of WAL each."""
AUTO_CHECKPOINT_PAGES = 16_384
"""The store connection's own threshold (256 MB at 16 KB pages), 16x SQLite's default."""


class Checkpoints:
    """Checkpoints `path`'s WAL every EVERY seconds until closed."""

    def __init__(self, path: Path, every: float = EVERY) -> None:
        self.path, self.every = path, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="harvester-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:  # mode=rw: a store whose file is gone is not made again here
            db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=rw", uri=True)
        except sqlite3.Error:
            return  # the store's own automatic checkpoint still bounds the WAL
        try:
            while not self._stop.wait(self.every):
                with contextlib.suppress(sqlite3.Error):  # busy or failing: the next one, or
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # the store's own
        finally:
            db.close()

    def stop(self) -> None:
        """Ask the thread to end after the checkpoint under way, if any, without waiting."""
        self._stop.set()

    def close(self) -> None:
        """Stop, after the checkpoint under way if any."""
        self._stop.set()
        self._thread.join()
