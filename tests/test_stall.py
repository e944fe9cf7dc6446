"""A trickling answer is a stalled attempt: bounded by its pace, not only by the total timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from aiohttp import web

from harvester.errors import TransportError
from harvester.eutils.stall import Stalled, StallWatch, watched
from tests.eutils_helpers import fast_client, fault_server, virtual_time


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_window_with_enough_bytes_starts_the_next_and_a_short_one_stalls() -> None:
    clock = FakeClock()
    watch = StallWatch(10.0, 100, clock)
    clock.now += 9.0
    watch.fed(100)  # enough within the window: a new one starts now
    assert watch.remaining() == pytest.approx(10.0)
    for _ in range(9):
        clock.now += 1.0
        watch.fed(1)  # a byte a second: never silent, but far too slow
    clock.now += 1.0
    with pytest.raises(Stalled, match=r"fewer than 100 bytes in 10 s"):
        watch.fed(1)


async def test_a_read_that_waits_past_the_window_stalls_on_the_loop_clock() -> None:
    async def silent() -> bytes:
        await asyncio.sleep(3600)
        return b"never"

    async with virtual_time() as clock:
        started = clock.now
        watch = StallWatch(30.0, 1, asyncio.get_running_loop().time)
        with pytest.raises(Stalled):
            async for _ in watched(silent, watch):
                pass
        assert clock.now - started == pytest.approx(30.0, abs=0.01)  # virtual seconds


def _chunks() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?>\n<eInfoResult><DbList>'
    while True:
        yield b" "


async def test_an_answer_of_a_byte_at_a_time_is_a_stalled_attempt_and_retried() -> None:
    hits: list[int] = []

    async def trickle(request: web.Request) -> web.StreamResponse:
        hits.append(1)
        resp = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await resp.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client hangs up on a stalled answer
            for n, chunk in enumerate(_chunks()):
                await resp.write(chunk)
                await asyncio.sleep(0.02)  # the server's pace: 50 bytes a second, never silent
                if n > 1500:  # 30 s at most, should the bound not hold
                    break
        return resp

    async with fault_server(trickle) as base:
        client = fast_client(base, max_attempts=2, stall_seconds=0.2, stall_bytes=64)
        async with client:
            with pytest.raises(Stalled, match="stalled") as caught:
                await asyncio.wait_for(client.einfo(), 20)  # a safety net, not the assertion
    assert isinstance(caught.value, TransportError)
    assert len(hits) == 2  # retried as a timeout is, then given up
    assert client.stats.snapshot().get("giveup/timeout") == 1
