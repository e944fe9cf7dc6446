"""The output, written while the run's last by-id confirmations are out.

Once every page is in, the only ids left without a record are the ones being confirmed, and
nearly all of them are truly missing at NCBI. So the output is written then, on a thread with
its own read-only connection, taking those ids as missing, and kept (renamed into place) only
if the store says afterwards that no record arrived and no target is left pending: then it is
byte for byte the output a write after the run would give. Otherwise it is thrown away and the
output is written again. Either way the run never publishes a file that differs from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from harvester.config import JobConfig
from harvester.harvest.output import early_path, publish_early, write_output
from harvester.harvest.store import JoinedRow, Store

STOP_CHECK_ROWS = 4096
"""Rows between looks at the stop flag: a run that fails meanwhile stops the thread quickly."""


class _Stopped(Exception):
    """The run ended without this output: its temporary file is removed."""


class _SettledView:
    """The store's join with pending targets shown as missing, stoppable from the loop."""

    def __init__(self, store: Store, stop: threading.Event) -> None:
        self.store, self.stop = store, stop

    def joined(self) -> Iterator[JoinedRow]:
        for n, row in enumerate(self.store.joined(pending_as_missing=True)):
            if n % STOP_CHECK_ROWS == 0 and self.stop.is_set():
                raise _Stopped
            yield row


class EarlyOutput:
    """One early write of a job's output, started once and then published or dropped."""

    def __init__(self, job: JobConfig, store: Store) -> None:
        self.job, self.store = job, store
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._written = False
        """The temporary file is complete and nobody has published or removed it."""
        self._done: asyncio.Future[None] | None = None
        self._records = 0
        """Records in the store when the write began."""

    def start(self) -> None:
        """Write the output now on a thread (the loop only waits for answers meanwhile)."""
        if self._done is not None:
            return
        loop = asyncio.get_running_loop()
        self._done = done = loop.create_future()
        self._records, _ = self.store.settled()
        threading.Thread(target=self._write, args=(loop, done), name="early-output").start()

    def _write(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]) -> None:
        try:
            reader = Store(self.store.path, read_only=True)
            try:
                write_output(_SettledView(reader, self._stop), self.job, early=True)
            finally:
                reader.close()
            with self._lock:
                if self._stop.is_set():
                    early_path(self.job.output.path).unlink(missing_ok=True)
                else:
                    self._written = True
        except Exception:  # the write after the run reports any real error
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the run ended without it
                loop.call_soon_threadsafe(_resolve, done)

    async def publish_if_current(self) -> bool:
        """Publish the early write if the store has not moved since it began (waiting for it
        to finish); when it has, stop it at once: the output is written again."""
        if self._done is None:
            return False
        if self.store.settled()[0] != self._records:
            self.stop()
            return False
        await self._done
        if self.store.settled() != (self._records, 0):
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
            self._stop.set()
            if self._written:
                self._written = False
                early_path(self.job.output.path).unlink(missing_ok=True)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
