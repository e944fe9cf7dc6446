"""The helper that stops what a test started: a failing test leaves no server running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
from processes import reaped

# A parent that starts a child of its own (as `serve` starts its render worker), says the
# child's pid, then ignores Ctrl-C and SIGTERM: only a kill of the whole group stops both.
_STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, just not yet reaped
        return stat.read().rpartition(")")[2].split()[0] != "Z"


def test_a_failing_test_leaves_neither_the_server_nor_its_worker_running() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _STUBBORN],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        with pytest.raises(AssertionError), reaped(proc):
            raise AssertionError("the test failed while its server ran")
        assert proc.returncode is not None
        assert not _still_alive_after_a_grace(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def _still_alive_after_a_grace(pid: int) -> bool:
    """Whether `pid` is still alive after a grace (a SIGKILL is delivered asynchronously, and
    an orphan is not ours to reap): a bound on a wait, not a speed assertion."""
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return _alive(pid)
