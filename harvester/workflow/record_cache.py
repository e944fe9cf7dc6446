"""Records shared by the jobs of this machine: a job fetches only what no earlier job already
holds unchanged.

One SQLite file (WAL, like the job store) in `$XDG_CACHE_HOME/harvester/records/`. A record is
kept whole, as the job store keeps it (kept.py), under (endpoint, db, format, uid) with the
version it was fetched at (record_version.py: accession.version, else its modification date);
a newer fetch replaces it. Times are the server's (the `Date` header, through `clock`): a record
fetched less than `max_age` ago is offered to a job, which serves it only once NCBI's mdat
question on the History set holding it says it has not changed since (cache_records.py,
known_entries.py); an older one is not offered, so it is fetched again. Several processes may
use one cache at once: every write is one `BEGIN IMMEDIATE` transaction and readers wait on the
busy timeout. The file stays under `max_bytes` by evicting the least recently used records;
uses are written in batches, not on every hit. No URL, user, password or API key is ever
stored: a record's origin is `cache_source(endpoint)` and its format the four fetch settings.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from harvester.config import FetchSpec
from harvester.deflate import compress, decompress
from harvester.errors import StoreError
from harvester.workflow.record_version import RecordVersion
from harvester.workflow.store_errors import GuardedConnection, immediate

__all__ = [
    "CACHE_APPLICATION_ID",
    "CACHE_NAME",
    "CacheFormat",
    "CachedRecord",
    "RecordCache",
    "cache_source",
]

CACHE_NAME = "records.sqlite"
CACHE_APPLICATION_ID = 0x48525643
"""'HRVC': the SQLite header's application id of a record cache (a job store's is 'HRVS')."""
LEVEL = 1
BUSY_TIMEOUT = 60.0
"""Seconds a statement waits for another process's write before it fails."""
USE_BATCH = 1_000
"""Hits remembered before their use times are written."""
EVICT_TO = 0.9
"""Eviction frees down to this share of the bound, so the next page does not evict again."""
_BATCH = 500
"""Uids per statement, under SQLite's bound-parameter limit."""
_OF = "source=? AND db=? AND format=?"
"""The records of one endpoint, db and format."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS records(
    source TEXT NOT NULL, db TEXT NOT NULL, format TEXT NOT NULL, uid INTEGER NOT NULL,
    version TEXT, modified TEXT, fetched REAL NOT NULL, checked REAL NOT NULL,
    used REAL NOT NULL, size INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY(source, db, format, uid));
CREATE INDEX IF NOT EXISTS records_by_use ON records(used);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES('bytes', 0);
"""


def cache_source(endpoint: str) -> str:
    """Where records came from, as the cache names it: `ncbi`, `embedded:NAME` (one dataset
    whatever day it is served as of, as NCBI is one whatever the day), or a URL's scheme, host,
    port and path; never a user, password, query (an api_key) or fragment."""
    if endpoint == "ncbi" or endpoint.startswith("embedded"):
        return endpoint.partition("@")[0]
    url = urlsplit(endpoint)
    host = url.hostname or ""
    netloc = f"{host}:{url.port}" if url.port else host
    return urlunsplit((url.scheme, netloc, url.path, "", ""))


@dataclass(frozen=True, slots=True)
class CacheFormat:
    """How records were fetched: the same uid fetched another way is another record."""

    via: str
    rettype: str | None
    retmode: str | None
    version: str | None

    @classmethod
    def of(cls, fetch: FetchSpec) -> CacheFormat:
        return cls(str(fetch.via), fetch.rettype, fetch.retmode, fetch.version)

    @property
    def key(self) -> str:
        return "/".join(v or "-" for v in (self.via, self.rettype, self.retmode, self.version))


@dataclass(frozen=True, slots=True)
class CachedRecord:
    """One record the cache holds, whole, with its version and when it was fetched and checked."""

    uid: int
    body: bytes
    version: str | None
    modified: str | None
    fetched: float
    checked: float
    """When NCBI last vouched for it: so far always its `fetched` (an mdat answer that it has
    not changed serves it to one job, without making it younger for the next)."""


class CacheConnection(GuardedConnection):
    what = "record cache"


