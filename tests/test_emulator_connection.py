"""The emulator's connections behave as NCBI's: gzip when asked, chunked, keep-alive limits, 414."""

from __future__ import annotations

import gzip
from types import SimpleNamespace

import aiohttp

from harvester.emulator.connection import KEEPALIVE_MAX, MAX_URL_BYTES
from harvester.emulator.server import Emulator


async def test_gzip_only_when_asked_and_always_chunked(emulator: Emulator) -> None:
    url = f"{emulator.base_url}efetch.fcgi?db=gene&id=3718&retmode=xml"
    async with aiohttp.ClientSession(auto_decompress=False) as raw:
        async with raw.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Transfer-Encoding"] == "chunked"
            body = gzip.decompress(await resp.read())
        async with raw.get(url, headers={"Accept-Encoding": "identity"}) as resp:
            assert "Content-Encoding" not in resp.headers
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert await resp.read() == body
    assert b"<Entrezgene>" in body
    assert resp.headers["Keep-Alive"] == f"timeout=4, max={KEEPALIVE_MAX - 1}"


async def test_a_streamed_answer_is_gzipped_at_the_fastest_level(emulator: Emulator) -> None:
    """Any gzip level is NCBI's protocol; the default level was most of the emulator's CPU in a
    big harvest (benchmarks/WEIGHT.md). The gzip header's XFL byte says which: 4 = fastest."""
    url = f"{emulator.base_url}efetch.fcgi?db=gene&id=3718&retmode=xml"
    async with (
        aiohttp.ClientSession(auto_decompress=False) as raw,
        raw.get(url, headers={"Accept-Encoding": "gzip"}) as resp,
    ):
        compressed = await resp.read()
    assert compressed[:2] == b"\x1f\x8b" and compressed[8] == 4
    assert b"<Entrezgene>" in gzip.decompress(compressed)


async def test_a_connection_is_closed_after_its_fortieth_request(emulator: Emulator) -> None:
    opened: list[int] = []

    async def created(*_: object) -> None:
        opened.append(1)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(created)
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as http:
        answers = []
        for _ in range(KEEPALIVE_MAX + 1):
            async with http.get(f"{emulator.base_url}einfo.fcgi") as resp:
                await resp.read()
                answers.append(SimpleNamespace(**resp.headers))
    assert getattr(answers[0], "Keep-Alive") == f"timeout=4, max={KEEPALIVE_MAX}"
    assert answers[KEEPALIVE_MAX - 1].Connection == "close"
    assert len(opened) == 2  # the 41st request needed a new connection


async def test_an_over_long_get_url_gets_414_and_the_same_post_is_answered(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    ids = ",".join(str(3718 + i) for i in range(MAX_URL_BYTES // 5))
    url = f"{emulator.base_url}esummary.fcgi"
    async with http.get(url, params={"db": "gene", "id": ids}) as resp:
        assert resp.status == 414
    async with http.post(url, data={"db": "gene", "id": ids}) as resp:
        assert resp.status == 200
    async with http.get(url, params={"db": "gene", "id": ids[:8000]}) as resp:
        assert resp.status == 200
