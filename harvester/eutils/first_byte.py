"""Whether a read's request is out and waiting on the server's first byte: what a hedge judges.

A read may be slow for reasons of our own (its turn at the gate, a busy event loop, the parse of
its records); asking NCBI again for any of those asks for a page it already answered. So the
hedger (workflow/hedge.py) hands each read a `FirstByteWatch` through a context variable, the
transport shows it the exchange now out, and the read counts as waiting on the server only from
the moment that exchange's bytes were sent until its status line came back.
"""

from __future__ import annotations

import contextvars

from harvester.eutils.connections import Exchange

__all__ = ["FirstByteWatch", "current_watch"]


class FirstByteWatch:
    """The exchange a read has out now (None between attempts: at the gate, in a backoff)."""

    __slots__ = ("exchange",)

    def __init__(self) -> None:
        self.exchange: Exchange | None = None

    def waiting_since(self) -> float | None:
        """When the request now out was sent, while no byte of its answer has come; else None."""
        exchange = self.exchange
        if exchange is None or not exchange.sent or exchange.answered:
            return None
        return exchange.release.at


current_watch: contextvars.ContextVar[FirstByteWatch | None] = contextvars.ContextVar(
    "harvester_first_byte_watch", default=None
)
"""The watch of the read the running task serves (set by the hedger in each copy's task)."""
