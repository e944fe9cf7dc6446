"""Rendering in worker processes, so the serving process only accepts, stamps and sends.

NCBI's front end counts a request the moment it arrives, however busy its back end is. A render
thread shares the serving loop's GIL: while it builds a 1 MB answer, arrivals wait for the GIL
and are stamped up to ~50 ms late (measured, benchmarks/CLIENT.md), so a client paced exactly
under the limit is refused. Worker processes hold their own GIL and their own copy of the
deterministic dataset; the serving process resolves History entries (the only mutable state)
and sends the worker plain ids, so a worker never needs the History server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from multidict import MultiDict

from harvester.emulator.catalog import Catalog
from harvester.emulator.dataset import Dataset
from harvester.emulator.fetch import records_text
from harvester.emulator.history import HistoryStore
from harvester.emulator.params import Params
from harvester.emulator.spec import DatasetSpec
from harvester.emulator.state import State

if TYPE_CHECKING:
    from harvester.emulator.config import EmulatorConfig

Body = str | bytes
Entry = tuple[str, int, str, "array[int]"]
"""A resolved History entry: (WebEnv, query_key, db, uids)."""

_WORKER: State | None = None
PARENT_CHECK = 0.5
"""Seconds between a worker's checks that its server is still alive."""
WORKER_NICENESS = 10
"""Rendering is back-end work: when client, server and worker share too few cores, the server's
loop, which counts arrivals, must get the CPU first."""


class _OneEntry(HistoryStore):
    """The worker's History: exactly the entry the serving process resolved for this request."""

    def __init__(self, entry: Entry | None) -> None:
        super().__init__()
        self.entry = entry

    def get(self, webenv: str | None, query_key: int) -> tuple[str, array[int]] | None:
        if self.entry is None or (webenv, query_key) != self.entry[:2]:
            return None
        return self.entry[2], self.entry[3]


def _start_worker(config: EmulatorConfig, spec: DatasetSpec) -> None:
    """Process initializer: build the dataset once (it is deterministic, so equal to the
    server's) with no gatekeeper: limits, latency, faults and logging stay in the server."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle: it stops us
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    with contextlib.suppress(OSError, AttributeError):  # no nice() on Windows
        os.nice(WORKER_NICENESS)
    dataset = Dataset(spec)
    _WORKER = State(config, dataset, Catalog(dataset), HistoryStore())


def _exit_with(parent: int) -> None:
    """Leave when the server does, even when it was killed and could not shut the pool down
    (an orphan would keep the server's stdout and stderr open)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(0)


def _render(
    handler: Callable[[State, Params], Body], items: Sequence[tuple[str, str]], entry: Entry | None
) -> Body:
    assert _WORKER is not None, "render worker not initialised"
    state = dataclasses.replace(_WORKER, history=_OneEntry(entry))
    return handler(state, Params(MultiDict(items)))


def _render_records(fmt_key: str, db: str, uids: Sequence[int]) -> str:
    assert _WORKER is not None, "render worker not initialised"
    return records_text(_WORKER.catalog, fmt_key, db, uids)


def _ready() -> bool:
    return _WORKER is not None


class RenderPool:
    """`processes` workers (spawned, never forked from a threaded server) rendering answers."""

    def __init__(self, processes: int, config: EmulatorConfig, spec: DatasetSpec) -> None:
        worker_config = dataclasses.replace(config, request_log=None, faults="", hostile=None)
        self.processes = processes
        self.jobs = 0
        """Answers and record chunks rendered so far (tests check the pool was used)."""
        self._pool = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(worker_config, spec),
        )

    async def start(self) -> None:
        """Wait until the workers answer (each job runs after its worker's initializer), so
        the first requests do not wait for a dataset to be built."""
        loop = asyncio.get_running_loop()
        jobs = (loop.run_in_executor(self._pool, _ready) for _ in range(self.processes))
        await asyncio.gather(*jobs)

    async def render(
        self, handler: Callable[[State, Params], Body], p: Params, entry: Entry | None
    ) -> Body:
        """`handler(state, p)` in a worker; `handler` must not write to the History server."""
        items = list(p.values.items())
        self.jobs += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _render, handler, items, entry)

    async def records(self, fmt_key: str, db: str, uids: Sequence[int]) -> str:
        """The efetch records of `uids`, concatenated (unknown uids leave nothing)."""
        self.jobs += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _render_records, fmt_key, db, list(uids))

    def close(self) -> None:
        """Stop the workers and wait for them: idle, they exit at once, and waiting lets the
        pool release its semaphores instead of leaking them."""
        self._pool.shutdown(wait=True, cancel_futures=True)
