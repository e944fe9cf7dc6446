"""NCBI's rate limit: requests per `api_key`, else per client address, over a sliding second.

Every E-utility counts toward one window per identity (NCBI counts "all E-utilities together"),
3 requests/s without a key and 10/s with one by default. Over the limit the answer is HTTP 429
with NCBI's JSON body, where `count` and `limit` are strings, plus `Retry-After`.

Only ACCEPTED requests fill the window: a refused request does not push the client's next
accepted slot further away. NCBI's own rule is unknown; this is the friendlier and common choice,
and it means a client that backs off for `Retry-After` seconds always gets through. The `count`
in a refusal body is every request seen in the last window (accepted or not), so four requests
in one second at limit 3 read `"count":"4"`.

With enforcement off, requests are still counted so `X-RateLimit-*` headers stay truthful.

`shared_load` R imitates a second program on the same address (or key), one that was already
running when the identity's first request came: R requests/s evenly spaced are counted in its
window, the last window before that first request included, accepted while there is room (that
program is refused too when the window is full). The client is left with the rest of the
allowance and learns of the other program only from the rate headers and its 429s, as on a
shared machine; its first answer's headers already show the other program's whole share.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from aiohttp import web

Clock = Callable[[], float]
JSON_TYPE = "application/json"
_PURGE_EVERY = 4096
_EPSILON = 1e-6
"""Slack at the window's edge so a client paced at exactly 1/rate is not refused by rounding."""


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Requests allowed per window, with and without an `api_key`, and whether to refuse."""

    enforce: bool = True
    without_key: int = 3
    with_key: int = 10
    window: float = 1.0
    valid_keys: frozenset[str] | None = None
    """When set, any other key is refused with HTTP 400 "API key invalid"."""
    shared_load: float = 0.0
    """Requests/s another program spends of each identity's allowance (see the module doc)."""

    def scaled(self, speedup: float) -> RateLimits:
        """Limits K times higher, for a run where NCBI time passes K times faster."""
        return RateLimits(
            self.enforce,
            max(1, round(self.without_key * speedup)),
            max(1, round(self.with_key * speedup)),
            self.window,
            self.valid_keys,
            self.shared_load * speedup,
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer for one request, and what its rate headers should say."""

    who: str
    """The raw key or the client address: what NCBI echoes as `api-key`."""
    keyed: bool
    limit: int
    count: int
    remaining: int
    allowed: bool
    retry_after: int = 0
    invalid_key: bool = False


class RateGate:
    """Sliding-window counters per identity; `check` is O(1) amortised and never sleeps."""

    def __init__(self, limits: RateLimits | None = None, clock: Clock = time.monotonic) -> None:
        self.limits = limits or RateLimits()
        self.clock = clock
        self._accepted: dict[str, deque[float]] = {}
        self._seen: dict[str, deque[float]] = {}
        self._shared_next: dict[str, float] = {}
        """When the other program's next request arrives, per identity (shared_load)."""
        self._checks = 0

    def check(self, api_key: str | None, address: str) -> Verdict:
        """Count one request arriving now and say whether it may proceed."""
        limits, now = self.limits, self.clock()
        keyed = bool(api_key)
        who = api_key if api_key else address
        limit = limits.with_key if keyed else limits.without_key
        if keyed and limits.valid_keys is not None and who not in limits.valid_keys:
            return Verdict(who, True, limit, 0, limit, False, invalid_key=True)
        ident = ("k:" if keyed else "a:") + who
        accepted = self._accepted.get(ident)
        if accepted is None:
            accepted = self._accepted[ident] = deque()
            self._seen[ident] = deque()
        seen = self._seen[ident]
        if limits.shared_load > 0:
            self._shared_arrivals(ident, limit, now)
        edge = now - limits.window + _EPSILON
        for window in (accepted, seen):
            while window and window[0] <= edge:
                window.popleft()
        seen.append(now)
        self._checks += 1
        if self._checks % _PURGE_EVERY == 0:
            self._purge(edge)
        if limits.enforce and len(accepted) >= limit:
            wait = accepted[0] + limits.window - now
            return Verdict(who, keyed, limit, len(seen), 0, False, max(1, math.ceil(wait)))
        accepted.append(now)
        return Verdict(who, keyed, limit, len(seen), max(0, limit - len(accepted)), True)

    def _shared_arrivals(self, ident: str, limit: int, now: float) -> None:
        """Count the other program's requests up to `now`, each where it fell in time."""
        accepted, seen = self._accepted[ident], self._seen[ident]
        step = 1.0 / self.limits.shared_load
        # a program already running: its requests of the last window are counted too
        at = self._shared_next.get(ident, now - self.limits.window + step / 2)
        while at <= now:
            edge = at - self.limits.window + _EPSILON
            while accepted and accepted[0] <= edge:
                accepted.popleft()
            seen.append(at)
            if not self.limits.enforce or len(accepted) < limit:
                accepted.append(at)
            at += step
        self._shared_next[ident] = at

    def _purge(self, edge: float) -> None:
        """Forget identities idle for a whole window, so memory follows active clients only."""
        for ident in [i for i, s in self._seen.items() if not s or s[-1] <= edge]:
            del self._seen[ident]
            del self._accepted[ident]
            self._shared_next.pop(ident, None)


def _json(status: int, body: dict[str, str], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        content_type=None,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def refusal(who: str, count: int, limit: int, retry_after: int = 1) -> web.Response:
    """NCBI's 429: `{"error":"API rate limit exceeded","api-key":…,"count":"5","limit":"3"}`."""
    body = {"error": "API rate limit exceeded", "api-key": who, "count": str(count)}
    body["limit"] = str(limit)
    return _json(429, body, {"Retry-After": str(retry_after)})


def invalid_key(key: str) -> web.Response:
    """NCBI's 400 for a key it does not know."""
    body = {"error": "API key invalid", "api-key": key, "type": "invalid", "status": "unknown"}
    return _json(400, body)


def verdict_response(verdict: Verdict) -> web.Response:
    """The response for a request the gate did not let through."""
    if verdict.invalid_key:
        return invalid_key(verdict.who)
    return refusal(verdict.who, verdict.count, verdict.limit, verdict.retry_after)


def set_rate_headers(response: web.StreamResponse, verdict: Verdict) -> None:
    """`X-RateLimit-Limit` / `-Remaining`, as on every NCBI response."""
    response.headers["X-RateLimit-Limit"] = str(verdict.limit)
    response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
