"""The one process-wide gate every E-utilities attempt passes, retries included.

Built on aiolimiter as a bucket of one (`AsyncLimiter(1, period)`), so requests are spaced
evenly and never burst: any one-second window holds at most the policy's rate, with a safety
margin (default 3%) against jitter at the server. A 429 slows the gate (Retry-After holds every
request until it passes; without it the rate halves) and successes win the rate back
additively, never above the policy. Time comes from the running loop (tests use a virtual one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter

from harvester.errors import ConfigError
from harvester.ncbi import RATE_NO_KEY, RATE_WITH_KEY
from harvester.stats import Stats

__all__ = ["POLICIES", "Gate", "RatePolicy", "is_us_peak", "policy_for", "process_gate"]

US_EASTERN = ZoneInfo("America/New_York")
POLICIES = ("ncbi", "ncbi-2007", "custom")


def is_us_peak(when: datetime) -> bool:
    """NCBI's peak hours: weekdays 05:00-21:00 US Eastern (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(US_EASTERN)
    return local.weekday() < 5 and 5 <= local.hour < 21


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """Requests per second allowed; `peak_rate` (if set) applies during US peak hours."""

    name: str
    rate: float
    peak_rate: float | None = None

    def rate_at(self, when: datetime) -> float:
        """The allowed rate at wall-clock time `when`."""
        if self.peak_rate is not None and is_us_peak(when):
            return self.peak_rate
        return self.rate


def policy_for(name: str, *, api_key: bool = False, rate: float | None = None) -> RatePolicy:
    """`ncbi` (3/s, 10/s with a key), `ncbi-2007` (3 s apart, 15 s at peak) or a custom rate."""
    if name == "ncbi":
        return RatePolicy("ncbi", RATE_WITH_KEY if api_key else RATE_NO_KEY)
    if name == "ncbi-2007":
        return RatePolicy("ncbi-2007", 1 / 3, 1 / 15)
    if name == "custom" or _is_number(name):
        value = rate if rate is not None else (float(name) if _is_number(name) else None)
        if value is None or value <= 0:
            raise ConfigError("a custom rate policy needs a positive rate (requests per second)")
        return RatePolicy("custom", value)
    raise ConfigError(f"unknown rate policy {name!r}; use one of {', '.join(POLICIES)} or a number")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Gate:
    """Spaces every attempt at 1/rate (less the margin) and adapts the rate to 429s."""

    def __init__(
        self,
        policy: RatePolicy,
        *,
        margin: float = 0.03,
        recovery: float = 0.05,
        min_factor: float = 1 / 64,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], datetime] | None = None,
        stats: Stats | None = None,
    ) -> None:
        if not 0 <= margin < 1:
            raise ConfigError("the gate's safety margin must be in [0, 1)")
        self.policy = policy
        self.margin = margin
        self.recovery = recovery
        self.min_factor = min_factor
        self.stats = stats if stats is not None else Stats()
        self._clock = clock
        self._wall = wall or (lambda: datetime.now(UTC))
        self._factor = 1.0
        self._hold_until = float("-inf")
        self._limiter: AsyncLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def now(self) -> float:
        """The gate's clock (the running loop's time unless one was injected)."""
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    @property
    def rate(self) -> float:
        """The rate the gate releases at right now (policy rate x slow-down factor)."""
        return self.policy.rate_at(self._wall()) * self._factor

    @property
    def period(self) -> float:
        """Seconds between releases, margin included."""
        return 1.0 / (self.rate * (1.0 - self.margin))

    def _bucket(self) -> AsyncLimiter:
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._limiter, self._loop = AsyncLimiter(1, self.period), loop
        period = self.period
        if self._limiter.time_period != period:  # aiolimiter has no public setter for the rate
            self._limiter.time_period = period
            self._limiter._rate_per_sec = 1.0 / period
        return self._limiter

    async def acquire(self) -> float:
        """Wait for this attempt's turn; returns the seconds waited."""
        start = self.now()
        while True:
            hold = self._hold_until - self.now()
            if hold > 0:
                await asyncio.sleep(hold)
                continue
            await self._bucket().acquire()
            if self.now() >= self._hold_until:  # no 429 arrived while we queued
                break
        waited = self.now() - start
        self.stats.incr("gate/acquired")
        if waited > 0:
            self.stats.incr("gate/waits")
            self.stats.incr("gate/wait_seconds", waited)
        return waited

    def on_success(self) -> None:
        """A request went through: win back a step of the rate (additive increase)."""
        if self._factor < 1.0:
            self._factor = min(1.0, self._factor + self.recovery)

    def on_429(self, retry_after: float | None = None) -> None:
        """NCBI said too many: hold everything until Retry-After, or halve the rate."""
        self.stats.incr("gate/slowdowns")
        if retry_after is not None and retry_after > 0:
            self._hold_until = max(self._hold_until, self.now() + retry_after)
        else:
            self._factor = max(self.min_factor, self._factor / 2)


_PROCESS_GATE: Gate | None = None


def process_gate(policy: RatePolicy, *, margin: float = 0.03, stats: Stats | None = None) -> Gate:
    """The single gate of this process: every client shares it, so limits hold across them."""
    global _PROCESS_GATE
    if _PROCESS_GATE is None:
        _PROCESS_GATE = Gate(policy, margin=margin, stats=stats)
    elif _PROCESS_GATE.policy != policy:
        raise ConfigError(
            f"this process already paces requests with policy {_PROCESS_GATE.policy.name!r}"
        )
    return _PROCESS_GATE


def reset_process_gate() -> None:
    """Forget the process gate (tests, or a new job in the same process)."""
    global _PROCESS_GATE
    _PROCESS_GATE = None
