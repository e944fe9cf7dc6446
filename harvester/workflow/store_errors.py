"""SQLite failures as `StoreError`s: one sentence naming the store and what the user can do.

Every statement of the job store runs through `GuardedConnection`, so a full disk, a read-only
file system or a file that is not a store reaches the CLI as exit 7, never as a traceback.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harvester.errors import StoreError

__all__ = ["GuardedConnection", "immediate", "store_error"]

_READONLY_NAMES = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")


def store_error(path: Path, exc: sqlite3.Error, what: str = "job store") -> StoreError:
    """What a SQLite error means for the job and how to get past it; `what` names the file's
    role (the job store, the record cache)."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    text = str(exc)
    other = "--job-dir" if what == "job store" else "--cache DIR (or --no-cache)"
    if name.startswith(("SQLITE_FULL", "SQLITE_IOERR")) or "disk is full" in text:
        why = f"a write failed ({text})"
        fix = "free space and run again to resume: nothing finished was lost"
    elif name.startswith(_READONLY_NAMES) or "readonly" in text or "read-only" in text:
        why = "it cannot be written (a read-only file or file system)"
        fix = f"make it writable, or give another {other}"
    elif name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text:
        why = f"the file is not a harvester {what} or is damaged ({text})"
        fix = f"move it away (nothing was changed in it) and run again, or give another {other}"
    elif name.startswith("SQLITE_BUSY") or "locked" in text:
        why = "another program holds it locked"
        fix = "stop the other program first"
    else:
        why = f"SQLite failed: {text}"
        fix = "run again to resume"
    return StoreError(f"the {what} {path} cannot be used: {why}; {fix}")


class GuardedConnection(sqlite3.Connection):
    """A connection whose statements raise `StoreError` instead of `sqlite3.Error`."""

    path = Path("job store")
    """The store's file, for messages (set once connected)."""
    what = "job store"
    """What the file is to the harvest, for messages."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.what) from None

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.what) from None

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(script)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.what) from None


def connect_read_only(path: Path) -> GuardedConnection:
    """An existing store opened to read only; failing to open it is a StoreError too."""
    try:
        db = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=ro", uri=True, factory=GuardedConnection
        )
    except sqlite3.Error as exc:
        raise store_error(path, exc) from None
    db.path = path
    return db


@contextlib.contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (`BEGIN IMMEDIATE`: the write lock taken first, so two processes
    never deadlock upgrading): committed when the block ends, rolled back when it raises, so a
    failed write (a full disk) leaves the file as it was and the connection usable."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.rollback()
        raise
