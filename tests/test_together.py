"""Requests sent side by side stand or fall together: when one fails for good, the others are
cancelled and have ended before the failure is raised, so none runs on outside a worker slot,
is asked again by the retry, or outlives the run (together.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harvest_helpers import TINY, make_job

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import EmulatorThread
from harvester.errors import NcbiTransientError
from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.together import together

pytestmark = pytest.mark.usefixtures("quick_retries")

GENES = [TINY.maps["gene"].uid(i) for i in range(40)]
FIRST_CHUNK_FAILS = "503@elink:1:#2-2,stall@elink:1:#3-3,503@elink:1:#4-30"
"""einfo is request 1; the first chunk's per-id elink and its neighbor_history, sent side by
side, are 2 and 3: one of them fails on every attempt, the other is held unanswered."""


def _left_running() -> list[str]:
    """The tasks of this loop still running, besides the test's own."""
    current = asyncio.current_task()
    return [t.get_coro().__qualname__ for t in asyncio.all_tasks() if t is not current]  # type: ignore[union-attr]


def test_a_run_failing_in_one_of_two_elinks_leaves_no_request_running(tmp_path: Path) -> None:
    async def run() -> list[str]:
        config = EmulatorConfig(faults=FIRST_CHUNK_FAILS, stall_seconds=3)
        with EmulatorThread(config) as emu:
            job = make_job(tmp_path, GENES, endpoint=emu.base_url, elink_batch=20)
            with pytest.raises(NcbiTransientError, match="503"):
                await run_job(job, RunOptions(quiet=True))
            return _left_running()

    assert asyncio.run(run()) == []


def test_the_first_failure_is_raised_as_it_is_once_the_others_ended() -> None:
    ended: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("slow")

    async def failing() -> None:
        await asyncio.sleep(0)
        raise NcbiTransientError("epost of snp: HTTP 503 (6 attempts)")

    async def run() -> None:
        with pytest.raises(NcbiTransientError, match="6 attempts"):
            async with together() as group:
                group.create_task(slow())
                group.create_task(failing())
        assert ended == ["slow"]
        assert _left_running() == []

    asyncio.run(run())


async def test_a_cancellation_landing_as_a_child_fails_is_not_taken_for_the_failure() -> None:
    """A worker cancelled (the run is ending) in the loop turn one of its requests fails must
    end, not set the failure aside and wait on the scheduler for ever."""

    async def quick_fail() -> None:
        await asyncio.sleep(0.01)
        raise NcbiTransientError("child failed")

    seen: list[str] = []

    async def worker() -> None:
        try:
            async with together() as group:
                group.create_task(quick_fail())
                group.create_task(asyncio.sleep(10))
        except NcbiTransientError:
            seen.append("set aside")
        await asyncio.sleep(10)  # stands for scheduler.next()

    task = asyncio.ensure_future(worker())
    await asyncio.sleep(0.01)  # the cancel lands in the turn the child fails
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert seen == []
