"""The output, written during the run, chunk by chunk, as each chunk's rows become final.

A chunk's rows are final once every target its sources link to has a record or is missing, or
is one of the ids no page will bring (a page lacked it, or its entry's pages are all in) that
are being confirmed by id: nearly all of those are truly missing at NCBI. So a thread with its
own read-only connection writes the chunks in order as each gets there, those ids as missing
(and every chunk left once nothing is left to fetch). The file is renamed into place only if
the store then says that every id written as missing is missing, no target is pending and no
missing target got a record: then it is byte for byte the output a write after the run would
give. Otherwise it is thrown away and the output written again. Either way the run never
publishes a file that differs from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence

from harvester.config import JobConfig
from harvester.harvest.output import early_path, publish_early, write_output
from harvester.harvest.store import JoinedRow, Store

STOP_CHECK_ROWS = 4096
"""Rows between looks at the stop flag: a run that fails meanwhile stops the thread quickly."""
POLL_SECONDS = 0.1
"""How often the thread asks whether the chunk it waits for can be written, when no page's
gaps or end of fetching wake it sooner (records that settle a chunk do not)."""
PENDING_LOOKED_AT = 2000
"""Pending targets of a chunk looked at before nothing is left to fetch: more are pages out."""


class _Stopped(Exception):
    """The run ended without this output: its temporary file is removed."""


class _FollowingView:
    """The store's join chunk by chunk, each once its pending targets are all ids being
    confirmed (or once nothing is left to fetch), those shown as missing. Stoppable."""

    def __init__(self, store: Store, output: EarlyOutput) -> None:
        self.store, self.output = store, output

    def joined(self) -> Iterator[JoinedRow]:
        stop = self.output.stop_flag
        for chunk in self.store.chunks():
            shown_missing = self._wait_for(chunk.chunk)
            self.output.shown_missing.extend(shown_missing)
            rows = self.store.joined(pending_as_missing=bool(shown_missing), chunk=chunk)
            for n, row in enumerate(rows):
                if n % STOP_CHECK_ROWS == 0 and stop.is_set():
                    raise _Stopped
                yield row

    def _wait_for(self, chunk: int) -> list[int]:
        """Wait until the chunk can be written; returns its pending targets (to show as
        missing): ids being confirmed, or any once nothing is left to fetch."""
        while True:
            self.output.wake.clear()
            if self.output.stop_flag.is_set():
                raise _Stopped
            if self.output.final.is_set():
                pending = self.store.chunk_pending(chunk)
                if pending is not None:  # every chunk is linked by then
                    return pending
            else:
                pending = self.store.chunk_pending(chunk, PENDING_LOOKED_AT)
                if pending is not None and self.output.all_being_confirmed(pending):
                    return pending
            self.output.wake.wait(POLL_SECONDS)


class EarlyOutput:
    """One early write of a job's output, started with the run and then published or dropped."""

    def __init__(self, job: JobConfig, store: Store) -> None:
        self.job, self.store = job, store
        self.stop_flag = threading.Event()
        self.final = threading.Event()
        """Set once nothing is left to fetch (or the run is over)."""
        self.wake = threading.Event()
        """Set when the chunk the thread waits for may have become writable."""
        self._lock = threading.Lock()
        self._written = False
        """The temporary file is complete and nobody has published or removed it."""
        self._done: asyncio.Future[None] | None = None
        self._confirming: set[int] = set()
        """Ids no page will bring, being (or to be) confirmed by id: see being_confirmed."""
        self.shown_missing: list[int] = []
        """Ids written as missing while still pending."""

    def start(self) -> None:
        """Start writing on a thread (the loop only waits for answers meanwhile)."""
        if self._done is not None:
            return
        loop = asyncio.get_running_loop()
        self._done = done = loop.create_future()
        threading.Thread(target=self._write, args=(loop, done), name="early-output").start()

    def being_confirmed(self, uids: Iterable[int]) -> None:
        """The harvest will confirm these by id: no page will bring them (called on the loop)."""
        with self._lock:
            self._confirming.update(uids)
        self.wake.set()

    def all_being_confirmed(self, uids: Sequence[int]) -> bool:
        if len(uids) >= PENDING_LOOKED_AT:
            return False
        with self._lock:
            return self._confirming.issuperset(uids)

    def nothing_left_to_fetch(self) -> None:
        """Write every chunk not written yet now, its pending targets as missing."""
        self.final.set()
        self.wake.set()

    def _write(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]) -> None:
        try:
            reader = Store(self.store.path, read_only=True)
            try:
                write_output(_FollowingView(reader, self), self.job, early=True)
            finally:
                reader.close()
            with self._lock:
                if self.stop_flag.is_set():
                    early_path(self.job.output.path).unlink(missing_ok=True)
                else:
                    self._written = True
        except Exception:  # the write after the run reports any real error
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the run ended without it
                loop.call_soon_threadsafe(_resolve, done)

    async def publish_if_current(self) -> bool:
        """Publish the early write if it matches the store as the run left it (waiting for
        its last chunks); else drop it: the output is written again."""
        if self._done is None:
            return False
        self.nothing_left_to_fetch()
        await self._done
        shown = sorted(set(self.shown_missing))
        if (
            self.store.settled()[1]
            or self.store.stray_records()
            or self.store.count_missing_among(shown) != len(shown)
        ):
            self.stop()
            return False
        with self._lock:
            if not self._written:
                return False
            self._written = False
            publish_early(self.job.output.path)
            return True

    def stop(self) -> None:
        """Drop the early write (the run failed, or the store moved): stop the thread and
        remove what it wrote."""
        with self._lock:
            self.stop_flag.set()
            self.nothing_left_to_fetch()
            if self._written:
                self._written = False
                early_path(self.job.output.path).unlink(missing_ok=True)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
