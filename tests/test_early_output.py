"""The output written during the run, chunk by chunk as each settles, the rest while the last
by-id confirmations are out: published only when the store shows it is exactly what a write
after the run would give, and never left behind."""

from __future__ import annotations

import asyncio
import threading
import time

import orjson
import pytest
from harvest_helpers import TINY, assert_matches_ground_truth, make_job, read_jsonl

from harvester.harvest.early_output import EarlyOutput
from harvester.harvest.output import early_path, write_output
from harvester.harvest.runner import RunOptions, run_job
from harvester.harvest.store import MISSING, PENDING, Store

GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(60)]


async def writer_ended() -> None:
    deadline = time.monotonic() + 10
    while any(t.name == "early-output" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the early writer never stopped"
        await asyncio.sleep(0.005)


def leftovers(job) -> list[str]:
    """Temporary files beside the output, once the early writer's thread has ended."""
    deadline = time.monotonic() + 10
    while any(t.name == "early-output" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the early writer never stopped"
        time.sleep(0.005)
    return sorted(p.name for p in job.output.path.parent.glob(f".{job.output.path.name}.*"))


async def test_a_run_with_missing_ids_publishes_the_early_output_and_it_matches_a_late_write(
    tmp_path,
):
    job = make_job(tmp_path, GENES, fetch={"page_size": 50})
    summary = await run_job(job, RunOptions(quiet=True))
    assert summary["counts"]["targets_missing"] > 0  # so the early write took some as missing
    assert summary["output_written_early"] is True
    assert_matches_ground_truth(read_jsonl(job.output.path), GENES)
    early = job.output.path.read_bytes()
    store = Store(job.job_dir / "state.sqlite", lock=False)
    try:
        write_output(store, job)
    finally:
        store.close()
    assert job.output.path.read_bytes() == early
    assert leftovers(job) == []


async def finished_store_with_one_target_pending(tmp_path):
    """A finished job's store, with one missing target put back to pending (as while its
    confirmation is out), and the job."""
    job = make_job(tmp_path, GENES, fetch={"page_size": 50})
    await run_job(job, RunOptions(quiet=True))
    store = Store(job.job_dir / "state.sqlite")
    uid = store.db.execute(f"SELECT uid FROM targets WHERE state={MISSING} LIMIT 1").fetchone()[0]
    store.db.execute(f"UPDATE targets SET state={PENDING} WHERE uid=?", (uid,))
    job.output.path.unlink()
    return job, store, uid


async def test_an_early_output_is_published_when_the_pending_id_proves_missing(tmp_path):
    job, store, uid = await finished_store_with_one_target_pending(tmp_path)
    try:
        early = EarlyOutput(job, store)
        early.start()
        early.nothing_left_to_fetch()  # its chunk is written with the id as missing
        await writer_ended()
        store.commit_records([], missing=[uid])  # the confirmation: still no record
        assert await early.publish_if_current()
        assert_matches_ground_truth(read_jsonl(job.output.path), GENES)
    finally:
        store.close()
    assert leftovers(job) == []


async def test_a_chunk_is_written_once_it_settles_and_then_holds_the_late_record(tmp_path):
    job, store, uid = await finished_store_with_one_target_pending(tmp_path)
    try:
        early = EarlyOutput(job, store)
        early.start()
        await asyncio.sleep(0.3)  # the writer waits for the chunk holding the pending id
        assert any(t.name == "early-output" for t in threading.enumerate())
        store.commit_records([(uid, orjson.dumps({"SNP_ID": str(uid)}))])  # it came back
        assert await early.publish_if_current()
        published = job.output.path.read_bytes()
        write_output(store, job)
    finally:
        store.close()
    assert job.output.path.read_bytes() == published
    assert leftovers(job) == []


async def test_an_early_output_is_dropped_when_a_record_arrives_after_it_was_written(tmp_path):
    job, store, uid = await finished_store_with_one_target_pending(tmp_path)
    try:
        early = EarlyOutput(job, store)
        early.start()
        early.nothing_left_to_fetch()
        await writer_ended()  # the id was written as missing
        store.commit_records([(uid, orjson.dumps({"SNP_ID": str(uid)}))])  # it came back
        assert not await early.publish_if_current()
        assert not job.output.path.exists()
        # the late write that follows replaces the early one's temporary file
        write_output(store, job)
    finally:
        store.close()
    record = next(
        link["record"]
        for row in read_jsonl(job.output.path)
        for link in row["links"]
        if link["id"] == str(uid)
    )
    assert record == {"SNP_ID": str(uid)}
    assert leftovers(job) == []


async def test_a_record_for_an_id_marked_missing_drops_the_early_output(tmp_path):
    """A settled chunk's rows are final only while a missing target never gets a record."""
    job, store, uid = await finished_store_with_one_target_pending(tmp_path)
    try:
        store.commit_records([], missing=[uid])
        early = EarlyOutput(job, store)
        early.start()
        await writer_ended()  # every chunk settled: written without waiting
        store.db.execute("INSERT INTO records VALUES(?, ?)", (uid, b"{}"))  # a stray answer
        assert not await early.publish_if_current()
        assert not job.output.path.exists()
    finally:
        store.close()
    assert leftovers(job) == []


@pytest.mark.parametrize("finished_first", [False, True])
async def test_a_failed_run_stops_the_early_write_and_leaves_no_file(tmp_path, finished_first):
    job, store, _ = await finished_store_with_one_target_pending(tmp_path)
    try:
        early = EarlyOutput(job, store)
        early.start()
        if finished_first:  # the thread wrote the whole temporary file before the run failed
            early.nothing_left_to_fetch()
            await writer_ended()
            assert early_path(job.output.path).exists()
        early.stop()
        assert not await early.publish_if_current()
    finally:
        store.close()
    assert not job.output.path.exists()
    assert leftovers(job) == []
