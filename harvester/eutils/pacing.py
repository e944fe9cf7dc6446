"""The one process-wide gate every E-utilities attempt passes, retries included.

NCBI counts requests over a sliding second, so the gate enforces exactly that: at most n
requests (the limit) in any window of one second plus a safety margin (default 2%) against
jitter at the server, with consecutive releases kept apart by aiolimiter's bucket of one, so
there is never a burst. Windows are counted from when each request actually left, which lets a
release the event loop delayed be made up instead of lost. The server's word sets how much of
the policy's rate is used (rate_control.py): a 429's Retry-After holds every request until it
passes, repeated 429s cut the rate for a while, and the `X-RateLimit-*` headers leave another
program's share of the allowance to it. Time comes from the running loop (tests use a
virtual one). Attempts take their turns first come, first served, except that those started
inside `urgent()` go ahead of every other waiting attempt.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import heapq
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter

from harvester.errors import ConfigError
from harvester.eutils.rate_control import WINDOW, RateControl
from harvester.ncbi import RATE_NO_KEY, RATE_WITH_KEY
from harvester.stats import Stats

__all__ = [
    "DEFAULT_MARGIN",
    "Gate",
    "Policy",
    "RatePolicy",
    "Release",
    "is_us_peak",
    "policy_for",
    "process_gate",
    "urgent",
]

US_EASTERN = ZoneInfo("America/New_York")


class Policy(StrEnum):
    """The rate policies a job may name."""

    NCBI = "ncbi"
    NCBI_2007 = "ncbi-2007"
    CUSTOM = "custom"


DEFAULT_MARGIN = 0.02
"""Share of the rate given up so that network jitter at the server cannot make n+1 in a window:
20 ms a window at 10/s, above the worst send-to-arrival spread measured (17 ms, CLIENT.md)."""
MIN_GAP = 0.5
"""Consecutive releases stay at least this share of a period apart. Not more: a release the
busy loop made late would push the next one late too, and every lane after it (measured: 0.9
lost 2-4% of the rate at 10/s, 0.5 none; CLIENT.md)."""
MAX_LANES = 1024
NORMAL, URGENT = 1, 0
"""Turn priorities at the gate, smallest first."""
_PRIORITY: contextvars.ContextVar[int] = contextvars.ContextVar("gate_priority", default=NORMAL)


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Attempts started inside (and in tasks created inside) go ahead of every attempt waiting
    at the gate: for the few requests that all the others wait on, such as the confirmations
    that end a harvest. Pacing is unchanged: only the order of turns."""
    token = _PRIORITY.set(URGENT)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def is_us_peak(when: datetime) -> bool:
    """NCBI's peak hours: weekdays 05:00-21:00 US Eastern (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(US_EASTERN)
    return local.weekday() < 5 and 5 <= local.hour < 21


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """Requests per second allowed; `peak_rate` (if set) applies during US peak hours."""

    name: Policy
    rate: float
    peak_rate: float | None = None

    def rate_at(self, when: datetime) -> float:
        """The allowed rate at wall-clock time `when`."""
        if self.peak_rate is not None and is_us_peak(when):
            return self.peak_rate
        return self.rate


def policy_for(name: str, *, api_key: bool = False, rate: float | None = None) -> RatePolicy:
    """`ncbi` (3/s, 10/s with a key), `ncbi-2007` (3 s apart, 15 s at peak) or a custom rate."""
    if name == Policy.NCBI:
        return RatePolicy(Policy.NCBI, RATE_WITH_KEY if api_key else RATE_NO_KEY)
    if name == Policy.NCBI_2007:
        return RatePolicy(Policy.NCBI_2007, 1 / 3, 1 / 15)
    if name == Policy.CUSTOM or _is_number(name):
        value = rate if rate is not None else (float(name) if _is_number(name) else None)
        if value is None or value <= 0:
            raise ConfigError("a custom rate policy needs a positive rate (requests per second)")
        return RatePolicy(Policy.CUSTOM, value)
    raise ConfigError(f"unknown rate policy {name!r}; use one of {', '.join(Policy)} or a number")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Release:
    """One pass through the gate: when it went out, moved later once its bytes were sent."""

    __slots__ = ("at", "waited")

    def __init__(self, at: float, waited: float) -> None:
        self.at = at
        self.waited = waited


class Gate:
    """Lets at most n requests through in any window of n / rate seconds (plus the margin),
    spaced at least `min_gap` periods of the policy's rate apart, and adapts the rate to what
    the server says (429s, rate headers).

    The window is counted from when each request's bytes actually left (`sent`), the moment the
    server counts it, so a release the busy event loop delays costs one of the n lanes a few
    milliseconds instead of costing every later request, and is made up within the window.
    """

    def __init__(
        self,
        policy: RatePolicy,
        *,
        margin: float = DEFAULT_MARGIN,
        min_gap: float = MIN_GAP,
        control: RateControl | None = None,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], datetime] | None = None,
        stats: Stats | None = None,
    ) -> None:
        if not 0 <= margin < 1:
            raise ConfigError("the gate's safety margin must be in [0, 1)")
        if not 0 < min_gap <= 1:
            raise ConfigError("the gate's minimum gap must be in (0, 1] of a period")
        self.policy = policy
        self.margin = margin
        self.min_gap = min_gap
        self.control = control or RateControl()
        self.stats = stats if stats is not None else Stats()
        self._clock = clock
        self._wall = wall or (lambda: datetime.now(UTC))
        self._hold_until = float("-inf")
        self._limiter: AsyncLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._log: collections.deque[Release] = collections.deque(maxlen=MAX_LANES)
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        """Attempts waiting for their turn: a heap by (priority, arrival)."""
        self._arrivals = itertools.count()
        self._free_since = float("-inf")
        """When the last turn was passed on with nobody waiting (see `idle`)."""

    def now(self) -> float:
        """The gate's clock (the running loop's time unless one was injected)."""
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    @property
    def rate(self) -> float:
        """The rate the gate releases at right now (the policy's, less what the server said)."""
        return self.control.rate(self.policy.rate_at(self._wall()), self.now())

    @property
    def lanes(self) -> int:
        """n: requests per window (the whole-number part of the rate, at least one)."""
        return max(1, min(MAX_LANES, math.floor(self.rate + 1e-9)))

    @property
    def window(self) -> float:
        """Seconds that may hold at most `lanes` requests, margin included."""
        return self.lanes / (self.rate * (1.0 - self.margin))

    def _bucket(self) -> AsyncLimiter:
        """aiolimiter's bucket of one keeps consecutive releases `min_gap` periods of the
        policy's rate apart. A slowed rate is kept by the lanes' windows alone, so the bucket
        changes only with the policy's rate (ncbi-2007's peak hours): a new one then."""
        gap = self.min_gap / self.policy.rate_at(self._wall())
        if self._limiter is None or self._limiter.time_period != gap:
            self._limiter = AsyncLimiter(1, gap)
        return self._limiter

    def _due(self) -> float:
        """The earliest time the next release keeps every window within its n requests."""
        lanes = self.lanes
        lane = self._log[-lanes].at + self.window if len(self._log) >= lanes else float("-inf")
        return max(lane, self._hold_until)

    async def acquire(self) -> Release:
        """Wait for this attempt's turn; pass the result to `sent` once the request is out."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # asyncio primitives belong to one loop
            self._loop, self._limiter = loop, None
            self._busy, self._waiting = False, []
        start = self.now()
        await self._turn(loop)
        try:
            while True:
                wait = self._due() - self.now()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                await self._bucket().acquire()
                if self.now() >= self._due():  # no 429 or late send moved the window meanwhile
                    break
            release = Release(self.now(), self.now() - start)
            self._log.append(release)
        finally:
            self._pass_turn()
        self.stats.incr("gate/acquired")
        self.stats.incr("gate/rate_sum", self.rate)  # / acquired: the mean rate paced at
        if release.waited > 0:
            self.stats.incr("gate/waits")
            self.stats.incr("gate/wait_seconds", release.waited)
        return release

    async def _turn(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until this attempt holds the gate: at once when nobody does, else when every
        attempt ahead of it (by priority, then arrival) has had its turn."""
        if not self._busy and not self._waiting:
            self._busy = True
            return
        ticket = loop.create_future()
        heapq.heappush(self._waiting, (_PRIORITY.get(), next(self._arrivals), ticket))
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                self._pass_turn()  # handed the turn as it was cancelled: hand it on
            raise

    def _pass_turn(self) -> None:
        while self._waiting:
            _, _, ticket = heapq.heappop(self._waiting)
            if not ticket.done():  # a cancelled waiter's ticket is skipped
                ticket.set_result(None)
                return
        self._busy = False
        self._free_since = self.now()

    def idle(self) -> float:
        """Seconds the gate has had a release due and nobody to take it (0 while any attempt
        holds or waits for a turn): time lost to the rate unless the work ran out."""
        if self._busy or self._waiting:
            return 0.0
        return max(0.0, self.now() - max(self._due(), self._free_since))

    def sent(self, release: Release) -> None:
        """The request's bytes went out now: count its window from here."""
        release.at = max(release.at, self.now())

    def on_429(self, retry_after: float | None = None) -> None:
        """NCBI said too many: hold everything until Retry-After, and cut the rate (a little,
        or by a quarter when 429s repeat with no rate headers to go by: rate_control.py)."""
        self.stats.incr("gate/slowdowns")
        if retry_after is not None and retry_after > 0:
            self._hold_until = max(self._hold_until, self.now() + retry_after)
        if self.control.on_429(self.now(), retry_after):
            self.stats.incr("gate/rate_cuts")

    def on_rate_headers(self, release: Release, limit: int, remaining: int) -> None:
        """An accepted answer's `X-RateLimit-Limit`/`-Remaining`, for the request `release`
        sent: the window the server counted it in held this many of ours."""
        start = release.at - WINDOW
        own = 0
        for earlier in reversed(self._log):
            if earlier.at <= start - WINDOW:  # logged in order of sending, give or take
                break
            own += start < earlier.at <= release.at
        self.control.on_rate_headers(limit, remaining, own)


_PROCESS_GATE: Gate | None = None


def process_gate(
    policy: RatePolicy, *, margin: float = DEFAULT_MARGIN, stats: Stats | None = None
) -> Gate:
    """The single gate of this process: every client shares it, so limits hold across them."""
    global _PROCESS_GATE
    if _PROCESS_GATE is None:
        _PROCESS_GATE = Gate(
            policy, margin=margin, control=RateControl(slow_start=True), stats=stats
        )
    elif _PROCESS_GATE.policy != policy:
        raise ConfigError(
            f"this process already paces requests with policy '{_PROCESS_GATE.policy.name}'"
        )
    return _PROCESS_GATE


def reset_process_gate() -> None:
    """Forget the process gate (tests, or a new job in the same process)."""
    global _PROCESS_GATE
    _PROCESS_GATE = None
