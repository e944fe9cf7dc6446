"""A WebEnv lost mid-run is rebuilt even when the epost that rebuilds it fails for a while: the
lost entries' targets wait in the pool of targets to post (work that is set aside and asked
again), never stranded on entries nothing reads any more."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from harvest_helpers import TINY, make_job

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.faults import FaultPlan
from harvester.emulator.requestlog import LogEntry, read_log
from harvester.emulator.server import EmulatorThread
from harvester.workflow.runner import RunOptions, run_job

pytestmark = pytest.mark.usefixtures("quick_retries")

GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)]
JOB: dict[str, Any] = {"fetch": {"page_size": 20}, "elink_batch": 10, "concurrency": 4}
POLL = 0.005
"""How often the test looks at the request log (a wait for an event, never an assertion)."""


def _job(tmp: Path, base_url: str, rate: int) -> Any:
    return make_job(tmp, GENES, endpoint=base_url, rate=rate, **JOB)


def _clean(tmp: Path) -> bytes:
    with EmulatorThread(EmulatorConfig()) as emu:
        asyncio.run(run_job(_job(tmp, emu.base_url, 1000), RunOptions(quiet=True)))
    return (tmp / "out.jsonl").read_bytes()


async def _until(log: Path, enough: Any) -> None:
    while not (log.exists() and enough(read_log(log))):
        await asyncio.sleep(POLL)


async def _lose_the_webenv_while_eposts_fail(emu: EmulatorThread, log: Path) -> None:
    """Once pages are being read: every epost fails with 503 and every WebEnv is forgotten;
    once an epost has failed all its attempts (6: the client gives up on it), eposts work
    again."""
    keeper = emu.emulator.state.gatekeeper
    assert keeper is not None
    await _until(log, lambda seen: sum(e.endpoint == "efetch" for e in seen) >= 3)
    keeper.faults.plan = FaultPlan.parse("503@epost:1")
    assert emu.emulator.state.history.expire() > 0
    await _until(log, lambda seen: max(_failed_eposts(seen).values(), default=0) >= 6)
    keeper.faults.plan = FaultPlan()


def _failed_eposts(seen: list[LogEntry]) -> Counter[int]:
    """Failed eposts by how many ids they carried: one epost's attempts, told apart."""
    return Counter(e.ids for e in seen if e.endpoint == "epost" and e.fault == "503")


def test_a_failed_rebuilding_epost_is_asked_again_and_the_run_completes(tmp_path: Path) -> None:
    clean = _clean(tmp_path / "clean")
    log = tmp_path / "requests.jsonl"

    async def run() -> dict[str, Any]:
        with EmulatorThread(EmulatorConfig(request_log=log)) as emu:
            faults = asyncio.create_task(_lose_the_webenv_while_eposts_fail(emu, log))
            summary = await run_job(_job(tmp_path, emu.base_url, 100), RunOptions(quiet=True))
            await faults
            return summary

    summary = asyncio.run(run())
    assert summary["counts"]["entries_rebuilt"] > 0
    assert max(_failed_eposts(read_log(log)).values()) >= 6
    assert (tmp_path / "out.jsonl").read_bytes() == clean
