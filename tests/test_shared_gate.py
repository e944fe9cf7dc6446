"""One pacing gate per (host, API key) in a process: two jobs with one key, on one event loop
or on two (a worker thread's, as `harvest()` uses inside a running loop), stay within the
key's limit together, as the emulator's request log shows; and the registry never holds the key.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

import harvester
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.requestlog import peak_per_second, per_status, read_log, who_label
from harvester.emulator.server import EmulatorThread
from harvester.eutils import gates
from harvester.eutils.gates import GateKey, process_gate, release_gate
from harvester.eutils.pacing import policy_for
from tests.harvest_helpers import TINY, make_job

KEY = "shared-test-key-0123456789"
SPEEDUP = 4
LIMIT = 10 * SPEEDUP
"""The key's limit per second on an emulator running `SPEEDUP` times faster than NCBI."""


def _job(tmp: Path, name: str, base_url: str, first: int) -> harvester.Job:
    genes = [TINY.maps["gene"].uid(i) for i in range(first, first + 40)]
    return make_job(
        tmp / name,
        genes,
        endpoint=base_url,
        rate=LIMIT,  # each job alone may use the whole limit: together, only through one gate
        elink_batch=4,
        fetch={"page_size": 20},
        output={"path": str(tmp / name / "out.jsonl")},
    )


@pytest.mark.parametrize("loops", ["one loop", "two loops"])
async def test_two_jobs_with_one_key_stay_within_its_limit_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loops: str
) -> None:
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    log = tmp_path / "requests.jsonl"
    config = EmulatorConfig(
        rate_limit=True, api_keys=frozenset({KEY}), request_log=log, speedup=SPEEDUP
    )
    # the emulator on its own thread and loop: a request it logs is not held up behind the
    # job sharing its loop (on a busy machine, late entries crowd into one window: a 429)
    with EmulatorThread(config) as emu:
        first, second = _job(tmp_path, "a", emu.base_url, 0), _job(tmp_path, "b", emu.base_url, 40)
        other = (
            harvester.harvest_async(second, quiet=True)
            if loops == "one loop"
            else asyncio.to_thread(harvester.harvest, second)  # asyncio.run on a worker thread
        )
        results = await asyncio.gather(harvester.harvest_async(first, quiet=True), other)
    assert all(result.summary["counts"]["sources"] == 40 for result in results)
    entries = read_log(log)
    assert per_status(entries).get(429, 0) == 0
    assert len(entries) > 3 * LIMIT  # long enough to have run at the limit for seconds
    assert peak_per_second(entries, who=who_label(KEY, "")) <= LIMIT
    assert not gates._GATES  # the last job out gave the gate back


def test_the_registry_is_keyed_by_host_and_a_digest_of_the_key() -> None:
    key = GateKey.of("https://eutils.ncbi.nlm.nih.gov/entrez/eutils/", KEY)
    digest = "key:" + hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert key == GateKey("eutils.ncbi.nlm.nih.gov", digest)
    assert KEY not in repr(key)
    keyed = policy_for("ncbi", api_key=True)
    gate = process_gate(keyed, key=key)
    try:
        assert process_gate(keyed, key=key) is gate  # a second job: the same gate
        release_gate(gate)
        assert process_gate(keyed, key=GateKey("localhost:8080", key.key)) is not gate
        release_gate(gates._GATES[GateKey("localhost:8080", key.key)].gate)
    finally:
        release_gate(gate)
    assert not gates._GATES
