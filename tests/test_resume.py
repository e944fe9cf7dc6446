"""Durable jobs: SIGKILL at random points, resume each time, and get the clean run's bytes;
no page the store had finished is ever requested again; an expired WebEnv is rebuilt."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from harvest_helpers import SNP_FIELDS, TINY
from processes import reaped

from harvester.config import load_job
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.requestlog import read_log
from harvester.emulator.server import EmulatorThread
from harvester.workflow.runner import RunOptions, run_job

pytestmark = pytest.mark.usefixtures("quick_retries")
"""Resumed runs (in this process) retry quickly; the killed ones, in subprocesses, wait as usual."""

GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)]
ROOT = Path(__file__).resolve().parents[1]


def write_job(tmp: Path, base_url: str, name: str, rate: int = 60, concurrency: int = 6) -> Path:
    job = {
        "source": {"ids": GENES},
        "dbfrom": "gene",
        "db": "snp",
        "linkname": "gene_snp",
        "fields": SNP_FIELDS,
        "fetch": {"page_size": 40},
        "elink_batch": 25,
        "output": {"path": str(tmp / f"{name}.jsonl")},
        "endpoint": base_url,
        "policy": "custom",
        "rate": rate,
        "concurrency": concurrency,
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


@pytest.fixture(scope="module")
def clean_output(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The job's output from one uninterrupted run: what every killed or paused run must end in."""
    tmp = tmp_path_factory.mktemp("clean")
    with EmulatorThread(EmulatorConfig()) as emu:
        job = load_job(write_job(tmp, emu.base_url, "clean", rate=1000))
        asyncio.run(run_job(job, RunOptions(quiet=True)))
    return job.output.path.read_bytes()


def start(job: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "harvester", "run", str(job), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def finished_pages(store: Path) -> set[str]:
    """Pages the store has committed, labelled as the emulator's request log labels them."""
    if not store.exists():
        return set()
    try:
        with sqlite3.connect(store) as db:
            rows = db.execute(
                "SELECT e.webenv, e.query_key, p.retstart FROM pages p "
                "JOIN entries e ON e.entry = p.entry"
            ).fetchall()
    except sqlite3.OperationalError:  # the run is still creating its schema
        return set()
    return {f"{webenv}#{key}@{retstart}" for webenv, key, retstart in rows}


def kill_after_new_pages(
    proc: subprocess.Popen[bytes], store: Path, done: int, rng: random.Random, first: bool
) -> bool:
    """SIGKILL the run once it has committed a random number of new pages (the first run at
    a random moment of its start-up instead), so each kill lands mid-job however fast the
    machine is; False when the run finished first."""
    start_up = time.monotonic() + rng.uniform(0.1, 0.5) if first else None
    target = done + rng.randint(3, 30)
    deadline = time.monotonic() + 60
    while proc.poll() is None:
        now = time.monotonic()
        assert now < deadline, "the run made no progress for a minute"
        if (start_up is not None and now >= start_up) or (
            start_up is None and len(finished_pages(store)) >= target
        ):
            proc.send_signal(signal.SIGKILL)
            return proc.wait() == -signal.SIGKILL
        time.sleep(0.005)
    return False


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_gives_the_clean_runs_bytes(tmp_path, clean_output):
    log = tmp_path / "requests.jsonl"
    rng = random.Random(2026)
    with EmulatorThread(EmulatorConfig(request_log=log)) as emu:
        job_file = write_job(tmp_path, emu.base_url, "killed")
        store = load_job(job_file).job_dir / "state.sqlite"
        kills = 0
        for attempt in range(30):
            done_before = finished_pages(store)
            seen_before = len(read_log(log))
            with reaped(start(job_file)) as (proc,):
                if kill_after_new_pages(proc, store, len(done_before), rng, first=attempt == 0):
                    kills += 1
            asked_again = {e.page for e in read_log(log)[seen_before:]} & done_before
            assert not asked_again, f"finished pages requested again: {sorted(asked_again)[:3]}"
            if proc.returncode == 0:
                break
        else:
            raise AssertionError("the job never finished")
    assert kills >= 3, "the kills should land mid-job several times"
    killed_output = tmp_path / "killed.jsonl"
    assert killed_output.read_bytes() == clean_output
    assert not list(tmp_path.glob(".killed.jsonl.tmp-*"))


def paused_with_its_history_gone(tmp_path: Path, emu: EmulatorThread, concurrency: int = 6) -> Path:
    """Run the job, kill it once it has finished five pages, and let every WebEnv expire, as a
    long pause would: the paused job's file."""
    job_file = write_job(tmp_path, emu.base_url, "paused", concurrency=concurrency)
    store = load_job(job_file).job_dir / "state.sqlite"
    with reaped(start(job_file)) as (proc,):  # SIGKILLed however the wait below ends
        deadline = time.monotonic() + 30
        while len(finished_pages(store)) < 5 and proc.poll() is None:
            assert time.monotonic() < deadline, "the run made no progress for 30 s"
            time.sleep(0.02)
    assert emu.emulator.state.history.expire() > 0  # the pause outlived every WebEnv
    return job_file


def test_webenv_expired_while_paused_is_rebuilt_on_resume(tmp_path, clean_output):
    with EmulatorThread(EmulatorConfig()) as emu:
        job_file = paused_with_its_history_gone(tmp_path, emu)
        resumed = load_job(job_file, {"rate": 1000})  # pacing is not part of the job's identity
        summary = asyncio.run(run_job(resumed, RunOptions(quiet=True)))
    assert summary["counts"]["entries_rebuilt"] > 0
    assert (tmp_path / "paused.jsonl").read_bytes() == clean_output


def test_a_lost_webenv_is_found_lost_once_and_all_its_entries_rebuilt(tmp_path, clean_output):
    """One worker puts every entry in one WebEnv and resumes: the first read of it (a page or
    a size check) is tried three times, then every open entry of it is posted again and
    nothing reads it any more: three failed reads in all, not three per entry."""
    log = tmp_path / "requests.jsonl"
    with EmulatorThread(EmulatorConfig(request_log=log)) as emu:
        job_file = paused_with_its_history_gone(tmp_path, emu, concurrency=1)
        with sqlite3.connect(load_job(job_file).job_dir / "state.sqlite") as db:
            open_entries = db.execute("SELECT webenv FROM entries WHERE state='open'").fetchall()
        assert len(open_entries) > 1 and len(set(open_entries)) == 1
        seen = len(read_log(log))
        resumed = load_job(job_file, {"rate": 1000, "concurrency": 1})
        summary = asyncio.run(run_job(resumed, RunOptions(quiet=True)))
        (lost,) = set(open_entries)
        reads = [e for e in read_log(log)[seen:] if e.page and e.page.startswith(f"{lost[0]}#")]
    assert summary["retries"]["history"] == 3
    assert len(reads) <= 3
    assert summary["counts"]["entries_rebuilt"] >= len(open_entries)
    assert (tmp_path / "paused.jsonl").read_bytes() == clean_output
