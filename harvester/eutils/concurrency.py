"""How many requests to keep in flight so the rate gate never idles: a pure controller.

Little's law: at the gate's rate r with answers taking L seconds on average, r x L requests
are out at any moment; the count fluctuates about that by about its square root (answers of
random length), so the limit is r x L + 2 sqrt(r x L) plus a few waiting their turn at the
gate. L is a moving average of the answers' latencies. What the model misses (time spent
between requests, answers stuck for many seconds) shows as the gate idling while work waits
for a slot: each such moment adds one to a spare that fades by one every `SPARE_FADE` seconds.

Shrinking. The gate fixes the rate, so the number of requests at NCBI is r x L whatever the
limit here; rising latency therefore raises the limit (to the ceiling), and the load is
lowered through the rate (429s cut it, rate_control.py), which lowers the limit with it.
5xx answers and timeouts halve a cap on the limit, which then grows back by one a second
after `HOLD` seconds. The job's `concurrency` is the hard ceiling.
Times are plain seconds passed in by the caller: tests drive it with numbers, no loop.
"""

from __future__ import annotations

import collections
import math
import statistics

__all__ = ["DEFAULT_CEILING", "MAX_CEILING", "ConcurrencyControl"]

DEFAULT_CEILING = 64
"""Requests in flight never exceed this unless a job's `concurrency` says otherwise: enough
for 10/s at 4.5 s answers (the emulator's `slow` profile needs about 55), and what NCBI sees
from us at once only when its answers are that slow."""
MAX_CEILING = 256

SMOOTHING = 0.1
"""Weight of each new latency in the moving average (about the last ten answers)."""
PRIOR_LATENCY = 1.0
"""Seconds assumed before the first answer (NCBI's typical elink and page: 0.3-1.5 s)."""
WAITING = 2
"""Requests beyond the model kept waiting their turn at the gate."""
FLOOR = 2
RECENT = 64
SPARE_FADE = 10.0
HOLD = 5.0
GROWTH = 1.0
"""Cap regained per second after a halving, once `HOLD` has passed."""


class ConcurrencyControl:
    """The limit on requests in flight, between `FLOOR` and `ceiling`."""

    def __init__(self, ceiling: int, *, prior_latency: float = PRIOR_LATENCY) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = min(FLOOR, self.ceiling)
        self.latency = prior_latency
        self._recent: collections.deque[float] = collections.deque(maxlen=RECENT)
        self._first_bytes: collections.deque[float] = collections.deque(maxlen=RECENT)
        self._spare = 0
        self._spare_at = float("-inf")
        self._cap = float(self.ceiling)
        self._cap_at = float("-inf")
        self.starved = 0
        self.troubles = 0

    def on_latency(self, seconds: float) -> None:
        """An answer took `seconds` from its send to its last byte."""
        self.latency += SMOOTHING * (seconds - self.latency)
        self._recent.append(seconds)

    def typical_latency(self) -> float:
        """The median of the last `RECENT` answers' latencies: what an answer usually takes,
        unmoved by the few held for tens of seconds (which the mean follows, as Little's law
        needs, but which must not make every answer look on time)."""
        return statistics.median(self._recent) if self._recent else self.latency

    def on_first_byte(self, seconds: float) -> None:
        """An answer's status line came `seconds` after its send (the server's share of it)."""
        self._first_bytes.append(seconds)

    def typical_first_byte(self) -> float:
        """The median of the last `RECENT` times to first byte: what the server usually takes
        before it answers, which is what a hedge judges (the prior latency before any)."""
        return statistics.median(self._first_bytes) if self._first_bytes else self.latency

    def on_starved(self, now: float) -> None:
        """The gate had a release due while work waited for a slot: one more slot."""
        self._spare = self.spare(now) + 1
        self._spare_at = now
        self.starved += 1

    def on_trouble(self, now: float, rate: float) -> None:
        """A 5xx answer or a timeout: halve the cap (from the limit in force)."""
        self._cap = max(self.floor, self.limit(rate, now) / 2)
        self._cap_at = now
        self.troubles += 1

    def spare(self, now: float) -> int:
        """Slots added for the gate's idling, less one per `SPARE_FADE` seconds since."""
        if not self._spare:
            return 0
        return max(0, self._spare - int((now - self._spare_at) / SPARE_FADE))

    def cap(self, now: float) -> float:
        """The cap 5xx answers and timeouts put on the limit (the ceiling when there were none)."""
        regained = max(0.0, now - self._cap_at - HOLD) * GROWTH
        return min(float(self.ceiling), self._cap + regained)

    def limit(self, rate: float, now: float) -> int:
        """Requests allowed in flight at `now` for a gate pacing `rate` per second."""
        need = rate * self.latency
        target = math.ceil(need + 2 * math.sqrt(need)) + WAITING + self.spare(now)
        return max(self.floor, min(target, math.floor(self.cap(now))))
