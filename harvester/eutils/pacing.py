"""The gate every E-utilities attempt passes, retries included: one per (host, API key) in a
process (gates.py keeps them), shared by every job, client and event loop that sends there.

NCBI counts requests over a sliding second, so the gate enforces exactly that: at most n
requests (the limit) in any window of one second plus a safety margin (default 2%) against
jitter at the server, with consecutive releases kept apart by aiolimiter's bucket of one, so
there is never a burst. Windows are counted from when each request actually left, which lets a
release the event loop delayed be made up instead of lost. The server's word sets how much of
the policy's rate is used (rate_control.py): a 429's Retry-After holds every request until it
passes, repeated 429s cut the rate for a while, and the `X-RateLimit-*` headers leave another
program's share of the allowance to it. Time comes from the running loop (tests use a
virtual one; every standard loop reads `time.monotonic`, so loops in one process agree).
Attempts take their turns first come, first served, except that those started inside
`urgent()` go ahead of every other waiting attempt.

Loops and threads: `harvest()` may run on a worker thread's loop beside another job's, and
asyncio objects belong to one loop, so each loop queues its attempts on its own (`_Turns`);
what the limit rests on (the sends logged, a 429's hold, the rate control) is shared and
changed under one thread lock, where a release is checked against every window and logged in
one step. Loops therefore never exceed the limit together; only the `min_gap` spacing (the
anti-burst bucket) is kept within each loop, not between two.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import heapq
import itertools
import math
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter

from harvester.errors import ConfigError
from harvester.eutils.ledger import Ledger
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


class _Turns:
    """One event loop's queue at the gate: who holds the turn, who waits (a heap by priority,
    then arrival), and its anti-burst bucket."""

    __slots__ = ("arrivals", "busy", "free_since", "limiter", "waiting")

    def __init__(self) -> None:
        self.busy = False
        self.waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self.arrivals = itertools.count()
        self.limiter: AsyncLimiter | None = None
        self.free_since = float("-inf")
        """When the last turn was passed on with nobody waiting (see `Gate.idle`)."""


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
        ledger: Ledger | None = None,
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
        self.ledger = ledger
        """Send times shared with this machine's other processes (ledger.py), if kept."""
        self._ledger_due = float("-inf")
        self._log: collections.deque[Release] = collections.deque(maxlen=MAX_LANES)
        self._lock = threading.RLock()
        """Guards what all loops share: the log, the hold and the rate control."""
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = (
            weakref.WeakKeyDictionary()
        )

    def now(self) -> float:
        """The gate's clock (the running loop's time unless one was injected)."""
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    @property
    def rate(self) -> float:
        """The rate the gate releases at right now (the policy's, less what the server said)."""
        with self._lock:
            return self.control.rate(self.policy.rate_at(self._wall()), self.now())

    @property
    def lanes(self) -> int:
        """n: requests per window (the whole-number part of the rate, at least one)."""
        return max(1, min(MAX_LANES, math.floor(self.rate + 1e-9)))

    @property
    def window(self) -> float:
        """Seconds that may hold at most `lanes` requests, margin included."""
        return self.lanes / (self.rate * (1.0 - self.margin))

    def _bucket(self, turns: _Turns) -> AsyncLimiter:
        """aiolimiter's bucket of one keeps consecutive releases `min_gap` periods of the
        policy's rate apart. A slowed rate is kept by the lanes' windows alone, so the bucket
        changes only with the policy's rate (ncbi-2007's peak hours): a new one then."""
        gap = self.min_gap / self.policy.rate_at(self._wall())
        if turns.limiter is None or turns.limiter.time_period != gap:
            turns.limiter = AsyncLimiter(1, gap)
        return turns.limiter

    def _due(self) -> float:
        """The earliest time the next release keeps every window within its n requests."""
        with self._lock:
            lanes = self.lanes
            log = self._log
            lane = log[-lanes].at + self.window if len(log) >= lanes else float("-inf")
            return max(lane, self._hold_until, self._ledger_due)

    def _turns_of(self, loop: asyncio.AbstractEventLoop) -> _Turns:
        """This loop's queue (a new loop gets a fresh one; a closed loop's goes with it)."""
        with self._lock:
            turns = self._turns.get(loop)
            if turns is None:
                turns = self._turns[loop] = _Turns()
            return turns

    def _release(self, start: float) -> Release | None:
        """Log a release now if every window (other loops' sends included) has room."""
        with self._lock:
            now = self.now()
            if now < self._due():  # a 429, a late send or another loop moved the window
                return None
            if self.ledger is not None:  # the machine's other processes: the allowance's lanes
                rate = self.policy.rate_at(self._wall())
                lanes = max(1, min(MAX_LANES, math.floor(rate + 1e-9)))
                wait = self.ledger.reserve(lanes, lanes / (rate * (1.0 - self.margin)))
                if wait > 0:
                    self._ledger_due = now + wait
                    return None
            release = Release(now, now - start)
            self._log.append(release)
            return release

    async def acquire(self) -> Release:
        """Wait for this attempt's turn; pass the result to `sent` once the request is out."""
        loop = asyncio.get_running_loop()
        turns = self._turns_of(loop)
        start = self.now()
        await self._turn(turns, loop)
        try:
            while True:
                wait = self._due() - self.now()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                await self._bucket(turns).acquire()
                if (release := self._release(start)) is not None:
                    break
        finally:
            self._pass_turn(turns)
        self.stats.incr("gate/acquired")
        self.stats.incr("gate/rate_sum", self.rate)  # / acquired: the mean rate paced at
        if release.waited > 0:
            self.stats.incr("gate/waits")
            self.stats.incr("gate/wait_seconds", release.waited)
        return release

    async def _turn(self, turns: _Turns, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until this attempt holds its loop's turn: at once when nobody does, else when
        every attempt ahead of it (by priority, then arrival) has had its turn."""
        if not turns.busy and not turns.waiting:
            turns.busy = True
            return
        ticket = loop.create_future()
        heapq.heappush(turns.waiting, (_PRIORITY.get(), next(turns.arrivals), ticket))
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                self._pass_turn(turns)  # handed the turn as it was cancelled: hand it on
            raise

    def _pass_turn(self, turns: _Turns) -> None:
        while turns.waiting:
            _, _, ticket = heapq.heappop(turns.waiting)
            if not ticket.done():  # a cancelled waiter's ticket is skipped
                ticket.set_result(None)
                return
        turns.busy = False
        turns.free_since = self.now()

    def idle(self) -> float:
        """Seconds the gate has had a release due and nobody to take it (0 while any attempt,
        on any loop, holds or waits for a turn): time lost to the rate unless work ran out."""
        with self._lock:
            queues = list(self._turns.values())
            if any(turns.busy or turns.waiting for turns in queues):
                return 0.0
            free_since = max((turns.free_since for turns in queues), default=float("-inf"))
            return max(0.0, self.now() - max(self._due(), free_since))

    def sent(self, release: Release) -> None:
        """The request's bytes went out now: count its window from here."""
        with self._lock:
            release.at = max(release.at, self.now())

    def on_429(self, retry_after: float | None = None) -> bool:
        """NCBI said too many: hold everything until Retry-After, and cut the rate (a little,
        or by a quarter when 429s repeat with no rate headers to go by: rate_control.py).
        True when the rate was cut (False: part of the last cut's burst)."""
        self.stats.incr("gate/slowdowns")
        with self._lock:
            if retry_after is not None and retry_after > 0:
                self._hold_until = max(self._hold_until, self.now() + retry_after)
            cut = self.control.on_429(self.now(), retry_after)
        if cut:
            self.stats.incr("gate/rate_cuts")
        return cut

    def on_rate_headers(self, release: Release, limit: int, remaining: int) -> None:
        """An accepted answer's `X-RateLimit-Limit`/`-Remaining`, for the request `release`
        sent: the window the server counted it in held this many of ours."""
        start = release.at - WINDOW
        own: int | None = 0
        with self._lock:
            if self.ledger is not None:  # this machine's processes are not "another program"
                own = self.ledger.count(start, release.at)
            else:
                log = self._log
                if len(log) == log.maxlen and log[0].at > start:
                    own = None  # the log no longer reaches back to that window
                else:
                    mine = 0
                    for earlier in reversed(log):
                        if earlier.at <= start - WINDOW:  # in order of sending, give or take
                            break
                        mine += start < earlier.at <= release.at
                    own = mine
            if own is not None:  # a reading we cannot pair with our own sends says nothing
                self.control.on_rate_headers(limit, remaining, own)
