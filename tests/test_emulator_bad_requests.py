"""The emulator under bad requests: missing or malformed parameters, absurd retmax, 100,000 ids,
garbage POST bodies, unknown endpoints and huge URLs get NCBI-style answers (an in-band ERROR,
or the HTTP status NCBI uses), never a traceback or a 500, and the next request is served."""

from __future__ import annotations

import asyncio
import logging
import os

import aiohttp
import pytest

from harvester.emulator.server import Emulator

ERROR = b"<ERROR>"
OK = b""  # a normal answer: any XML or JSON result
GET_CASES = [
    ("efetch no db", "efetch.fcgi?id=3008", 200, b"<ERROR>Invalid db name specified: </ERROR>"),
    ("efetch no id", "efetch.fcgi?db=snp", 200, b"<ERROR>Empty id list - nothing todo</ERROR>"),
    ("elink no dbfrom", "elink.fcgi?db=snp&id=3718", 200, ERROR),
    ("esearch no term", "esearch.fcgi?db=gene", 200, b"<ERROR>Empty term and query_key"),
    ("unknown db", "esummary.fcgi?db=nonsense&id=1", 200, b"Invalid db name specified"),
    ("ids not numbers", "efetch.fcgi?db=snp&id=abc,def", 400, b"<ERROR>ID list is empty!"),
    ("retmax 10**12", f"efetch.fcgi?db=snp&id=3008&retmax={10**12}", 200, b"<SNP_ID>3008"),
    ("retmax -1", "efetch.fcgi?db=snp&id=3008&retmax=-1", 200, b"Invalid retmax value: -1"),
    ("retmax x", "efetch.fcgi?db=snp&id=3008&retmax=x", 200, b"Invalid retmax value: x"),
    ("esearch retmax 10**12", f"esearch.fcgi?db=gene&term=JAK3&retmax={10**12}", 200, b"<Count>"),
    ("esearch retmax -1", "esearch.fcgi?db=gene&term=JAK3&retmax=-1", 200, ERROR),
    ("esearch retstart x", "esearch.fcgi?db=gene&term=JAK3&retstart=x", 200, ERROR),
    ("json retmax x", "esearch.fcgi?db=gene&term=JAK3&retmax=x&retmode=json", 200, b'"ERROR"'),
    ("elink retmax 10**12", f"elink.fcgi?dbfrom=gene&db=snp&id=3718&retmax={10**12}", 200, OK),
    ("query_key x", "efetch.fcgi?db=snp&WebEnv=MCID_1&query_key=x", 200, b"Invalid query_key"),
    ("WebEnv garbage", "efetch.fcgi?db=snp&WebEnv=%00%ff&query_key=1", 200, b"Unable to obtain"),
    ("unknown cmd", "elink.fcgi?dbfrom=gene&db=snp&id=3718&cmd=bogus", 200, b"Unknown cmd"),
    ("unknown rettype", "efetch.fcgi?db=snp&id=3008&rettype=bogus", 200, b"Cannot process"),
    ("term syntax", "esearch.fcgi?db=gene&term=((((", 200, ERROR),
    ("id beyond int64", f"efetch.fcgi?db=snp&id={'9' * 40}", 200, OK),
    ("bad percent escapes", "esearch.fcgi?db=gene&term=%ff%fe%zz", 200, OK),
    ("unknown endpoint", "nope.fcgi?db=snp", 404, OK),
    ("huge query string", "esearch.fcgi?db=gene&term=" + "a" * 100_000, 414, b"414"),
]


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def assert_still_serving(http: aiohttp.ClientSession, emu: Emulator) -> None:
    async with http.get(f"{emu.base_url}einfo.fcgi?db=snp") as resp:
        assert resp.status == 200 and b"<DbName>snp</DbName>" in await resp.read()


def assert_ncbi_style(status: int, body: bytes, want_status: int, want: bytes) -> None:
    assert status == want_status, body[:300]
    assert b"Traceback" not in body and b"Internal Server Error" not in body
    assert want in body, body[:300]


@pytest.mark.parametrize(
    ("url", "status", "want"), [c[1:] for c in GET_CASES], ids=[c[0] for c in GET_CASES]
)
async def test_a_bad_get_gets_an_ncbi_style_answer(
    emulator, http, no_tracebacks, url, status, want
):
    async with http.get(f"{emulator.base_url}{url}") as resp:
        assert_ncbi_style(resp.status, await resp.read(), status, want)
    await assert_still_serving(http, emulator)
    assert not [r for r in no_tracebacks.records if r.exc_info], no_tracebacks.text


@pytest.mark.parametrize(
    ("endpoint", "form", "want"),
    [
        ("epost", "db=snp", b"<QueryKey>1</QueryKey>"),
        ("efetch", "db=snp", b"<ExchangeSet"),
        ("esummary", "db=snp", b"<eSummaryResult>"),
        ("elink", "dbfrom=gene&db=snp", b"<eLinkResult>"),
    ],
)
async def test_a_hundred_thousand_ids_by_post(emulator, http, no_tracebacks, endpoint, form, want):
    ids = ",".join(str(i) for i in range(1, 100_001))
    data = f"{form}&id={ids}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(f"{emulator.base_url}{endpoint}.fcgi", data=data, headers=headers) as r:
        assert_ncbi_style(r.status, await r.read(), 200, want)
    await assert_still_serving(http, emulator)
    assert not [r for r in no_tracebacks.records if r.exc_info]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "multipart/form-data; boundary=xyz",
        "text/plain; charset=utf-8",
    ],
)
async def test_garbage_post_bodies_are_ignored_like_ncbi(
    emulator, http, no_tracebacks, content_type
):
    body = os.urandom(20_000) + b"&id=\xff\xfe3008"
    url = f"{emulator.base_url}efetch.fcgi?db=snp"
    async with http.post(url, data=body, headers={"Content-Type": content_type}) as resp:
        assert_ncbi_style(resp.status, await resp.read(), 200, b"<ERROR>Empty id list")
    await assert_still_serving(http, emulator)
    assert not [r for r in no_tracebacks.records if r.exc_info]


async def test_bytes_that_are_not_http_do_not_take_the_server_down(emulator, http):
    reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
    writer.write(os.urandom(4096) + b"\r\n\r\n")
    await writer.drain()
    answer = await reader.read(4096)
    writer.close()
    assert b"Traceback" not in answer
    await assert_still_serving(http, emulator)
