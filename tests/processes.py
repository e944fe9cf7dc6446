"""Child processes a test starts are never left running: not when an assertion fails, not when
a wait for them times out."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from typing import Any, TypeVar

P = TypeVar("P", bound="subprocess.Popen[Any]")


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL a process still running (and its group, when it leads one of its own, so a
    server's render worker goes too), then reap it."""
    if proc.poll() is None:
        try:
            if os.getpgid(proc.pid) == proc.pid:  # started with start_new_session=True
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
    proc.wait()


@contextlib.contextmanager
def reaped(*procs: P) -> Iterator[tuple[P, ...]]:
    """`with reaped(proc):` whatever ends the block, each process has ended after it."""
    try:
        yield procs
    finally:
        for proc in procs:
            kill_group(proc)
