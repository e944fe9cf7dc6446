"""A neighbor_history sent on speculation beside a chunk's index elink that fails (every
attempt) leaves the chunk's index standing: the chunk asks for its History entries afterwards
as it would have without speculation, and the run ends with the output of a run without the
fault. The emulator fails the first neighbor_history elinks alone, by count, whatever is sent
beside them (`503@elink/neighbor_history:1:=1-N`, faults.py); one worker, so the first chunk's
speculated request, which goes out first, is the only neighbor_history out until it fails."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from harvest_helpers import TINY, make_job

from harvester.emulator.config import EmulatorConfig
from harvester.eutils.settings import ClientConfig
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job

pytestmark = pytest.mark.usefixtures("quick_retries")
GENES = list(TINY.uids("gene"))[:100]
ATTEMPTS = ClientConfig().max_attempts
"""Attempts a request gets: the speculated neighbor_history fails on every one."""


def _run(tmp: Path, faults: str) -> tuple[dict[str, Any], Counter[str], bytes]:
    tmp.mkdir()
    job = make_job(tmp, GENES, elink_batch=50, fetch={"page_size": 100}, concurrency=1)
    log = tmp / "requests.jsonl"
    options = RunOptions(quiet=True, emulator=EmulatorConfig(faults=faults, request_log=log))
    summary = asyncio.run(run_job(job, options))
    sent = Counter(orjson.loads(line)["endpoint"] for line in log.read_bytes().splitlines())
    with sqlite3.connect(job.job_dir / STORE_NAME) as db:
        (entries,) = db.execute("SELECT count(*) FROM entries WHERE chunk=0 AND link IS NOT NULL")
    assert entries[0] > 0  # the first chunk's targets went on by neighbor_history either way
    return summary, sent, job.output.path.read_bytes()


def test_a_failed_speculative_neighbor_history_leaves_the_chunks_index_standing(
    tmp_path: Path,
) -> None:
    clean, clean_sent, clean_output = _run(tmp_path / "clean", "")
    failing = f"503@elink/neighbor_history:1:=1-{ATTEMPTS}"
    failed, sent, output = _run(tmp_path / "failed", failing)
    assert clean["speculation_failed"] == 0 and failed["speculation_failed"] == 1
    assert failed["retries"] == {"http_503": ATTEMPTS}
    assert output == clean_output
    # the failed attempts, and the chunk's neighbor_history asked once more: nothing else
    assert sent["elink"] == clean_sent["elink"] + ATTEMPTS
    assert sent - Counter(elink=ATTEMPTS) == clean_sent
