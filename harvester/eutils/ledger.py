"""The send times of every process on this machine that paces one allowance, in a small file.

NCBI counts a key's requests (or an address's) together. Within a process one gate paces
them (gates.py); processes share nothing, and `X-RateLimit-Remaining` says what another spends
only after the fact: a second `harvester run` with the same key, started beside a first that
fills the window, has its first requests refused before either can tell (benchmarks/
TWO_PROCESSES.md). So processes on one machine also keep one ledger per allowance: before a
send a gate takes the file's lock, drops the times older than the window, and records its
send only if the window has a lane left; otherwise it learns how long to wait. The clock is
CLOCK_MONOTONIC, which every process of the machine shares. A ledger that cannot be opened
(a read-only home) is left out with a debug line: the rate headers remain.
"""

from __future__ import annotations

import array
import bisect
import contextlib
import fcntl
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Ledger", "ledger_dir"]

log = logging.getLogger("harvester.eutils")
STALE = 86_400.0
"""Seconds after which a ledger nobody wrote to is removed."""
KEEP = 4096
"""Send times kept at most (32 KiB): `HORIZON` at any NCBI rate, a few seconds at thousands/s."""
HORIZON = 180.0
"""Seconds of send times kept: an answer's rate headers are read against the window before
its send, and a slow answer (a big page, a busy server) comes back long after it."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def ledger_dir() -> Path:
    """$XDG_CACHE_HOME/harvester/gates (~/.cache/harvester/gates by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harvester" / "gates"


def _boot() -> str:
    """This machine and boot: CLOCK_MONOTONIC times mean nothing outside them (a shared home,
    a reboot)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = "boot"
    return f"{os.uname().nodename}-{boot}"


def _sweep(folder: Path) -> None:
    """Remove ledgers nobody wrote to for a day (an emulator's port, an old boot's)."""
    cutoff = time.time() - STALE
    for path in folder.glob("*.times"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


class Ledger:
    """One allowance's send times, shared by the processes of this machine."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self._fd: int | None = None

    @classmethod
    def open(cls, host: str, key: str | None) -> Ledger | None:
        """The ledger of a server and key digest, or None when it cannot be kept here."""
        name = _UNSAFE.sub("_", f"{host}-{key or 'address'}-{_boot()}") + ".times"
        ledger = cls(ledger_dir() / name)
        try:
            ledger.path.parent.mkdir(parents=True, exist_ok=True)
            _sweep(ledger.path.parent)
            ledger._fd = os.open(ledger.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.debug("no pacing ledger shared with other processes (%s)", exc)
            return None
        return ledger

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextmanager
    def _times(self) -> Iterator[array.array[float]]:
        """The recorded times under the file's lock; what the block leaves is written back."""
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            times: array.array[float] = array.array("d")
            data = os.pread(self._fd, 8 * KEEP, 0)
            times.frombytes(data[: len(data) // 8 * 8])
            yield times
            del times[: max(0, len(times) - KEEP)]
            os.pwrite(self._fd, times.tobytes(), 0)
            os.ftruncate(self._fd, 8 * len(times))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def reserve(self, lanes: int, window: float) -> float:
        """Record a send now if the last `window` seconds hold fewer than `lanes` (0.0); else
        the seconds until one of them leaves the window."""
        with self._times() as times:
            now = self.clock()  # a time past now is another boot's or machine's: not ours
            kept = times[bisect.bisect_right(times, now - HORIZON) :]
            del kept[bisect.bisect_right(kept, now) :]
            in_window = len(kept) - bisect.bisect_right(kept, now - window)
            if in_window < lanes:
                kept.append(now)
                times[:] = kept
                return 0.0
            times[:] = kept
            return max(1e-3, kept[len(kept) - lanes] + window - now)

    def count(self, start: float, end: float) -> int | None:
        """Sends of every process recorded in (start, end], on this ledger's clock; None when
        the ledger no longer holds all of that span (older than `HORIZON`, or `KEEP` reached)."""
        with self._times() as times:
            now = self.clock()
            if start <= now - HORIZON or (len(times) >= KEEP and times[0] > start):
                return None
            end = min(end, now)
            return max(0, bisect.bisect_right(times, end) - bisect.bisect_right(times, start))
