"""How much of the policy's rate the gate may use, on the server's word: a pure controller.

Two signals, both from NCBI's answers, both needed because NCBI's limit is per address (or
per key) and another program on the same machine may be spending part of it:
- `X-RateLimit-Limit`/`-Remaining` on every answer. What the window holds that is not ours
  (limit - remaining - our own sends in the second before) is the other programs' share. A
  full window hides some of it (their refused requests are not counted), so the second
  highest of the last few answers' readings is taken off the policy's rate (not off the
  header's limit: a server may announce one it does not enforce): one reading off by one
  (the clocks' noise at the window's edge) moves nothing. The rate follows that share back
  up as soon as it falls. Until the first answer has said how much is free, the gate runs at
  half the rate (for `SLOW_START` seconds at most, for servers that send no headers): the
  harvest's first answers (einfo's) come back within a few tenths of a second, so a program
  already spending part of the allowance is seen before the harvest's requests go out.
- 429s. Each holds the gate for its Retry-After and cuts the rate by `LONE_CUT`, a wider
  margin (NCBI sends spurious ones, and jitter can make a well-paced request look early).
  Without rate headers to say how much is free, one within `REPEAT_WINDOW` of the last, or
  one without Retry-After, cuts by `DECREASE`. A burst of refusals is one cut (at most one
  per `EVENT_GAP`). After `HOLD` seconds without a cut the rate wins back `RECOVERY` of the
  policy rate per second, never above it.
Times are plain seconds passed in by the caller, so tests drive it with numbers, no loop.
"""

from __future__ import annotations

import collections

__all__ = ["RateControl"]

DECREASE = 0.75
"""Multiplier of a repeated 429's cut: gentler than halving, since a shared allowance shrinks
by a share."""
LONE_CUT = 0.97
EVENT_GAP = 1.0
REPEAT_WINDOW = 5.0
HOLD = 20.0
RECOVERY = 0.01
"""Share of the policy rate regained per second once `HOLD` has passed (3% in 3 s)."""
MIN_FACTOR = 1 / 64
SAMPLES = 8
"""Answers whose rate headers are taken together (the second highest of their readings)."""
SLOW_START = 3.0
"""Seconds at half the rate, at most, before the first reading (`slow_start=True`)."""
WINDOW = 1.0
"""Seconds over which NCBI counts requests."""


class RateControl:
    """The share of the policy rate to use now (AIMD on 429s) and the cap the rate headers
    put on it; it counts what it did so the summary can say which rate was used."""

    def __init__(self, *, min_factor: float = MIN_FACTOR, slow_start: bool = False) -> None:
        self.min_factor = min_factor
        self._slow_until: float | None = None if slow_start else float("-inf")
        self._factor = 1.0
        """The share right after the last cut (recovery is computed from it lazily)."""
        self._cut_at = float("-inf")
        self._last_429 = float("-inf")
        self._heard = False
        """Whether any answer carried rate headers."""
        self._foreign: collections.deque[int] = collections.deque(maxlen=SAMPLES)
        self.cuts = 0

    def factor(self, now: float) -> float:
        """The share of the policy rate allowed at `now` (1.0: all of it)."""
        recovering = now - self._cut_at - HOLD
        if recovering <= 0:
            return self._factor
        return min(1.0, self._factor + RECOVERY * recovering)

    def rate(self, policy_rate: float, now: float) -> float:
        """The rate to pace at: the policy's share, capped by the server's headers."""
        rate = policy_rate * self.factor(now)
        if self._heard:
            room = policy_rate - sorted(self._foreign)[-2:][0]
            rate = min(rate, max(room, policy_rate * self.min_factor))
        if self._slow_until is None:
            self._slow_until = now + SLOW_START
        return rate if self._heard or now >= self._slow_until else rate / 2

    def on_429(self, now: float, retry_after: float | None) -> bool:
        """A refusal at `now`; True when it cut the rate (False: part of the last cut's burst)."""
        repeated = now - self._last_429 <= REPEAT_WINDOW
        self._last_429 = now
        if now - self._cut_at < EVENT_GAP:
            return False
        blind = not self._heard  # no headers: the cut is all there is to go by
        cut = DECREASE if blind and (repeated or retry_after is None) else LONE_CUT
        self._factor = max(self.min_factor, self.factor(now) * cut)
        self._cut_at = now
        self.cuts += 1
        return True

    def on_rate_headers(self, limit: int, remaining: int, own: int) -> None:
        """An accepted answer said `remaining` of `limit` were left in the window that also
        held `own` of our requests (this one included)."""
        if limit < 1 or remaining < 0:
            return
        self._heard = True
        self._foreign.append(max(0, limit - remaining - own))
