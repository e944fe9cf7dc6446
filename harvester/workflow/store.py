"""The job store: one SQLite database (WAL) per job directory, written as work finishes.

A unit of work (an elink batch, a History entry, a fetch page) counts as done only when its
results are committed in the same transaction that marks it done, so a crash at any moment
leaves a store that resuming can trust: resuming is "planned minus done".

    sources  position -> uid, status (NULL until linked, then linked / no_links / unknown)
    chunks   a batch of sources: linked?, how its targets reach the History server (mode)
    edges    the index: source, link name, rank, target, score
    targets  each distinct target once: the chunk that claimed it, its link name, its state,
             the History entry holding it (NULL while it waits to be posted with others)
    entries  History entries (WebEnv, query key, size checked) that hold targets to fetch
    pages    finished fetch pages of an entry
    records  extracted fields (or the whole record) per target: what the output shows
    kept     every fetched record whole, compressed per commit (kept.py): fields re-derive
    meta     the job's hash, fields, link names, creation time, and `server_date`: the earliest
             day NCBI's answers named (Date header) of any commit of records, kept in the same
             transaction as those records, so no record is taken as newer than it is
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import fcntl
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from harvester.errors import StoreError
from harvester.eutils.parse import CPU_TURNS
from harvester.workflow import kept
from harvester.workflow.plan import chunks
from harvester.workflow.states import EntryState, Posting, SourceStatus, TargetState
from harvester.workflow.store_errors import GuardedConnection, connect_read_only, immediate
from harvester.workflow.store_mark import APPLICATION_ID
from harvester.workflow.store_writer import StoreWriter, Submit
from harvester.workflow.wal_checkpoints import AUTO_CHECKPOINT_PAGES, Checkpoints

_T = TypeVar("_T")

SERVER_DATE = "server_date"
"""The meta key of the earliest day the store's records were answered on (ISO, UTC)."""

PAGE_SIZE = 16384
"""SQLite's page size for a new store: the kept records' blobs (~512 KB a batch, stored as they
are when they compress poorly) span 4x fewer overflow pages than at the default 4096, each a
write to the WAL and another at its checkpoint: committing them cost 1.7-2.0 ms/MB instead of
2.9-3.6 (best and median of 5 on this machine; 3.15 GB in the 21 KB run, benchmarks/WEIGHT.md)."""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources(
    position INTEGER PRIMARY KEY, uid INTEGER NOT NULL UNIQUE, status TEXT);
CREATE TABLE IF NOT EXISTS chunks(
    chunk INTEGER PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL,
    linked INTEGER NOT NULL DEFAULT 0, mode TEXT);
