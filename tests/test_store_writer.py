"""The job store is written off the event loop while a harvest runs (store_writer.py): a chunk's
links are committed while the loop goes on, every write is made, in the order made, by the
time the harvest ends, an entry's state reads back as set before its write is made, and the
first write that fails stops those after it. Against the real SQLite store; the run against the
emulator over loopback."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from harvest_helpers import make_job

from harvester.errors import StoreError
from harvester.stats import Stats
from harvester.workflow import runner
from harvester.workflow.engine import commit_counted
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job
from harvester.workflow.states import EntryState, SourceStatus, TargetState
from harvester.workflow.store import Store
from harvester.workflow.store_errors import immediate


class WatchedStore(Store):
    """The real store, noting for each commit of a chunk's links whether the event loop ran a
    callback while it was being made (it cannot, if the commit holds the loop)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop = asyncio.get_running_loop()
        self.loop_went_on: list[bool] = []
        self.threads: list[int] = []

    def commit_links(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.append(threading.get_ident())
        ran = threading.Event()
        self.loop.call_soon_threadsafe(ran.set)
        self.loop_went_on.append(ran.wait(timeout=30))  # never set if this blocks the loop
        return super().commit_links(*args, **kwargs)


async def test_a_chunks_links_are_committed_while_the_loop_goes_on(tmp_path, monkeypatch):
    stores: list[WatchedStore] = []

    def watched(path: Path, lock: bool = True, read_only: bool = False) -> Store:
        store = WatchedStore(path, lock=lock, read_only=read_only)
        stores.append(store)
        return store

    monkeypatch.setattr(runner, "Store", watched)
    job = make_job(tmp_path, [3718, 1017, 7157], elink_batch=1)
    loop_thread = threading.get_ident()
    summary = await run_job(job, RunOptions(quiet=True))
    assert summary["counts"]["sources"] == 3
    (store,) = stores
    assert len(store.loop_went_on) == 3 and all(store.loop_went_on)
    assert loop_thread not in store.threads
    with Store(job.job_dir / STORE_NAME, lock=False) as done:  # every write made, none left
        states = {e.state for e in done.entries(tuple(EntryState))}
        sizes = done.db.execute("SELECT count(*) FROM entries WHERE page_size IS NULL")
        assert states == {EntryState.DONE} and sizes.fetchone()[0] == 0
        assert done.pending_total() == 0


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "store.sqlite") as store:
        store.initialise("hash", [11, 12], batch=2, linknames=["gene_snp"])
        edges = [(11, 0, 0, 101, None), (12, 0, 0, 102, None)]
        store.commit_links(0, {11: SourceStatus.LINKED, 12: SourceStatus.LINKED}, edges)
        yield store


class HeldThread:
    """One writing thread that starts only once released, so writes queue up behind it."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1)
        self.release = threading.Event()
        self.pool.submit(self.release.wait, 30)

    def submit(self, work: Any) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().run_in_executor(self.pool, work)


async def test_writes_are_made_in_the_order_made_and_a_state_reads_back_before(store):
    held = HeldThread()
    async with store.writing_off_loop(held.submit):
        store.note("first")
        posted = store.run(partial(store.add_post, [101, 102], "W", "1"))
        store.note("second")
        assert store.get_meta("linknames") == "gene_snp"  # reads go on meanwhile
        held.release.set()
        entry = await posted
        store.set_entry_state(entry.entry, EntryState.DONE)
        assert store.entry(entry.entry).state == EntryState.DONE  # as set, made or not
        assert store.entries((EntryState.OPEN,)) == []
    notes = [r[0] for r in store.db.execute("SELECT text FROM notes ORDER BY rowid")]
    assert notes == ["first", "second"]
    (state,) = store.db.execute("SELECT state FROM entries").fetchone()
    assert EntryState(state) == EntryState.DONE


async def test_a_failed_write_stops_those_after_it_and_is_raised_when_the_harvest_ends(store):
    held = HeldThread()

    def broken() -> None:
        store.db.execute("INSERT INTO sources(position, uid) VALUES(0, 99)")  # position taken

    with pytest.raises(StoreError, match="UNIQUE"):
        async with store.writing_off_loop(held.submit):
            failing = store.run(broken)
            store.note("after the failure")
            held.release.set()
            with pytest.raises(StoreError, match="UNIQUE"):
                await failing
            with pytest.raises(StoreError, match="UNIQUE"):  # raised where the next is made
                store.note("later still")
    assert store.db.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    assert store.count_pending(0) == 2
    assert {r[0] for r in store.db.execute("SELECT state FROM targets")} == {TargetState.PENDING}


async def test_writes_still_out_when_the_harvest_is_cancelled_are_made_and_then_closed(store):
    held = HeldThread()

    async def harvest() -> None:
        async with store.writing_off_loop(held.submit):
            store.note("queued")

    task = asyncio.create_task(harvest())
    await asyncio.sleep(0)  # the block has run: its end waits for the write
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    held.release.set()
    await asyncio.get_running_loop().run_in_executor(held.pool, lambda: None)  # all made
    assert [r[0] for r in store.db.execute("SELECT text FROM notes")] == ["queued"]


async def test_a_write_whose_waiter_is_cancelled_is_made_before_the_harvest_ends(store):
    """SIGINT cancels a worker while its write (a commit_links) runs: the block still waits
    for that write, made whole on its own connection, not closed under it."""
    held = HeldThread()
    queued = threading.Event()

    def two_statements() -> None:
        with immediate(store.db) as db:
            db.execute("INSERT INTO notes VALUES(1, 'first half')")
            queued.wait(30)  # the waiter is cancelled meanwhile
            db.execute("INSERT INTO notes VALUES(2, 'second half')")

    async with store.writing_off_loop(held.submit):
        waiter = asyncio.ensure_future(store.run(two_statements))
        held.release.set()
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        queued.set()
    assert [r[0] for r in store.db.execute("SELECT text FROM notes")] == [
        "first half",
        "second half",
    ]


async def test_targets_of_an_entry_replaced_while_its_write_waits_are_unposted(store):
    """A lost WebEnv's entry is set REPLACED on the loop before its write is made: its
    pending targets are already unposted (to be put on a new entry), as `entry` reads it."""
    held = HeldThread()
    async with store.writing_off_loop(held.submit):
        posted = store.run(partial(store.add_post, [101, 102], "W", "1"))
        held.release.set()
        entry = await posted
        assert store.unposted() == []
        held.release.clear()
        held.pool.submit(held.release.wait, 30)  # the next write waits
        store.set_entry_state(entry.entry, EntryState.REPLACED)
        assert store.entry(entry.entry).state == EntryState.REPLACED
        assert store.unposted() == [101, 102]
        held.release.set()


async def test_records_committed_after_their_waiter_is_cancelled_are_counted(store):
    """A hedged copy's batch commit whose waiter is cancelled is still made: its records are
    counted then, and the winning copy committing the same records finds none new."""
    held = HeldThread()
    stats = Stats()
    records = [(101, (b"v101", b"w101")), (102, (b"v102", b"w102"))]
    async with store.writing_off_loop(held.submit):
        loser = asyncio.ensure_future(commit_counted(store, stats, records))
        await asyncio.sleep(0)
        loser.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loser
        held.release.set()
        assert await commit_counted(store, stats, records) == 0  # the loser's made first
    assert stats.get("harvest/records") == 2
    assert store.pending_total() == 0
