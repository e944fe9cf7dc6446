"""SIGTERM stops a run as Ctrl-C does: one line, exit 130, and the same command resumes it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from harvester.errors import EXIT_INTERRUPTED
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import (
    TINY,
    assert_matches_ground_truth,
    linked_chunks,
    read_jsonl,
    write_job_file,
)
from tests.processes import reaped, start_run

GENES = [3718, 7157] + [TINY.maps["gene"].uid(i) for i in range(12)]


def _job_file(tmp: Path) -> Path:
    """A job paced slowly enough (8 requests a second) to be stopped in the middle."""
    return write_job_file(
        tmp,
        GENES,
        elink_batch=3,
        fetch={"page_size": 20},
        job_dir=str(tmp / "job"),
        rate=8,
        concurrency=1,
    )


def test_sigterm_mid_run_says_so_exits_130_and_the_rerun_resumes(tmp_path: Path) -> None:
    job = _job_file(tmp_path)
    proc = start_run(job)
    with reaped(proc):
        while proc.poll() is None and linked_chunks(tmp_path / "job" / STORE_NAME) < 1:
            time.sleep(0.01)  # polling for progress, not timing anything
        assert proc.poll() is None, "the run ended before it could be stopped"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert err == "harvester: interrupted by SIGTERM; run the same command again to resume\n"
    assert not (tmp_path / "out.jsonl").exists()
    assert linked_chunks(tmp_path / "job" / STORE_NAME) >= 1  # what was done is kept

    with reaped(start_run(job)) as (again,):
        _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert_matches_ground_truth(read_jsonl(tmp_path / "out.jsonl"), GENES)