class RecordCache:
    """The cache of one endpoint's records; use as a context manager (or call `close`)."""

    def __init__(
        self,
        folder: Path,
        *,
        source: str,
        max_bytes: int,
        max_age: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = folder / CACHE_NAME
        self.source, self.max_bytes, self.max_age, self.clock = source, max_bytes, max_age, clock
        self._uses: dict[tuple[str, str, int], float] = {}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with _locked(folder / "records.lock"):  # one process sets the file up at a time
                db = sqlite3.connect(
                    self.path, isolation_level=None, timeout=BUSY_TIMEOUT, factory=CacheConnection
                )
                db.path = self.path
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA application_id = {CACHE_APPLICATION_ID}")
        except OSError as exc:
            raise StoreError(f"cannot open the record cache {self.path}: {exc.strerror}") from None
        self.db = db

    def __enter__(self) -> RecordCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write the uses not written yet, and close."""
        self.flush()
        self.db.close()

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return immediate(self.db)

    def lookup(self, db: str, fmt: CacheFormat, uids: Sequence[int]) -> dict[int, CachedRecord]:
        """The records of `uids` the cache holds, offered or not (`offered` tells), each hit
        remembered as a use."""
        found: dict[int, CachedRecord] = {}
        for batch in _batches(uids):
            marks = ",".join("?" * len(batch))
            rows = self.db.execute(
                "SELECT uid, body, version, modified, fetched, checked FROM records "
                f"WHERE {_OF} AND uid IN ({marks})",
                (self.source, db, fmt.key, *batch),
            )
            for uid, body, version, modified, fetched, checked in rows:
                found[uid] = CachedRecord(
                    uid, decompress(body), version, modified, fetched, checked
                )
        now = self.clock()
        self._uses.update({(db, fmt.key, uid): now for uid in found})
        return found

    def uses_due(self) -> bool:
        """Whether a batch of uses waits to be written (`take_uses`, then `write_uses`)."""
        return len(self._uses) >= USE_BATCH

    def take_uses(self) -> dict[tuple[str, str, int], float]:
        """The remembered uses, forgotten here: a writer thread writes them (`write_uses`)."""
        uses, self._uses = self._uses, {}
        return uses

    def offered(self, record: CachedRecord) -> bool:
        """Whether a job may be offered it (NCBI still asked): fetched less than `max_age` ago
        by the server's clock; with `max_age` 0, never. A record another process dated ahead
        of our clock is of age 0, never younger."""
        return self.max_age > 0 and max(0.0, self.clock() - record.fetched) < self.max_age

    def holds(self, db: str, fmt: CacheFormat, uids: Sequence[int]) -> bool:
        """Whether any of `uids` is held and would be offered (no use remembered)."""
        if self.max_age <= 0:
            return False
        since = self.clock() - self.max_age
        for batch in _batches(uids):
            marks = ",".join("?" * len(batch))
            found = self.db.execute(
                f"SELECT 1 FROM records WHERE {_OF} AND fetched > ? AND uid IN ({marks}) LIMIT 1",
                (self.source, db, fmt.key, since, *batch),
            ).fetchone()
            if found is not None:
                return True
        return False

    def put(
        self, db: str, fmt: CacheFormat, records: Iterable[tuple[int, bytes, RecordVersion]]
    ) -> None:
        """Keep fetched records (uid, whole record, version), replacing older copies, then evict
        the least recently used while the cache is over its bound; one transaction."""
        now = self.clock()
        blobs = {uid: (compress(body, LEVEL), v) for uid, body, v in records}  # last wins
        rows = [
            (self.source, db, fmt.key, uid, v.key, v.modified, now, now, now, len(blob), blob)
            for uid, (blob, v) in blobs.items()
        ]
        with self._tx() as tx:
            freed = self._sizes(tx, db, fmt, list(blobs))
            tx.executemany(
                "INSERT OR REPLACE INTO records VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            grown = sum(len(blob) for blob, _ in blobs.values()) - freed
            tx.execute("UPDATE meta SET value = value + ? WHERE key='bytes'", (grown,))
            self._evict(tx)

    def forget(self, db: str, fmt: CacheFormat, uids: Sequence[int]) -> None:
        """Drop records NCBI no longer has."""
        with self._tx() as tx:
            freed = self._sizes(tx, db, fmt, uids)
            for batch in _batches(uids):
                marks = ",".join("?" * len(batch))
                tx.execute(
                    f"DELETE FROM records WHERE {_OF} AND uid IN ({marks})",
                    (self.source, db, fmt.key, *batch),
                )
            tx.execute("UPDATE meta SET value = value - ? WHERE key='bytes'", (freed,))

    def flush(self) -> None:
        """Write the remembered uses (for least-recently-used eviction) in one transaction."""
        self.write_uses(self.take_uses())

    def write_uses(self, uses: dict[tuple[str, str, int], float]) -> None:
        """Write uses taken from this or another connection to the same cache."""
        if not uses:
            return
        with self._tx() as tx:
            tx.executemany(
                f"UPDATE records SET used=max(used, ?) WHERE {_OF} AND uid=?",
                ((at, self.source, db, fmt, uid) for (db, fmt, uid), at in uses.items()),
            )

    def total_bytes(self) -> int:
        """The stored (compressed) size of every record held, by every source."""
        return int(self.db.execute("SELECT value FROM meta WHERE key='bytes'").fetchone()[0])

    def _sizes(self, tx: sqlite3.Connection, db: str, fmt: CacheFormat, uids: Sequence[int]) -> int:
        total = 0
        for batch in _batches(uids):
            marks = ",".join("?" * len(batch))
            (found,) = tx.execute(
                f"SELECT coalesce(sum(size), 0) FROM records WHERE {_OF} AND uid IN ({marks})",
                (self.source, db, fmt.key, *batch),
            ).fetchone()
            total += found
        return int(total)

    def _evict(self, tx: sqlite3.Connection) -> None:
        """Least recently used records out until the cache is under EVICT_TO of its bound."""
        (total,) = tx.execute("SELECT value FROM meta WHERE key='bytes'").fetchone()
        if total <= self.max_bytes:
            return
        goal, gone = self.max_bytes * EVICT_TO, 0
        victims = []
        for rowid, size in tx.execute("SELECT rowid, size FROM records ORDER BY used, rowid"):
            if total - gone <= goal:
                break
            victims.append((rowid,))
            gone += size
        tx.executemany("DELETE FROM records WHERE rowid=?", victims)
        tx.execute("UPDATE meta SET value = value - ? WHERE key='bytes'", (gone,))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An flock held while the block runs (dropped by the kernel if the process dies)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _batches(uids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(uids), _BATCH):
        yield uids[start : start + _BATCH]
