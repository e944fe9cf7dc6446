"""Nothing is lost: a few thousand source ids through every fault kind at 5%, a server that
vanishes mid-job and comes back, and WebEnvs that expire mid-run all give the fault-free output,
byte for byte. (The 20% and longer soaks are benchmarks/soak.py.)"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from harvest_helpers import TINY, make_job

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.faults import KINDS
from harvester.emulator.server import Emulator
from harvester.emulator.spec import load_spec
from harvester.errors import TransportError
from harvester.eutils.retry import Backoff, Retry, RetryState
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job

pytestmark = pytest.mark.usefixtures("quick_retries")

SOAK = Path(__file__).parent / "data" / "soak.yaml"
DATASET = Dataset(load_spec(SOAK))
SOAK_GENES = [DATASET.maps["gene"].uid(i) for i in range(DATASET.spec.genes)]
SOAK_JOB: dict[str, Any] = {"fetch": {"page_size": 25}, "elink_batch": 50}
TINY_GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)]
TINY_JOB: dict[str, Any] = {"fetch": {"page_size": 20}, "elink_batch": 10, "rate": 300}


@pytest.fixture(scope="module")
def clean_soak(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    """The soak job's output and summary without faults."""
    job = make_job(tmp_path_factory.mktemp("soak"), SOAK_GENES, **SOAK_JOB)
    emulator = EmulatorConfig(dataset=SOAK)
    summary = asyncio.run(run_job(job, RunOptions(quiet=True, emulator=emulator)))
    return job.output.path.read_bytes(), summary


@pytest.fixture(scope="module")
def clean_tiny(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    job = make_job(tmp_path_factory.mktemp("tiny"), TINY_GENES, **TINY_JOB)
    asyncio.run(run_job(job, RunOptions(quiet=True)))
    return job.output.path.read_bytes()


def test_the_clean_soak_output_is_the_ground_truth(clean_soak):
    rows = [orjson.loads(line) for line in clean_soak[0].splitlines()]
    truth = DATASET.ground_truth("gene_snp", SOAK_GENES)
    assert [int(r["source"]) for r in rows] == SOAK_GENES
    for row in rows:
        want = truth[int(row["source"])]
        assert [int(link["id"]) for link in row["links"]] == [g.target for g in want]
        assert [link["record"] is not None for link in row["links"]] == [g.has_record for g in want]


@pytest.mark.slow
async def test_every_fault_at_five_percent_changes_nothing(tmp_path, clean_soak):
    output, clean = clean_soak
    job = make_job(tmp_path, SOAK_GENES, **SOAK_JOB)
    log = tmp_path / "requests.jsonl"
    emulator = EmulatorConfig(
        dataset=SOAK, faults="mixed:0.05", seed=5, stall_seconds=0.0, request_log=log
    )
    summary = await run_job(job, RunOptions(quiet=True, emulator=emulator))
    assert job.output.path.read_bytes() == output
    faults = Counter(e["fault"] for e in map(orjson.loads, log.read_bytes().splitlines()))
    assert set(KINDS) - {k.partition("-")[0] for k in faults if k} <= {"short", "expire"}
    retries = dict(summary["retries"])  # by reason, as the summary shows them
    assert {"http_500", "http_503", "http_429", "empty", "truncated"} <= set(retries), retries
    # Bounded: one retry per transient fault; a lost WebEnv costs each request that meets it
    # at most 3 tries, then its entry is rebuilt: re-posted, re-checked and its missing pages
    # (at most 8 of 25 here) fetched again. Nothing else adds a request.
    history = retries.pop("history", 0)
    transient = sum(n for k, n in faults.items() if k and k not in ("unable", "expire", "stall"))
    assert sum(retries.values()) <= transient - faults["short"]
    rebuilt = summary["counts"]["entries_rebuilt"]
    assert history <= 3 * (faults["unable"] + rebuilt * job.concurrency)
    extra = summary["requests_total"] - clean["requests_total"]
    assert extra <= sum(summary["retries"].values()) + rebuilt * 10


async def _when_records_exist(store: Path) -> None:
    """Wait until the job has stored some records: the job is well under way."""
    while True:
        await asyncio.sleep(0.01)
        if not store.exists():
            continue
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            try:
                if db.execute("SELECT count(*) FROM records").fetchone()[0] > 0:
                    return
            except sqlite3.OperationalError:
                continue


@pytest.mark.slow
async def test_a_server_that_vanishes_mid_job_and_comes_back(tmp_path, clean_tiny):
    async with Emulator(EmulatorConfig()) as emu:
        job = make_job(tmp_path, TINY_GENES, endpoint=emu.base_url, **TINY_JOB)

        async def outage() -> None:
            await _when_records_exist(job.job_dir / STORE_NAME)
            await emu.vanish()
            await asyncio.sleep(0.5)
            await emu.reappear()

        outage_task = asyncio.create_task(outage())
        summary = await run_job(job, RunOptions(quiet=True))
        await outage_task
    assert job.output.path.read_bytes() == clean_tiny
    assert summary["retries"].get("connection", 0) > 0, summary["retries"]


async def test_webenvs_expiring_mid_run_are_rebuilt(tmp_path, clean_tiny):
    async with Emulator(EmulatorConfig()) as emu:
        job = make_job(tmp_path, TINY_GENES, endpoint=emu.base_url, **TINY_JOB)

        async def expire() -> None:
            await _when_records_exist(job.job_dir / STORE_NAME)
            assert emu.state.history.expire() > 0

        expire_task = asyncio.create_task(expire())
        summary = await run_job(job, RunOptions(quiet=True))
        await expire_task
    assert job.output.path.read_bytes() == clean_tiny
    assert summary["counts"]["entries_rebuilt"] > 0


def test_an_outage_spends_a_waiting_budget_not_attempts():
    state = RetryState(Backoff(max_attempts=3, max_outage=60.0), clock=lambda: 0.0)
    state.rng = random.Random(1)
    refused = Retry("connection", TransportError("refused"), outage=True)
    waits = []
    while (delay := state.next_delay(refused)) is not None:
        waits.append(delay)
    assert len(waits) > 3  # far more than max_attempts: an outage is waited out ...
    assert 30.0 < sum(waits) <= 60.0  # ... for at least half a minute, at most the budget
    other = RetryState(Backoff(max_attempts=3), clock=lambda: 0.0, rng=random.Random(1))
    other.next_delay(refused)
    bad = Retry("http_503", TransportError("503"))
    assert [other.next_delay(bad) for _ in range(3)][-1] is None  # 503s still use attempts
