"""The client against tiny in-test servers that misbehave the ways NCBI does (notes §5).

Retry waits are recorded, never slept; the gate is a private, unthrottled one whose counters
show that every attempt, retries included, went through it.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from eutils_helpers import fast_client, fault_server, snp_page

from harvester.errors import HistoryExpiredError, NcbiPermanentError, ParseError
from harvester.eutils.client import ClientConfig, EutilsClient
from harvester.eutils.results import Record
from harvester.eutils.xmlstream import BadBody

KEY = "feedfacefeedfacefeedfacefeedface0042"
POST_OK = b"<ePostResult><QueryKey>1</QueryKey><WebEnv>MCID_abc</WebEnv></ePostResult>"
XML = "text/xml"


class Script:
    """Answers request n with responses[n] (the last one repeats); records what came in."""

    def __init__(self, *responses: Callable[[web.Request], Any]) -> None:
        self.responses = responses
        self.requests: list[tuple[str, dict[str, list[str]]]] = []

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        form = await request.post() if request.method == "POST" else request.query
        params: dict[str, list[str]] = {}
        for key, value in form.items():
            params.setdefault(key, []).append(str(value))
        self.requests.append((request.method, params))
        answer = self.responses[min(len(self.requests), len(self.responses)) - 1]
        result = answer(request)
        if hasattr(result, "__await__"):
            result = await result
        assert isinstance(result, web.StreamResponse)
        return result


def body(data: bytes, status: int = 200, **headers: str) -> Callable[[web.Request], Any]:
    return lambda _req: web.Response(body=data, status=status, content_type=XML, headers=headers)


def truncated(data: bytes) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": XML})
        resp.content_length = len(data) + 10_000
        await resp.prepare(request)
        await resp.write(data)
        assert request.transport is not None
        request.transport.close()
        return resp

    return answer


async def test_429_with_retry_after_then_success() -> None:
    script = Script(
        body(b'{"error":"API rate limit exceeded"}', 429, **{"Retry-After": "1"}), body(POST_OK)
    )
    sleeps: list[float] = []
    async with fault_server(script) as url, fast_client(url, sleeps=sleeps) as client:
        post = await client.epost("gene", ["3718"])
    assert post.webenv == "MCID_abc"
    assert sleeps and sleeps[0] >= 1.0
    assert client.stats.get("retry/http_429") == 1
    assert client.stats.get("http/429") == 1 and client.stats.get("http/200") == 1
    assert client.gate.stats.get("gate/acquired") == 2  # the retry passed the gate too
    assert client.gate.stats.get("gate/slowdowns") == 1


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (body(b"<html><body>Internal error</body></html>", 500), "http_500"),
        (body(b"", 200), "empty"),
        (body(b"<!DOCTYPE html><html>maintenance</html>", 200), "not_xml"),
        (body(b"<ePostResult><ERROR>Search Backend failed: x</ERROR></ePostResult>"), "backend"),
        (truncated(POST_OK[:30]), "truncated"),
    ],
)
async def test_transient_faults_are_retried(
    first: Callable[[web.Request], Any], reason: str
) -> None:
    script = Script(first, body(POST_OK))
    async with fault_server(script) as url, fast_client(url) as client:
        post = await client.epost("gene", ["3718"])
    assert post.query_key == "1"
    assert len(script.requests) == 2
    assert client.stats.get(f"retry/{reason}") == 1


async def test_attempts_are_capped_and_the_last_error_raised() -> None:
    script = Script(body(b"<html>down</html>"))
    async with fault_server(script) as url, fast_client(url, max_attempts=3) as client:
        with pytest.raises(BadBody):
            await client.epost("gene", ["1"])
    assert len(script.requests) == 3


async def test_history_lost_three_times_becomes_history_expired() -> None:
    lost = b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
    script = Script(body(lost))
    async with fault_server(script) as url, fast_client(url) as client:
        with pytest.raises(HistoryExpiredError):
            [r async for r in client.efetch("snp", webenv="MCID_x", query_key=1, retmax=5)]
    assert len(script.requests) == 3


async def test_history_lost_once_is_retried() -> None:
    lost = b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
    script = Script(body(lost), body(snp_page(3)))
    async with fault_server(script) as url, fast_client(url) as client:
        uids = [r.uid async for r in client.efetch("snp", webenv="MCID_x", query_key=1)]
    assert uids == ["1", "2", "3"]


async def test_invalid_api_key_is_permanent_and_never_leaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = '{"error":"API key invalid","api-key":"' + KEY + '","type":"invalid","status":"unknown"}'
    script = Script(body(bad.encode(), 400))
    caplog.set_level(logging.DEBUG)
    async with fault_server(script) as url, fast_client(url, api_key=KEY) as client:
        with pytest.raises(NcbiPermanentError) as info:
            await client.epost("gene", ["1"])
    assert len(script.requests) == 1
    assert script.requests[0][1]["api_key"] == [KEY]  # it was sent...
    assert "API key" in str(info.value)
    assert KEY not in str(info.value) and KEY not in repr(info.value)  # ...and never reported
    assert KEY not in caplog.text
    assert KEY not in repr(client.config)


async def test_invalid_db_is_permanent() -> None:
    script = Script(
        body(b"<ePostResult><ERROR>Invalid db name specified: nothing</ERROR></ePostResult>")
    )
    async with fault_server(script) as url, fast_client(url) as client:
        with pytest.raises(NcbiPermanentError, match="database"):
            await client.epost("nothing", ["1"])
    assert len(script.requests) == 1


async def test_identity_on_every_request_and_post_for_many_ids() -> None:
    script = Script(body(POST_OK))
    async with fault_server(script) as url, fast_client(url, api_key=KEY, tool="mytool") as client:
        await client.epost("snp", ["242"])
        await client.epost("snp", [str(i) for i in range(1, 302)])
    (get_method, get_params), (post_method, post_params) = script.requests
    assert get_method == "GET" and post_method == "POST"
    for params in (get_params, post_params):
        assert params["tool"] == ["mytool"]
        assert params["email"] == ["test@example.org"]
        assert params["api_key"] == [KEY]
    assert post_params["id"][0].split(",")[-1] == "301"


async def test_elink_repeats_id_per_id_or_joins_them() -> None:
    empty = b"<eLinkResult></eLinkResult>"
    script = Script(body(empty))
    async with fault_server(script) as url, fast_client(url) as client:
        await client.elink("gene", ["1", "2"], db="snp")
        await client.elink("gene", ["1", "2"], db="snp", per_id=False)
    assert script.requests[0][1]["id"] == ["1", "2"]
    assert script.requests[1][1]["id"] == ["1,2"]


async def test_response_size_cap_is_an_error_not_a_retry() -> None:
    script = Script(body(snp_page(50)))
    async with fault_server(script) as url, fast_client(url, max_response_bytes=10_000) as client:
        with pytest.raises(ParseError, match="max_response_bytes"):
            [r async for r in client.efetch("snp", ids=["1"])]
    assert len(script.requests) == 1


async def test_a_page_cut_mid_stream_resumes_without_duplicates() -> None:
    page = snp_page(40)
    script = Script(truncated(page[: len(page) // 2]), body(page))
    async with fault_server(script) as url, fast_client(url) as client:
        got: list[Record] = [r async for r in client.efetch("snp", webenv="W", query_key=1)]
    assert [r.uid for r in got] == [str(i) for i in range(1, 41)]
    assert client.stats.get("efetch/records") == 40
    assert client.stats.get("retry/truncated") == 1


async def test_read_timeout_is_retried() -> None:
    import asyncio

    async def slow(_req: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.Response(body=POST_OK, content_type=XML)

    script = Script(slow, body(POST_OK))
    async with fault_server(script) as url, fast_client(url, read_timeout=0.1) as client:
        post = await client.epost("gene", ["1"])
    assert post.query_key == "1"
    assert client.stats.get("retry/timeout") == 1


async def test_api_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    config = ClientConfig.from_env(email="x@example.org")
    assert config.api_key == KEY and config.rate_policy().rate == 10
    assert KEY not in repr(config)
    client = EutilsClient(config, gate=fast_client("http://127.0.0.1:1/").gate)
    await client.close()


async def test_esummary_json_cap_is_checked_before_sending() -> None:
    from harvester.errors import ConfigError

    client = fast_client("http://127.0.0.1:1/entrez/eutils/")
    with pytest.raises(ConfigError, match="500"):
        [r async for r in client.esummary("snp", ids=[str(i) for i in range(501)], retmode="json")]
    await client.close()


async def test_key_absent_from_every_failure_report(caplog: pytest.LogCaptureFixture) -> None:
    import socket
    import traceback

    from harvester.errors import HarvesterError

    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/entrez/eutils/"
    failures: list[BaseException] = []
    async with fast_client(dead, api_key=KEY, max_attempts=2) as client:
        try:
            await client.epost("gene", ["1"])
        except HarvesterError as exc:
            failures.append(exc)
    for answer in (body(b"<html>500</html>", 500), body(b"oops", 403), body(b"", 200)):
        server = fault_server(Script(answer))
        async with server as url, fast_client(url, api_key=KEY, max_attempts=2) as client:
            try:
                [r async for r in client.efetch("snp", ids=["1"])]
            except HarvesterError as exc:
                failures.append(exc)
    assert len(failures) == 4
    for exc in failures:
        text = "".join(traceback.format_exception(exc))
        assert KEY not in text, text
    assert KEY not in caplog.text


async def test_a_raw_body_is_retried_like_a_parsed_one_and_returned_whole() -> None:
    uilist = b"3718\n3717\n"
    script = Script(
        body(b"<html>maintenance</html>"),
        body(b"<eFetchResult><ERROR>Search Backend failed: x</ERROR></eFetchResult>"),
        body(uilist),
    )
    async with fault_server(script) as url, fast_client(url) as client:
        raw = await client.efetch_raw("gene", webenv="W", query_key=1, rettype="uilist")
    assert raw == uilist
    assert len(script.requests) == 3
    assert client.stats.get("retry/not_xml") == 1 and client.stats.get("retry/backend") == 1
    assert client.gate.stats.get("gate/acquired") == 3


async def test_a_raw_read_of_a_lost_webenv_is_refused_without_a_request() -> None:
    script = Script(body(b"1\n"))
    async with fault_server(script) as url, fast_client(url) as client:
        client.history_lost("W")
        with pytest.raises(HistoryExpiredError):
            await client.efetch_raw("gene", webenv="W", query_key=1, rettype="uilist")
    assert script.requests == []


async def test_a_gzip_answer_is_asked_for_and_read() -> None:
    async def gzipped(request: web.Request) -> web.StreamResponse:
        assert "gzip" in request.headers["Accept-Encoding"]
        return web.Response(
            body=gzip.compress(snp_page(3)),
            headers={"Content-Type": XML, "Content-Encoding": "gzip"},
        )

    async with fault_server(gzipped) as url, fast_client(url) as client:
        records = [r.uid async for r in client.efetch("snp", ids=["1", "2", "3"])]
    assert len(records) == 3