CREATE TABLE IF NOT EXISTS edges(
    source INTEGER NOT NULL, link INTEGER NOT NULL, rank INTEGER NOT NULL,
    target INTEGER NOT NULL, score INTEGER, PRIMARY KEY(source, link, rank)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS targets(
    uid INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, link INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT {TargetState.PENDING:d}, entry INTEGER);
CREATE INDEX IF NOT EXISTS targets_by_chunk ON targets(chunk, state);
CREATE TABLE IF NOT EXISTS entries(
    entry INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, link INTEGER,
    webenv TEXT NOT NULL, query_key TEXT NOT NULL, expected INTEGER NOT NULL,
    reported INTEGER, created REAL NOT NULL, state TEXT NOT NULL DEFAULT '{EntryState.OPEN}',
    page_size INTEGER);
CREATE TABLE IF NOT EXISTS pages(
    entry INTEGER NOT NULL, retstart INTEGER NOT NULL, PRIMARY KEY(entry, retstart))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records(uid INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kept(batch INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS notes(at REAL NOT NULL, text TEXT NOT NULL);
"""


def _with_target_entries(db: sqlite3.Connection) -> None:
    """The targets' History entry column and its index; a store made before targets named
    their entry gets the column, filled from its entries (each chunk's, or link name's,
    targets in its latest entry), so a resumed run finds what is already posted."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(targets)")}
    if "entry" not in columns:
        db.execute("ALTER TABLE targets ADD COLUMN entry INTEGER")
        db.execute(
            "UPDATE targets SET entry=(SELECT max(e.entry) FROM entries e WHERE "
            "e.chunk=targets.chunk AND (e.link IS NULL OR e.link=targets.link) AND e.state!=?)",
            (EntryState.REPLACED,),
        )
    db.execute("CREATE INDEX IF NOT EXISTS targets_by_entry ON targets(entry, state)")


def _with_entry_page_sizes(db: sqlite3.Connection) -> None:
    """The entries' page size column; a store made before entries planned their pages gets it
    empty, and its entries are paged at the job's page size, as they were."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(entries)")}
    if "page_size" not in columns:
        db.execute("ALTER TABLE entries ADD COLUMN page_size INTEGER")


def _lock(job_dir: Path) -> int:
    """One run per job directory: an flock the kernel drops when the process dies, even by
    SIGKILL, so a crashed run never leaves a stale lock behind."""
    fd = os.open(job_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreError(
            f"the job directory {job_dir} is in use by another harvester run; "
            "wait for it to finish or stop it first"
        ) from None
    return fd


@contextlib.contextmanager
def holding(job_dir: Path) -> Iterator[None]:
    """The job directory (made if new) locked for one run while the block runs: taken before
    anything is written into it, so two runs started at once never race on its files."""
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        fd = _lock(job_dir)
    except OSError as exc:
        raise StoreError(f"cannot open the job store in {job_dir}: {exc.strerror}") from None
    try:
        yield
    finally:
        os.close(fd)  # releases the flock


def in_use(job_dir: Path) -> bool:
    """Whether a run holds the job directory's lock right now (for `harvester status`)."""
    try:
        fd = os.open(job_dir / "lock", os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock this probe may have taken
    return False


@dataclass(frozen=True, slots=True)
class Entry:
    """A History entry: a neighbor_history entry holding one chunk's targets of one link name
    (`link`), or an epost (`link` None) of targets pooled from chunks from `chunk` on."""

    entry: int
    chunk: int
    link: int | None
    webenv: str
    query_key: str
    expected: int
    reported: int | None
    state: EntryState
    page_size: int | None = None
    """Records per page, set when the entry starts paging (page_plan.py); None before, or
    in a store made before entries planned their pages (then paged at the job's size)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    chunk: int
    first: int
    last: int
    linked: bool
    mode: Posting | None


def _entry(row: tuple[Any, ...], states: dict[int, EntryState]) -> Entry:
    """An entries row, its state read back as an EntryState (as set, if its write is queued)."""
    entry, chunk, link, webenv, query_key, expected, reported, state, page_size = row
    state = states.get(entry, EntryState(state))
    return Entry(entry, chunk, link, webenv, query_key, expected, reported, state, page_size)


def _connect(path: Path, check_same_thread: bool = True) -> GuardedConnection:
    """A connection to the store's file that writes as the store does: autocommit, and WAL's
    NORMAL sync (a committed transaction outlives the process; a power cut may lose the last
    few, never tear one), its automatic checkpoint at a far larger WAL than SQLite's default
    (the Checkpoints thread does them once records are committed, wal_checkpoints.py)."""
    db = sqlite3.connect(
        path, isolation_level=None, factory=GuardedConnection, check_same_thread=check_same_thread
    )
    db.path = path
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint={AUTO_CHECKPOINT_PAGES}")  # Checkpoints does them
    return db


class Store:
    """The job's durable state; every mutating method commits before it returns."""

    def __init__(self, path: Path, lock: bool = True, read_only: bool = False) -> None:
        """Open (or create) the store; `read_only` opens an existing one to read beside the
        run that holds it (no lock, no writes)."""
        self.path = path
        self._lock_fd: int | None = None
        self._writer: StoreWriter | None = None
        """While a harvest runs: where the writes go, off the event loop (store_writer.py)."""
        self._wrote: StoreWriter | None = None
        """The latest writer, whose writes may still be running after it was detached."""
        self._states: dict[int, EntryState] = {}
        """Entry states set while a writer is attached, read back before their write is made."""
        self._checkpoints: Checkpoints | None = None
        """Started with the first records committed (wal_checkpoints.py)."""
        try:
            if read_only:
                if not path.is_file():
                    raise StoreError(f"no job store at {path} (its job directory is gone)")
                self._db = connect_read_only(path)
                self._db.execute("SELECT count(*) FROM sqlite_master")  # a store at all?
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            if lock:
                self._lock_fd = _lock(path.parent)
            self._db = _connect(path)
            self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file's; an old one keeps its
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            _with_target_entries(self._db)
            _with_entry_page_sizes(self._db)
            self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # store_mark.py
        except OSError as exc:
            self._release_lock()
            raise StoreError(f"cannot open the job store {path}: {exc.strerror}") from None
        except StoreError:
            self._release_lock()
            raise

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.close()
            self._checkpoints = None
        self._db.close()
        self._release_lock()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection for the calling thread: the writer's while it makes a queued write,
        else the store's own (the loop's, which reads what is committed)."""
        writer = self._wrote
        return writer.connection if writer is not None and writer.here() else self._db

    @contextlib.asynccontextmanager
    async def writing_off_loop(self, submit: Submit) -> AsyncIterator[None]:
        """While the block runs, writes made through `run` and the small writes below go to
        the thread `submit` queues on, in order, on a connection of their own; every one is
        made (or has failed, raised here) when the block ends."""
        self._start_checkpoints()  # here, not by a write on the writer's thread after close()
        writer = StoreWriter(submit, _connect(self.path, check_same_thread=False))
        self._writer = self._wrote = writer
        try:
            yield
        finally:
            try:
                await writer.drain()
            finally:
                self._writer = None
                self._states.clear()
                writer.close()

    def _start_checkpoints(self) -> None:
        """The WAL's checkpoints on their thread (wal_checkpoints.py), once per store."""
        if self._checkpoints is None:
            self._checkpoints = Checkpoints(self.path)
            weakref.finalize(self, self._checkpoints.stop)  # a store dropped without close()

    def run(self, write: Callable[[], _T]) -> asyncio.Future[_T]:
        """`write()` (a method of this store) queued now on the writing thread if one is
        attached, after every write queued before it; else made here. Its answer to await."""
        if self._writer is not None:
            return self._writer.queue(write)
        made: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        try:
            made.set_result(write())
        except Exception as exc:
            made.set_exception(exc)
        return made

    def _small_write(self, sql: str, args: tuple[object, ...]) -> None:
        """One statement in its own transaction: queued behind the writes before it while a
        writer is attached (nothing waits for it: the loop goes on), else made here."""
        writer = self._writer
        if writer is None or writer.here():
            self.db.execute(sql, args)
        else:
            writer.queue(partial(self._small_write, sql, args))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        """Closed, and the job directory's lock given back, however the block ends."""
        self.close()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def reset(self) -> None:
        """Forget everything (`--restart`), under this run's lock."""
        tables = [
            r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")
        self.db.executescript(SCHEMA)
        _with_target_entries(self.db)
        _with_entry_page_sizes(self.db)
        self.db.execute("VACUUM")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back when it raises, so a
        failed write (a full disk) leaves the store as it was and the connection usable. It
        runs between parse steps, never beside one (parse.CPU_TURNS says why)."""
        with CPU_TURNS, immediate(self.db) as db:
            yield db

    # -- meta and set-up -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def note(self, text: str) -> None:
        self._small_write("INSERT INTO notes VALUES(?, ?)", (time.time(), text))

    def initialise(
        self,
        config_hash: str,
        sources: Iterable[int],
        batch: int,
        linknames: Sequence[str] = (),
        fields_key: str = "[]",
        bounds: Iterable[tuple[int, int, int]] | None = None,
    ) -> None:
        """Store the source ids and their chunks once, with the job's hash, its link names (the
        index numbers them in this order) and the fields its records are extracted with,
        atomically. The chunks are `batch` sources each, or `bounds` (chunk, first, last
        position) when given (a refresh's, refresh_chunks.py)."""
        with self._tx() as db:
            db.executemany("INSERT INTO sources(position, uid) VALUES(?, ?)", enumerate(sources))
            total = db.execute("SELECT count(*) FROM sources").fetchone()[0]
            db.executemany(
                "INSERT INTO chunks(chunk, first, last) VALUES(?, ?, ?)",
                chunks(total, batch) if bounds is None else bounds,
            )
            db.execute("INSERT INTO meta VALUES('config_hash', ?)", (config_hash,))
            db.execute("INSERT INTO meta VALUES('fields', ?)", (fields_key,))
            db.execute("INSERT INTO meta VALUES('created', ?)", (str(time.time()),))
            db.execute("INSERT INTO meta VALUES('linknames', ?)", (",".join(linknames),))

    # -- chunks and the index --------------------------------------------------------------
    def chunks(self, where: str = "", args: tuple[int, ...] = ()) -> list[Chunk]:
        return [
            Chunk(c, f, la, bool(lk), Posting(m) if m else None)
            for c, f, la, lk, m in self.db.execute(
                f"SELECT chunk, first, last, linked, mode FROM chunks {where}", args
            )
        ]

    def chunk(self, chunk: int) -> Chunk:
        """One chunk's row, as it stands now."""
        (found,) = self.chunks("WHERE chunk=?", (chunk,))
        return found

    def pending_total(self) -> int:
        """Targets still without a record or NCBI's word that it has none."""
        return int(
            self.db.execute(
                "SELECT count(*) FROM targets WHERE state=?", (TargetState.PENDING,)
            ).fetchone()[0]
        )

    def chunk_sources(self, chunk: Chunk) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT uid FROM sources WHERE position BETWEEN ? AND ? ORDER BY position",
                (chunk.first, chunk.last),
            )
        ]

    def linknames(self) -> list[str]:
        """The link names the index numbers, in order: the job's, then any registered since."""
        return [name for name in (self.get_meta("linknames") or "").split(",") if name]

    def commit_links(
        self,
        chunk: int,
        statuses: dict[int, SourceStatus],
        edges: Sequence[tuple[int, int, int, int, int | None]],
        linknames: Sequence[str] | None = None,
        history_from: int = 1,
    ) -> tuple[Posting, int]:
        """Store a chunk's index and claim its new targets; returns (mode, targets claimed),
        the mode saying how they will be posted:
        'history' when every target is new to this job, belongs to one link name, and each
        link name has at least `history_from` of them (a page: a neighbor_history entry is
        worth its size check only when it fills pages);
        'post' otherwise, when some are new: pooled with other chunks' and posted together;
        'none' when nothing is new.
        `linknames`, when given, replaces the numbered names in the same transaction (names
        first seen in this chunk's answer), so resume and output keep them."""
        with self._tx() as db:
            if linknames is not None:
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES('linknames', ?)", (",".join(linknames),)
                )
            db.executemany(
                "UPDATE sources SET status=? WHERE uid=?", [(s, uid) for uid, s in statuses.items()]
            )
            db.executemany("INSERT OR REPLACE INTO edges VALUES(?, ?, ?, ?, ?)", edges)
            distinct: dict[int, int] = {}
            per_link_total = 0
            seen_per_link: set[tuple[int, int]] = set()
            for _source, link, _rank, target, _score in edges:
                distinct.setdefault(target, link)
                if (link, target) not in seen_per_link:
                    seen_per_link.add((link, target))
                    per_link_total += 1
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO targets(uid, chunk, link) VALUES(?, ?, ?)",
                ((t, chunk, link) for t, link in distinct.items()),
            )
            claimed = db.total_changes - before
            per_link = collections.Counter(distinct.values())
            if claimed == 0:
                mode = Posting.NONE
            elif claimed == len(distinct) == per_link_total and min(per_link.values()) >= (
                history_from
            ):
                mode = Posting.HISTORY
            else:
                mode = Posting.POST
            db.execute("UPDATE chunks SET linked=1, mode=? WHERE chunk=?", (mode, chunk))
        return mode, claimed

    def chunk_targets(
        self, chunk: int, link: int | None = None, pending_only: bool = False
    ) -> list[int]:
        where, args = _targets_of(chunk, link, pending_only)
        rows = self.db.execute(f"SELECT uid FROM targets {where} ORDER BY uid", args)
        return [r[0] for r in rows]

    def count_targets(self, uids: Sequence[int]) -> int:
        """How many of `uids` are targets of the job, in any state."""
        total = 0
        for start in range(0, len(uids), 500):
            batch = uids[start : start + 500]
            marks = ",".join("?" * len(batch))
            (found,) = self.db.execute(
                f"SELECT count(*) FROM targets WHERE uid IN ({marks})", batch
            ).fetchone()
            total += found
        return int(total)

    def pending_among(self, uids: Sequence[int]) -> list[int]:
        """Those of `uids` that are targets still without a record, in the order given."""
        pending = set(self._targets_in_state(TargetState.PENDING, uids))
        return [uid for uid in uids if uid in pending]

    def _targets_in_state(self, state: TargetState, uids: Sequence[int]) -> Iterator[int]:
        """Those of `uids` that are targets in `state`, asked in batches under SQLite's
        bound-parameter limit."""
        for start in range(0, len(uids), 500):
            batch = uids[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self.db.execute(
                f"SELECT uid FROM targets WHERE state=? AND uid IN ({marks})", (state, *batch)
            )
            yield from (r[0] for r in rows)

    def count_pending(self, chunk: int, link: int | None = None) -> int:
        """How many of a chunk's targets (of one link, if given) still lack a record."""
        where, args = _targets_of(chunk, link, pending_only=True)
        return int(self.db.execute(f"SELECT count(*) FROM targets {where}", args).fetchone()[0])

    def chunk_link_counts(self, chunk: int) -> dict[int, int]:
        return dict(
            self.db.execute(
                "SELECT link, count(*) FROM targets WHERE chunk=? GROUP BY link", (chunk,)
            )
        )

    # -- History entries and pages ---------------------------------------------------------
    def add_entries(self, rows: Sequence[tuple[int, int, str, str, int]]) -> list[Entry]:
        """Record a chunk's neighbor_history entries (chunk, link, webenv, query_key, expected)
        in one transaction, each holding the chunk's targets of its link name."""
        with self._tx() as db:
            ids = []
            for chunk, link, webenv, key, expected in rows:
                cur = db.execute(
                    "INSERT INTO entries(chunk, link, webenv, query_key, expected, created) "
                    "VALUES(?, ?, ?, ?, ?, ?)",
                    (chunk, link, webenv, key, expected, time.time()),
                )
                db.execute(
                    "UPDATE targets SET entry=? WHERE chunk=? AND link=?",
                    (cur.lastrowid, chunk, link),
                )
                ids.append(cur.lastrowid)
        return [self.entry(i) for i in ids if i is not None]

    def add_post(
        self, uids: Sequence[int], webenv: str, query_key: str, page_size: int | None = None
    ) -> Entry:
        """Record an epost of `uids` (targets of any chunks) as one entry holding them, paged
        at `page_size` if given (else planned when it starts). Its size is known, as we posted
        it: no size check; the pages and the confirmation by id say which of them NCBI has.
        Named by the earliest chunk among them."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO entries(chunk, link, webenv, query_key, expected, reported, created,"
                " page_size) VALUES(-1, NULL, ?, ?, ?, ?, ?, ?)",
                (webenv, query_key, len(uids), len(uids), time.time(), page_size),
            )
            entry = cur.lastrowid
            db.executemany("UPDATE targets SET entry=? WHERE uid=?", ((entry, u) for u in uids))
            db.execute(
                "UPDATE entries SET chunk=coalesce((SELECT min(chunk) FROM targets WHERE entry=?),"
                " -1) WHERE entry=?",
                (entry, entry),
            )
        assert entry is not None
        return self.entry(entry)

    def entry_targets(self, entry: int, pending_only: bool = False) -> list[int]:
        """The targets an entry holds (those still without a record), ascending."""
        where, args = "WHERE entry=?", [entry]
        if pending_only:
            where, args = where + " AND state=?", [entry, TargetState.PENDING]
        rows = self.db.execute(f"SELECT uid FROM targets {where} ORDER BY uid", args)
        return [r[0] for r in rows]

    def count_entry_pending(self, entry: int) -> int:
        """How many of an entry's targets still lack a record."""
        return int(
            self.db.execute(
                "SELECT count(*) FROM targets WHERE entry=? AND state=?",
                (entry, TargetState.PENDING),
            ).fetchone()[0]
        )

    def unposted(self, chunk: int | None = None) -> list[int]:
        """Pending targets of linked chunks that no open entry holds and none will: on no
        entry in a chunk pooling its targets (post) or in a history chunk whose neighbor_history
        answered (some of its targets are on entries: it left a link name out), or on an entry
        replaced (its WebEnv lost) before the new one was recorded, its state read back as set
        even while its write is queued (as `entry` reads it). Of one chunk, if given; in
        chunk order."""
        where = "" if chunk is None else f"AND t.chunk={int(chunk)}"
        closed = [e for e, state in self._states.items() if state != EntryState.OPEN]
        marks = ",".join("?" * len(closed))  # closed while their write is still queued
        rows = self.db.execute(
            "SELECT t.uid FROM targets t JOIN chunks c ON c.chunk=t.chunk "
            "WHERE t.state=? AND c.linked=1 AND (t.entry IS NULL AND (c.mode=? OR "
            "EXISTS(SELECT 1 FROM targets p WHERE p.chunk=c.chunk AND p.entry IS NOT NULL)) "
            f"OR t.entry IN (SELECT entry FROM entries WHERE state!=?) OR t.entry IN ({marks})) "
            f"{where} ORDER BY t.chunk, t.uid",
            (TargetState.PENDING, Posting.POST, EntryState.OPEN, *closed),
        )
        return [r[0] for r in rows]

    def entry(self, entry: int) -> Entry:
        row = self.db.execute(
            "SELECT entry, chunk, link, webenv, query_key, expected, reported, state, page_size "
            "FROM entries WHERE entry=?",
            (entry,),
        ).fetchone()
        return _entry(row, self._states)

    def entries(self, states: Sequence[EntryState] = (EntryState.OPEN,)) -> list[Entry]:
        marks = ",".join("?" * len(states))
        where, args = (f"WHERE state IN ({marks})", tuple(states)) if not self._states else ("", ())
        rows = self.db.execute(
            "SELECT entry, chunk, link, webenv, query_key, expected, reported, state, "
            f"page_size FROM entries {where} ORDER BY entry",
            args,
        )
        return [e for e in (_entry(r, self._states) for r in rows) if e.state in states]

    def chunk_posted(self, chunk: int) -> bool:
        """Whether any target the chunk claimed is on a History entry."""
        row = self.db.execute(
            "SELECT 1 FROM targets WHERE chunk=? AND entry IS NOT NULL LIMIT 1", (chunk,)
        ).fetchone()
        return row is not None

    def set_reported(self, entry: int, count: int) -> None:
        self._small_write("UPDATE entries SET reported=? WHERE entry=?", (count, entry))

    def set_page_size(self, entry: int, page_size: int) -> None:
        self._small_write("UPDATE entries SET page_size=? WHERE entry=?", (page_size, entry))

    def set_entry_state(self, entry: int, state: EntryState) -> None:
        if self._writer is not None:
            self._states[entry] = state  # read back as set, before the write is made
        self._small_write("UPDATE entries SET state=? WHERE entry=?", (state, entry))

    def done_pages(self, entry: int) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT retstart FROM pages WHERE entry=?", (entry,))}

    def commit_records(
        self,
        records: Sequence[tuple[int, tuple[bytes, bytes]]],
        missing: Sequence[int] = (),
        page: tuple[int, int] | None = None,
        day: datetime.date | None = None,
    ) -> int:
        """Store fetched records, each as (uid, (output value, whole record)): the values
        (first copy wins) and the whole records kept in one blob; mark targets, finish a page,
        and keep `day` (the earliest the answers named; None: the day the store was created)
        as the store's `server_date` if earlier; returns how many of the records were targets
        still pending."""
        self._start_checkpoints()  # the records make the WAL grow: checkpoints off the loop
        with self._tx() as db:
            _note_day(db, day)
            before = db.total_changes
            db.executemany(
                "UPDATE targets SET state=? WHERE uid=? AND state=?",
                ((TargetState.FETCHED, uid, TargetState.PENDING) for uid, _ in records),
            )
            fresh = db.total_changes - before
            db.executemany(
                "INSERT OR IGNORE INTO records VALUES(?, ?)",
                ((u, value) for u, (value, _) in records),
            )
            if records:
                whole = (
                    records.blob
                    if isinstance(records, kept.Packed)
                    else kept.pack([(uid, body) for uid, (_, body) in records])
                )
                db.execute("INSERT INTO kept(data) VALUES(?)", (whole,))
            db.executemany(
                "UPDATE targets SET state=? WHERE uid=? AND state=?",
                ((TargetState.MISSING, uid, TargetState.PENDING) for uid in missing),
            )
            if page is not None:
                db.execute("INSERT OR IGNORE INTO pages VALUES(?, ?)", page)
        return fresh

    def kept_records(self) -> Iterator[tuple[int, bytes]]:
        """Every fetched record whole, (uid, body), in the order they were committed."""
        for (blob,) in self.db.execute("SELECT data FROM kept ORDER BY batch"):
            yield from kept.unpack(blob)

    def replace_records(self, values: Iterable[tuple[int, bytes]], fields_key: str) -> None:
        """Swap every output value for `values` (first copy wins, as when fetched) and record
        which fields they hold, in one transaction."""
        with self._tx() as db:
            db.execute("DELETE FROM records")
            db.executemany("INSERT OR IGNORE INTO records VALUES(?, ?)", values)
            db.execute("INSERT OR REPLACE INTO meta VALUES('fields', ?)", (fields_key,))


def _note_day(db: sqlite3.Connection, day: datetime.date | None) -> None:
    """The store's server_date, lowered to `day` (or, unknown, to the day it was created)."""
    known = day.isoformat() if day is not None else None
    db.execute(
        "INSERT INTO meta SELECT ?, d FROM (SELECT coalesce(?, (SELECT date(CAST(value AS REAL),"
        " 'unixepoch') FROM meta WHERE key='created')) AS d) WHERE d IS NOT NULL"
        " ON CONFLICT(key) DO UPDATE SET value=min(value, excluded.value)",
        (SERVER_DATE, known),
    )


def _targets_of(chunk: int, link: int | None, pending_only: bool) -> tuple[str, list[object]]:
    """The WHERE clause (and its arguments) picking a chunk's targets, by link and state."""
    where, args = "WHERE chunk=?", list[object]([chunk])
    if link is not None:
        where += " AND link=?"
        args.append(link)
    if pending_only:
        where += " AND state=?"
        args.append(TargetState.PENDING)
    return where, args
