"""The gate idle before any chunk is linked (the first elinks out, every other piece of work
waiting on their answers): the chunks' neighbor_history goes out in those free turns, so pages
start with the first answers. An emulator answering at once never leaves the gate idle so long,
so nothing is sent on speculation there (request counts stay as planned)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harvest_helpers import TINY, make_job

from harvester.emulator.config import EmulatorConfig
from harvester.workflow.runner import RunOptions, run_job

GENES = [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)][:300]
JOB = {"elink_batch": 100, "rate": 10, "concurrency": 16}


def _run(tmp: Path, latency: str) -> dict[str, object]:
    job = make_job(tmp, GENES, **JOB)
    options = RunOptions(quiet=True, emulator=EmulatorConfig(latency=latency))
    return asyncio.run(run_job(job, options))


def test_chunks_send_their_neighbor_history_in_turns_the_gate_would_lose(tmp_path: Path) -> None:
    slow = _run(tmp_path / "slow", "realistic")  # a 100-id elink takes ~1 s, as NCBI's
    fast = _run(tmp_path / "fast", "zero")
    assert slow["speculated_when_idle"] >= 1
    assert fast["speculated_when_idle"] == 0
    assert (tmp_path / "slow" / "out.jsonl").read_bytes() == (
        tmp_path / "fast" / "out.jsonl"
    ).read_bytes()
