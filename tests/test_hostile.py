"""Hostile responses from the emulator's `hostile` switch: no local file is read, no DTD is
fetched, no entity bomb expands, and huge, deep or broken bodies end in a clear error (or are
streamed in bounded memory) instead of exhausting the machine."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from eutils_helpers import fast_client
from harvest_helpers import TINY, make_job

from harvester.cli import main
from harvester.emulator import hostile
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import Emulator, EmulatorThread
from harvester.errors import ConfigError, ParseError
from harvester.workflow.runner import RunOptions, run_job

GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(30)]
SNPS = ["3008", "11888", "867174"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clean_output(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The output of the same job on a well-behaved emulator."""
    job = make_job(tmp_path_factory.mktemp("clean"), GENES, fetch={"page_size": 50})
    asyncio.run(run_job(job, RunOptions(quiet=True)))
    return job.output.path.read_bytes()


@pytest.fixture
async def dtd_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A local web server standing in for a network DTD; it records every hit."""
    hits: list[str] = []

    async def serve(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text='<!ENTITY ncbi "FETCHED-FROM-THE-NETWORK">')

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/eutils/dtd/evil.dtd", hits
    finally:
        await runner.cleanup()


def every_file_under(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


async def test_external_entity_to_a_local_file_is_never_read(tmp_path, clean_output):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-9f1c")
    job = make_job(tmp_path / "run", GENES, fetch={"page_size": 50})
    emulator = EmulatorConfig(hostile=f"xxe:{secret}")
    await run_job(job, RunOptions(quiet=True, emulator=emulator))
    assert job.output.path.read_bytes() == clean_output
    assert b"TOP-SECRET" not in every_file_under(tmp_path / "run")


async def test_a_network_dtd_is_never_fetched(tmp_path, clean_output, dtd_server):
    url, hits = dtd_server
    job = make_job(tmp_path, GENES, fetch={"page_size": 50})
    await run_job(job, RunOptions(quiet=True, emulator=EmulatorConfig(hostile=f"netdtd:{url}")))
    assert hits == []
    assert job.output.path.read_bytes() == clean_output
    assert b"FETCHED" not in every_file_under(tmp_path)


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("bomb", "entity amplification"),
        ("deep:5000", "Excessive depth"),
        ("badutf8", "Invalid bytes in character encoding"),
    ],
)
@pytest.mark.parametrize("endpoint", ["efetch", "elink"])
async def test_a_poisoned_body_is_retried_once_then_fails_with_a_clear_error(kind, says, endpoint):
    waits: list[float] = []  # the client's retry waits, recorded instead of slept
    async with Emulator(EmulatorConfig(hostile=kind)) as emu:
        client = fast_client(emu.base_url, sleeps=waits, max_attempts=2)
        async with client:
            with pytest.raises(ParseError, match=says) as caught:
                if endpoint == "efetch":
                    [r async for r in client.efetch("snp", ids=SNPS)]
                else:
                    await client.elink("gene", ["3718"], db="snp")
    assert client.stats.get(f"requests/{endpoint}") == 2  # retried once, then gave up
    assert client.stats.get("giveup/malformed") == 1
    assert "\n" not in str(caught.value)
    assert len(waits) == 1  # one backoff between the two attempts, none after giving up


async def test_a_huge_body_is_cut_off_at_the_configured_cap():
    cap = 1_000_000
    async with Emulator(EmulatorConfig(hostile="huge:4000000")) as emu:
        client = fast_client(emu.base_url, max_response_bytes=cap)
        async with client:
            with pytest.raises(ParseError, match="max_response_bytes"):
                [r async for r in client.efetch("snp", ids=SNPS)]
    assert client.stats.get("bytes/in") <= cap + client.config.chunk_size
    assert client.stats.get("requests/efetch") == 1  # a size cap is not retried


FETCH_AND_MEASURE = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from harvester.eutils.client import ClientConfig, EutilsClient

    async def fetch(url, ids):
        async with EutilsClient(ClientConfig(base_url=url, policy="custom", rate=100)) as c:
            uids = [r.uid async for r in c.efetch("snp", ids=ids)]
            return uids, c.stats.get("bytes/in")

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    uids, size = asyncio.run(fetch(sys.argv[1], sys.argv[2].split(",")))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"uids": uids, "bytes": size, "grew_kib": after - before}))
    """
)


@pytest.mark.slow
def test_a_huge_body_streams_in_bounded_memory():
    size = 80_000_000
    with EmulatorThread(EmulatorConfig(hostile=f"huge:{size}")) as emu:
        done = subprocess.run(
            [sys.executable, "-c", FETCH_AND_MEASURE, emu.base_url, ",".join(SNPS)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(result["uids"]) == sorted(SNPS)  # repeats of a record are handed out once
    assert result["bytes"] >= size
    assert result["grew_kib"] < 40_000, result  # < 40 MiB for an 80 MB body


def test_hostile_kinds_are_checked():
    assert hostile.parse("xxe") == hostile.Hostile("xxe", "/etc/passwd")
    assert hostile.parse(None) is None
    with pytest.raises(ConfigError, match="unknown hostile kind 'nope'"):
        hostile.parse("nope")
    with pytest.raises(ConfigError, match="whole number"):
        hostile.parse("huge:lots")


def test_serve_refuses_an_unknown_hostile_kind(capsys):
    assert main(["serve", "--hostile", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harvester: error: unknown hostile kind 'nope'")
    assert err.count("\n") == 1
