"""Counters with namespaced keys that the client increments and everything else only reads.

Keys are slash-separated: "http/429", "requests/efetch", "status/efetch/200", "retry/truncated",
"efetch/records", "bytes/in", "gate/wait_seconds". Progress bars, the run summary and the
benchmarks read `snapshot()` or `get()`; they never reach into workers.
"""

from __future__ import annotations

from collections import defaultdict

__all__ = ["Stats"]


class Stats:
    """A flat dict of counters; increments are O(1) and never allocate beyond the first use."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: defaultdict[str, float] = defaultdict(float)

    def incr(self, key: str, amount: float = 1) -> None:
        """Add `amount` (default 1) to the counter `key`."""
        self._values[key] += amount

    def request(self, endpoint: str, status: int | str) -> None:
        """Count one HTTP answer by endpoint and status."""
        values = self._values
        values[f"requests/{endpoint}"] += 1
        values[f"http/{status}"] += 1
        values[f"status/{endpoint}/{status}"] += 1

    def get(self, key: str, default: float = 0) -> float:
        """The counter's value (without creating it)."""
        return self._values.get(key, default)

    def prefixed(self, prefix: str) -> dict[str, float]:
        """Counters under `prefix/`, keyed by the rest of their name (e.g. retries by reason)."""
        start = prefix.rstrip("/") + "/"
        return {k[len(start) :]: v for k, v in self._values.items() if k.startswith(start)}

    def snapshot(self) -> dict[str, float]:
        """A copy of every counter, sorted by key, integers where the value is whole."""
        return {
            k: (int(v) if float(v).is_integer() else v) for k, v in sorted(self._values.items())
        }

    def __repr__(self) -> str:
        return f"Stats({self.snapshot()!r})"
