"""NCBI closes a connection idle for 4 s (`Keep-Alive: timeout=4`): the emulator does, and the
client's pool lets go of an idle connection before that, so it never sends a request on one the
server is about to drop. Time is jumped, not slept: the loop's clock and aiohttp's pool clock
read real time plus an offset that the test moves forward, over real loopback I/O."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import aiohttp.connector
import pytest
from eutils_helpers import fast_client
from yarl import URL

from harvester.emulator.connection import CONNECTIONS_KEY, KEEPALIVE_TIMEOUT
from harvester.emulator.server import Emulator
from harvester.eutils.connections import POOL_IDLE_SECONDS, never_resend


class JumpClock:
    """Real monotonic time plus `offset`, for the running loop (the server's keep-alive timer)
    and for aiohttp's connection pool (its idle check); `jump` moves both forward at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self.offset

    async def jump(self, seconds: float) -> None:
        self.offset += seconds
        for _ in range(3):  # let timers now due (the server's keep-alive check) run
            await asyncio.sleep(0)


@pytest.fixture
async def jumping(monkeypatch: pytest.MonkeyPatch) -> JumpClock:
    clock = JumpClock()
    monkeypatch.setattr(asyncio.get_running_loop(), "time", clock.now)
    monkeypatch.setattr(aiohttp.connector, "monotonic", clock.now)
    return clock


class RawConnection:
    """One HTTP/1.1 connection by hand, so the test sees exactly when the server closes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def einfo(self) -> bytes:
        self.writer.write(b"GET /entrez/eutils/einfo.fcgi HTTP/1.1\r\nHost: emulator\r\n\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head
        while size := int(await self.reader.readuntil(b"\r\n"), 16):
            await self.reader.readexactly(size + 2)
        await self.reader.readuntil(b"\r\n")
        return head


async def test_the_emulator_closes_a_connection_idle_for_four_seconds(
    emulator: Emulator, jumping: JumpClock
) -> None:
    url = URL(emulator.base_url)
    assert url.host is not None and url.port is not None
    raw = RawConnection(*await asyncio.open_connection(url.host, url.port))
    try:
        assert b"Keep-Alive: timeout=4, max=40" in await raw.einfo()
        await jumping.jump(KEEPALIVE_TIMEOUT - 0.5)
        assert b"max=39" in await raw.einfo()  # idle 3.5 s: still open, the same connection

        await jumping.jump(KEEPALIVE_TIMEOUT + 0.5)
        assert await asyncio.wait_for(raw.reader.read(), timeout=5) == b""  # closed by the server
    finally:
        raw.writer.close()
    assert emulator.app[CONNECTIONS_KEY].opened == 1


async def test_the_client_pool_lets_go_of_an_idle_connection_before_the_server_does(
    emulator: Emulator, jumping: JumpClock
) -> None:
    assert POOL_IDLE_SECONDS < KEEPALIVE_TIMEOUT
    connections = emulator.app[CONNECTIONS_KEY]
    async with fast_client(emulator.base_url) as client:
        await client.einfo()
        await jumping.jump(POOL_IDLE_SECONDS - 0.5)
        await client.einfo()
        assert connections.opened == 1  # reused while idle under the pool's limit

        # idle past the pool's limit, still under the server's: the server would answer on
        # it, but the client opens a new connection rather than race the server's close
        await jumping.jump((POOL_IDLE_SECONDS + KEEPALIVE_TIMEOUT) / 2)
        await client.einfo()
        assert connections.opened == 2

        await jumping.jump(KEEPALIVE_TIMEOUT + 0.5)
        await client.einfo()
        assert connections.opened == 3
    assert client.stats.get("connection/closed_by_server") == 0


async def test_the_private_aiohttp_switch_never_resend_sets_is_still_there() -> None:
    """aiohttp has no public way to stop it resending a GET on a closed pooled connection;
    never_resend sets its private `_retry_connection`. Fails when aiohttp drops, renames or
    stops reading it, so a resend behind the gate's back cannot come back unnoticed."""
    import inspect
    import types

    async with aiohttp.ClientSession() as session:
        assert session._retry_connection is True  # aiohttp's default: it would resend
        never_resend(session)
        assert session._retry_connection is False
    assert "self._retry_connection" in inspect.getsource(aiohttp.ClientSession._request)
    with pytest.raises(RuntimeError, match="_retry_connection"):
        never_resend(types.SimpleNamespace())  # type: ignore[arg-type]
