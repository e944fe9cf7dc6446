"""Pooled connections and the server that closes them: NCBI drops a connection after 4 idle
seconds or 40 requests (`Keep-Alive: timeout=4, max=40`), so a request sent on a pooled
connection may find it already closed. That is not a fault of the request: it is resent at
once, through the gate again, and not counted against its retries."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp

from harvester.eutils.pacing import Gate, Release

__all__ = ["POOL_IDLE_SECONDS", "Exchange", "StaleConnection", "never_resend", "trace"]

POOL_IDLE_SECONDS = 3.0
"""Keep idle connections a second less than NCBI's 4, so few are reused just as it drops them."""


def never_resend(session: aiohttp.ClientSession) -> None:
    """Stop aiohttp resending, by itself, a GET whose pooled connection was found closed: it
    would go out behind the gate's back; `Transport._retried` resends it through the gate.
    aiohttp (3.14) offers no public switch (aio-libs/aiohttp#10790), so this is the one place
    that sets its private `_retry_connection`; tests/test_keepalive_idle.py fails if aiohttp
    drops or renames it."""
    if not hasattr(session, "_retry_connection"):
        raise RuntimeError(
            f"aiohttp {aiohttp.__version__} has no ClientSession._retry_connection: "
            "never_resend() needs a new way to keep it from resending requests"
        )
    session._retry_connection = False


class Exchange:
    """One HTTP exchange's trace context: its gate release, whether its bytes have left and
    its status line has come back, and what its connection did."""

    __slots__ = ("answered", "release", "reused", "sent")

    def __init__(self, release: Release) -> None:
        self.release = release
        self.reused = False
        self.sent = False
        """The request's headers have left (`release.at` says when, the gate's clock)."""
        self.answered = False
        """The response's status line and headers have come back."""

    def stale(self, exc: BaseException) -> bool:
        """Whether `exc` is a pooled connection found closed before any answer came back."""
        lost = isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
        return lost and self.reused and not self.answered


class StaleConnection(Exception):
    """The server had closed the pooled connection this request went out on."""


def trace(gate: Gate) -> aiohttp.TraceConfig:
    """Tell the gate when each request's bytes actually leave (headers, then any body), and
    mark exchanges that went out and those on a reused connection."""

    async def sent(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: object) -> None:
        exchange = ctx.trace_request_ctx
        if isinstance(exchange, Exchange):
            gate.sent(exchange.release)
            exchange.sent = True

    async def reused(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: object) -> None:
        if isinstance(ctx.trace_request_ctx, Exchange):
            ctx.trace_request_ctx.reused = True

    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(sent)
    config.on_request_chunk_sent.append(sent)
    config.on_connection_reuseconn.append(reused)
    return config
