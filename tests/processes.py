"""Child processes a test starts are never left running: not when an assertion fails, not when
a wait for them times out."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

P = TypeVar("P", bound="subprocess.Popen[Any]")
ROOT = Path(__file__).resolve().parents[1]


def run_command(job: Path, *extra: str) -> list[str]:
    """`harvester run JOB --quiet EXTRA...` with this interpreter, as a user types it."""
    return [sys.executable, "-m", "harvester", "run", str(job), "--quiet", *extra]


def child_env(**extra: str) -> dict[str, str]:
    """A child harvester's environment: this tree's package first on its path."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def start_run(job: Path) -> subprocess.Popen[str]:
    """`harvester run JOB --quiet` in a child process whose stderr (text) the test reads."""
    return subprocess.Popen(
        run_command(job),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def ctrl_c_default() -> None:
    """`preexec_fn` for a child a test stops with Ctrl-C (SIGINT): a shell starting the suite in
    the background (`pytest &`, nohup, some CI runners) leaves SIGINT ignored, which a child
    inherits, so its Ctrl-C would be ignored; a terminal's foreground command gets the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


@contextlib.contextmanager
def served(*args: str) -> Iterator[str]:
    """`harvester serve` in a child process of its own (so our busy loop and the server share
    no GIL), killed and reaped whatever ends the block; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harvester", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    with reaped(proc):
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("serving E-utilities at "), first
        yield first.removeprefix("serving E-utilities at ")
