"""Records we already hold, and the day NCBI's answers said they were fetched: what a refresh
and the shared record cache offer instead of fetching a target again, once NCBI says by mdat
that the record has not changed since (known_entries.py asks).

Two providers: the record cache shared by jobs (cache_records.py), and a job's previous store
(`--refresh` moves it aside and harvests afresh beside it). A store's day is the earliest
`Date` header (UTC) of the answers whose records it committed, kept in its meta as
`server_date` in the same transaction as those records (a run killed one day and resumed the
next keeps the first day); a store written before that was kept falls back to the day the job
was created, which is earlier still, so nothing is ever taken as newer than it is.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harvester.workflow import kept
from harvester.workflow.states import TargetState
from harvester.workflow.store import SERVER_DATE, Store

__all__ = ["Known", "KnownRecords", "PreviousStore", "server_date"]

MISSING = -1
"""Where a previous store's withdrawn targets are (no kept batch has this number)."""
_ASKED_AT_ONCE = 900
"""uids per query of the index (SQLite's bound parameters, at most 999 in older builds)."""


@dataclass(frozen=True, slots=True)
class Known:
    """A record held whole (None: NCBI said it has none, a withdrawn id), and the server's day
    it was fetched (or last found unchanged)."""

    body: bytes | None
    as_of: datetime.date
    cached: bool = False
    """Whether it comes from the record cache shared by jobs (cache_records.py)."""


class KnownRecords(Protocol):
    """Where records already held come from, by uid."""

    def holds(self, uids: Iterable[int]) -> bool:
        """Whether any of `uids` is held (cheap: decides whether a set is validated)."""
        ...

    def lookup(self, uids: Sequence[int]) -> dict[int, Known]:
        """Those of `uids` that are held, each with its bytes and day."""
        ...


def server_date(store: Store) -> datetime.date | None:
    """The day a store's records are as of: its `server_date`, else the day it was created."""
    recorded = store.get_meta(SERVER_DATE)
    if recorded is not None:
        return datetime.date.fromisoformat(recorded)
    created = store.get_meta("created")
    if created is None:
        return None
    return datetime.datetime.fromtimestamp(float(created), datetime.UTC).date()


class PreviousStore:
    """The records of a job's previous store, read only; every record carries the store's day.
    Which kept blob holds which uid is indexed once, when first asked (one pass over them),
    in a private temporary SQLite database: on disk past its page cache, so millions of
    records cost the run no more memory than thousands."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path, read_only=True)
        self.as_of = server_date(self.store) or datetime.date.min
        self._where: sqlite3.Connection | None = None

    def close(self) -> None:
        self.store.close()
        if self._where is not None:
            self._where.close()
            self._where = None

    def prepare(self) -> None:
        """Build the index now, before the harvest's event loop has requests in flight."""
        self._index()

    def _index(self) -> sqlite3.Connection:
        """uid -> the kept batch holding its record (the first copy, as the output took it), or
        MISSING for a target NCBI said it has no record for."""
        if self._where is None:
            where = sqlite3.connect("")  # private, temporary, removed when closed
            where.execute("CREATE TABLE batch_of(uid INTEGER PRIMARY KEY, batch INTEGER)")
            missing = self.store.db.execute(
                "SELECT uid, ? FROM targets WHERE state=?", (MISSING, TargetState.MISSING)
            )
            where.executemany("INSERT OR IGNORE INTO batch_of VALUES(?, ?)", missing)
            for batch, blob in self.store.db.execute("SELECT batch, data FROM kept"):
                where.executemany(
                    "INSERT OR IGNORE INTO batch_of VALUES(?, ?)",
                    ((uid, batch) for uid, _ in kept.unpack(blob)),
                )
            where.commit()
            self._where = where
        return self._where

    def _batches(self, uids: Sequence[int]) -> Iterator[tuple[int, int]]:
        """(uid, batch) of those of `uids` that are held."""
        where = self._index()
        for start in range(0, len(uids), _ASKED_AT_ONCE):
            part = uids[start : start + _ASKED_AT_ONCE]
            marks = ",".join("?" * len(part))
            yield from where.execute(
                f"SELECT uid, batch FROM batch_of WHERE uid IN ({marks})", part
            )

    def holds(self, uids: Iterable[int]) -> bool:
        return any(True for _ in self._batches(list(uids)))

    def lookup(self, uids: Sequence[int]) -> dict[int, Known]:
        by_batch: dict[int, set[int]] = {}
        for uid, batch in self._batches(uids):
            by_batch.setdefault(batch, set()).add(uid)
        found = {uid: Known(None, self.as_of) for uid in by_batch.pop(MISSING, ())}
        for batch, wanted in sorted(by_batch.items()):
            (blob,) = self.store.db.execute(
                "SELECT data FROM kept WHERE batch=?", (batch,)
            ).fetchone()
            for uid, body in kept.unpack(blob):
                if uid in wanted and uid not in found:
                    found[uid] = Known(body, self.as_of)
        return found
