"""The record cache shared by jobs, in real harvests on the emulator's clock: a second job
sharing half its targets with a first fetches only the other half and writes what it would
without the cache; two processes filling one cache at once both finish right; a record NCBI
revised between two jobs is fetched again, and one older than cache_max_age (0: any) is never
served from the cache. Real emulator over loopback, real SQLite."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harvester.cli import main
from harvester.config import JobConfig, load_job
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.requestlog import read_log
from harvester.emulator.spec import load_spec
from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.states import TargetState
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import make_job, write_job_file
from tests.processes import child_env, reaped, run_command

A, B = "2026-09-15", "2026-10-15"
"""A month apart, a dbSNP-like release between them (as in test_refresh.py): SNPs revised."""
AS_OF = {day: Dataset(load_spec(f"tiny@{day}")) for day in (A, B)}
GENES = list(itertools.islice(AS_OF[A].uids("gene"), 60))
FIRST, SECOND = GENES[:40], GENES[20:]
"""Two jobs whose sources overlap by half, and so (about) their targets."""
PAGE = 50
KEY = "cachewire-secret-key-0123456789"


def _job(folder: Path, genes: list[int], cache: Path | None, **keys: Any) -> JobConfig:
    folder.mkdir(parents=True, exist_ok=True)
    shared = {"cache": str(cache)} if cache is not None else {}
    return make_job(folder, genes, fetch={"page_size": PAGE}, elink_batch=20, **shared, **keys)


def _run(job: JobConfig, day: str, log: Path | None = None) -> Any:
    """Run `job` on the embedded emulator as of `day`; returns the summary."""
    dated = replace(job, endpoint=f"embedded:tiny@{day}")
    emulator = EmulatorConfig(request_log=log) if log is not None else None
    return asyncio.run(run_job(dated, RunOptions(quiet=True, emulator=emulator)))


def _fetched(job: JobConfig) -> set[int]:
    """The targets a job holds a record for."""
    with sqlite3.connect(job.job_dir / STORE_NAME) as db:
        rows = db.execute("SELECT uid FROM targets WHERE state=?", (TargetState.FETCHED,))
        return {uid for (uid,) in rows}


def _bodies(job: JobConfig) -> dict[int, bytes]:
    """The whole records a job's store keeps (the first copy of each), as fetched or served."""
    with Store(job.job_dir / STORE_NAME, read_only=True) as store:
        found: dict[int, bytes] = {}
        for uid, body in store.kept_records():
            found.setdefault(uid, body)
        return found


def _requests(log: Path) -> Counter[str]:
    return Counter(entry.endpoint for entry in read_log(log))


def _revised(uids: set[int]) -> set[int]:
    """Those SNPs the emulator revised between A and B."""
    return {t for t in uids if AS_OF[A].mdat("snp", t) != AS_OF[B].mdat("snp", t)}


def test_a_second_job_fetches_only_the_targets_no_earlier_job_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    cache = tmp_path / "cache"
    first = _job(tmp_path / "first", FIRST, cache)
    _run(first, B)
    second = _job(tmp_path / "second", SECOND, cache)
    summary = _run(second, B, tmp_path / "cached.log")
    plain = _job(tmp_path / "plain", SECOND, None)
    plain_summary = _run(plain, B, tmp_path / "plain.log")

    held, wanted = _fetched(first), _fetched(plain)
    shared = held & wanted
    assert 0.35 <= len(shared) / len(wanted) <= 0.65  # about half shared
    assert second.output.path.read_bytes() == plain.output.path.read_bytes()
    assert _bodies(second) == _bodies(plain)
    assert summary["records_fetched_this_run"] == len(wanted - held)  # only the other half
    assert summary["cache"]["records_from_cache"] == len(shared)
    assert plain_summary["records_fetched_this_run"] == len(wanted)
    cached, uncached = _requests(tmp_path / "cached.log"), _requests(tmp_path / "plain.log")
    assert cached["efetch"] < uncached["efetch"]
    assert summary["cache"]["mdat_queries"] >= 1
    assert summary["cache"]["records_put"] == len(wanted - held)
    for stored in cache.iterdir():  # the file, its WAL and lock: no API key anywhere
        assert KEY.encode() not in stored.read_bytes()


