"""What the emulator saw: one JSON line per request, flushed as written, plus tiny readers.

Lines survive a killed server (each is flushed on its own), so a benchmark or a test can ask
afterwards what peak rate a client really reached and how its requests spread over endpoints.
Raw API keys are never written: a key appears as `key:` + the first 12 hex of its SHA-256.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import orjson


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One request: when it arrived, who sent it, what it asked, what it got."""

    t: float
    """Arrival on the server's monotonic clock (seconds)."""
    wall: float
    """Arrival as Unix time."""
    endpoint: str
    method: str
    who: str
    """`key:<hash>` or the client address."""
    ids: int
    status: int
    bytes: int
    fault: str | None = None
    delay: float = 0.0
    """Seconds of modelled latency the request was held."""
    page: str | None = None
    """Which History page was asked for, `WebEnv#query_key@retstart`, so a test can tell
    whether a finished page was ever requested again."""


READ_ENDPOINTS = frozenset({"efetch", "esummary"})
"""Endpoints whose History requests read pages (elink and esearch by WebEnv do not)."""


def page_label(webenv: str | None, query_key: str | None, retstart: str | None) -> str | None:
    """`WebEnv#query_key@retstart` for History requests, else None."""
    if not webenv or not query_key:
        return None
    return f"{webenv}#{query_key}@{retstart or 0}"


def who_label(api_key: str | None, address: str) -> str:
    """The identity to log: a short stable hash of the key, never the key itself."""
    if api_key:
        return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:12]
    return address


class RequestLog:
    """Appends entries to a JSONL file; one write and one flush per request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[bytes] | None = self.path.open("ab")

    def write(self, entry: LogEntry) -> None:
        if self._file is not None:
            self._file.write(orjson.dumps(asdict(entry)) + b"\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_log(path: str | Path) -> list[LogEntry]:
    """Every complete line of a request log (a torn last line is skipped)."""
    entries = []
    for line in Path(path).read_bytes().splitlines():
        try:
            entries.append(LogEntry(**orjson.loads(line)))
        except (orjson.JSONDecodeError, TypeError):
            continue
    return entries


def peak_per_second(
    entries: Iterable[LogEntry], who: str | None = None, window: float = 1.0
) -> int:
    """Most requests (from `who`, or anyone) arriving within any `window` seconds."""
    times = sorted(e.t for e in entries if who is None or e.who == who)
    peak = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def per_endpoint(entries: Iterable[LogEntry]) -> dict[str, int]:
    """Request counts by endpoint, most requested first."""
    return dict(Counter(e.endpoint for e in entries).most_common())


def per_status(entries: Iterable[LogEntry]) -> dict[int, int]:
    """Request counts by HTTP status (429s show how often a client overran the limit)."""
    return dict(Counter(e.status for e in entries).most_common())


def pages_asked_twice(entries: Iterable[LogEntry]) -> int:
    """History pages (efetch or esummary of one WebEnv, query_key and retstart) asked more than
    once: what a polite client never does in a fault-free run. A request refused (429) or hit by
    an injected fault is not counted, so asking again after one is a retry, not a second read;
    a copy the client dropped before its answer still counts (the server did the work)."""
    asked = Counter(
        (e.endpoint, e.page)
        for e in entries
        if e.page is not None and e.endpoint in READ_ENDPOINTS and e.status != 429 and not e.fault
    )
    return sum(1 for n in asked.values() if n > 1)
