"""Runs of one new job started at the same moment: the job directory's lock is taken before
anything is written into it, so one runs and the others refuse in one line, none crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import harvester
from harvester.errors import StoreError
from tests.harvest_helpers import TINY, make_job, read_jsonl, write_job_file

ROOT = Path(__file__).resolve().parents[1]
GENES = [3718, 7157] + [TINY.maps["gene"].uid(i) for i in range(10)]
RUNS = 10

# Each process imports everything first, then waits for the starting gun (a file), so the
# ten runs really begin together instead of one by one as each finishes importing.
_RUNNER = """
import os, sys, time
from harvester.cli import main
gun = sys.argv[1]
while not os.path.exists(gun):
    time.sleep(0.002)
sys.exit(main(["run", sys.argv[2], "--quiet"]))
"""


def _job_file(tmp: Path) -> Path:
    return write_job_file(tmp, GENES, rate=200)


def test_ten_simultaneous_runs_of_a_new_job_one_runs_the_others_refuse(tmp_path: Path) -> None:
    job = _job_file(tmp_path)
    gun = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RUNNER, str(gun), str(job)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(RUNS)
    ]
    try:
        time.sleep(0.2)  # not a timing assertion: lets the interpreters start before the gun
        gun.touch()
        ended = [(p.wait(timeout=240), p.stderr.read().decode() if p.stderr else "") for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    codes = sorted(code for code, _ in ended)
    assert set(codes) <= {0, StoreError.exit_code}, ended  # no crash (exit 1), no traceback
    assert codes.count(0) >= 1
    for code, err in ended:
        if code == StoreError.exit_code:
            assert err.count("\n") == 1 and "in use by another harvester run" in err, err
        assert "Traceback" not in err
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [int(r["source"]) for r in rows] == GENES
    assert not list((tmp_path / "harvest-output").glob("**/*.tmp*"))


def test_harvest_from_three_threads_at_once_raises_only_harvester_errors(tmp_path: Path) -> None:
    job = make_job(tmp_path, GENES, rate=200)
    start = threading.Barrier(3)
    outcomes: list[object] = []

    def one() -> None:
        start.wait()
        try:
            outcomes.append(harvester.harvest(job))
        except BaseException as exc:  # what each thread ends with is the assertion
            outcomes.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == 3
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(e, StoreError) for e in errors), errors
    assert len(errors) < 3
    assert [int(r["source"]) for r in read_jsonl(job.output.path)] == GENES


def test_a_run_refused_for_a_lock_leaves_the_job_directory_as_it_was(tmp_path: Path) -> None:
    """The refused run wrote nothing into the directory another run holds."""
    from harvester.workflow.store import holding

    job = make_job(tmp_path, GENES)
    with holding(job.job_dir):
        before = sorted(p.name for p in job.job_dir.iterdir())
        with pytest.raises(StoreError, match="in use by another harvester run"):
            harvester.harvest(job)
        assert sorted(p.name for p in job.job_dir.iterdir()) == before == ["lock"]