def test_a_record_revised_between_two_jobs_is_fetched_again_not_served_stale(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    first = _job(tmp_path / "first", FIRST, cache, cache_max_age="60d")
    _run(first, A)
    second = _job(tmp_path / "second", SECOND, cache, cache_max_age="60d")
    summary = _run(second, B)
    plain = _job(tmp_path / "plain", SECOND, None)
    _run(plain, B)

    held, wanted = _fetched(first), _fetched(plain)
    revised = _revised(held & wanted)
    assert revised  # the month revised some of the shared records
    assert second.output.path.read_bytes() == plain.output.path.read_bytes()
    assert _bodies(second) == _bodies(plain)  # whole records as of B, none as of A
    assert summary["records_fetched_this_run"] == len(wanted - held) + len(revised)
    assert summary["cache"]["records_from_cache"] == len(held & wanted) - len(revised)


@pytest.mark.parametrize("max_age", ["0", "7d"])
def test_a_record_older_than_cache_max_age_is_never_served_from_the_cache(
    tmp_path: Path, max_age: str
) -> None:
    """A is 30 days before B by the server's clock: past 7d; 0 serves nothing ever."""
    cache = tmp_path / "cache"
    _run(_job(tmp_path / "first", FIRST, cache, cache_max_age=max_age), A)
    second = _job(tmp_path / "second", SECOND, cache, cache_max_age=max_age)
    summary = _run(second, B)
    plain = _job(tmp_path / "plain", SECOND, None)
    _run(plain, B)
    assert summary["cache"]["records_from_cache"] == 0
    assert summary["records_fetched_this_run"] == len(_fetched(plain))
    assert second.output.path.read_bytes() == plain.output.path.read_bytes()
    if max_age == "0":  # not even offered as of the same day
        again = _run(_job(tmp_path / "again", SECOND, cache, cache_max_age="0"), B)
        assert again["cache"]["records_from_cache"] == 0


def test_two_processes_sharing_one_cache_at_once_both_finish_right(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = child_env()
    procs = []
    for name, genes in (("one", FIRST), ("two", SECOND)):
        folder = tmp_path / name
        folder.mkdir()
        job_file = write_job_file(
            folder, genes, fetch={"page_size": PAGE}, elink_batch=20, endpoint=f"embedded:tiny@{B}"
        )
        command = run_command(job_file, "--cache", str(cache))
        procs.append(subprocess.Popen(command, stderr=subprocess.PIPE, env=env, cwd=folder))
    with reaped(*procs):
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err.decode()
    fetched: set[int] = set()
    for name, genes in (("one", FIRST), ("two", SECOND)):
        folder = tmp_path / f"plain-{name}"
        folder.mkdir()  # the same job file's fields (YAML sorts them), without the cache
        plain = load_job(write_job_file(folder, genes, fetch={"page_size": PAGE}, elink_batch=20))
        _run(plain, B)
        cached = load_job(tmp_path / name / "job.yaml").output.path
        assert cached.read_bytes() == plain.output.path.read_bytes()
        fetched |= _fetched(plain)
    with sqlite3.connect(cache / "records.sqlite") as db:
        (held,) = db.execute("SELECT count(*) FROM records").fetchone()
    assert held == len(fetched)  # every record once, whichever process put it


def test_a_refresh_with_the_cache_on_asks_both_and_writes_what_a_fresh_run_writes(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    _run(_job(tmp_path / "other", SECOND, cache, cache_max_age="60d"), B)  # the cache: as of B
    job = _job(tmp_path / "job", FIRST, cache, cache_max_age="60d")
    _run(job, A)
    dated = replace(job, endpoint=f"embedded:tiny@{B}")
    summary = asyncio.run(run_job(dated, RunOptions(quiet=True, refresh=True)))
    plain = _job(tmp_path / "plain", FIRST, None)
    _run(plain, B)
    assert job.output.path.read_bytes() == plain.output.path.read_bytes()
    assert _bodies(job) == _bodies(plain)
    shared = _fetched(_job(tmp_path / "other", SECOND, None)) & _fetched(plain)
    # taken as of B, the later day, unless their History set also holds records as of A: it
    # is asked from A, so one revised in between is fetched once more (never served stale)
    assert 0 < summary["cache"]["records_from_cache"] <= len(shared)
    assert summary["refresh"]["records_reused"] > summary["cache"]["records_from_cache"]


def test_plan_says_whether_the_cache_is_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_file = write_job_file(tmp_path, FIRST[:2], endpoint=f"embedded:tiny@{B}")
    assert main(["plan", str(job_file), "--cache", str(tmp_path / "cache")]) == 0
    assert f"cache          on: {tmp_path / 'cache'} (records" in capsys.readouterr().out
    assert main(["plan", str(job_file)]) == 0
    assert "cache          off" in capsys.readouterr().out


def test_a_cache_another_process_holds_locked_is_a_warning_not_a_failed_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the cache's write lock for the whole run (past the busy timeout,
    shortened here): the job warns, goes on and writes what it writes without the cache."""
    from harvester.workflow import record_cache

    monkeypatch.setattr(record_cache, "BUSY_TIMEOUT", 0.05)
    _run(_job(tmp_path / "plain", FIRST, None), A)
    cache = tmp_path / "cache"
    record_cache.RecordCache(cache, source="x", max_bytes=10**9, max_age=1e9).close()
    holder = sqlite3.connect(cache / record_cache.CACHE_NAME, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing, and writing, and ...
        summary = _run(_job(tmp_path / "locked", FIRST, cache), A)
    finally:
        holder.close()
    assert "cache" not in summary  # it could not even be opened: the job ran without it
    locked, plain = (tmp_path / d / "out.jsonl" for d in ("locked", "plain"))
    assert locked.read_bytes() == plain.read_bytes()
