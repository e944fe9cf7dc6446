"""Shared helpers for the client tests: a virtual event-loop clock and tiny fault servers."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from harvester.eutils.client import ClientConfig, EutilsClient
from harvester.eutils.pacing import Gate, policy_for
from harvester.stats import Stats


class VirtualClock:
    """Makes the running loop's time virtual: every wait jumps the clock instead of sleeping.

    The loop's `time()` reads `now`, and its selector's `select(timeout)` advances `now` by the
    timeout and polls without blocking (the aiotools/looptime trick). Only for tests without
    real I/O, such as the gate's.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    @contextlib.contextmanager
    def install(self, loop: asyncio.AbstractEventLoop) -> Iterator[VirtualClock]:
        selector = loop._selector  # type: ignore[attr-defined]
        real_select = selector.select

        def select(timeout: float | None = None) -> Any:
            # Time always moves a hair, as real time does: a timer rounded to "now" still fires.
            self.now += max(timeout or 0.0, 0.0) + 1e-10
            return real_select(0)

        loop.time = lambda: self.now  # type: ignore[method-assign]
        selector.select = select
        try:
            yield self
        finally:
            del loop.time
            selector.select = real_select


@contextlib.asynccontextmanager
async def virtual_time(start: float = 1000.0) -> AsyncIterator[VirtualClock]:
    """`async with virtual_time() as clock:` inside a test: loop time becomes `clock.now`."""
    clock = VirtualClock(start)
    with clock.install(asyncio.get_running_loop()):
        yield clock


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def fault_server(handler: Handler) -> AsyncIterator[str]:
    """A one-route aiohttp server answering every /entrez/eutils/*.fcgi with `handler`."""

    async def route(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/entrez/eutils/{endpoint}.fcgi", route)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/entrez/eutils/"
    finally:
        await runner.cleanup()


async def no_sleep(_seconds: float) -> None:
    """Retry waits in tests: recorded by the caller, never slept."""
    await asyncio.sleep(0)


def fast_client(base_url: str, *, sleeps: list[float] | None = None, **config: Any) -> EutilsClient:
    """A client with an unthrottled private gate and instant (recorded) retry waits."""
    cfg = ClientConfig(base_url=base_url, email="test@example.org", **config)

    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        await asyncio.sleep(0)

    gate = Gate(policy_for("custom", rate=10_000), margin=0.0)
    return EutilsClient(cfg, gate=gate, stats=Stats(), rng=random.Random(7), sleep=sleep)


SNP_NS = "https://www.ncbi.nlm.nih.gov/SNP/docsum"


def snp_page(n: int) -> bytes:
    """An efetch snp page of `n` realistic DocumentSummary records (uids 1..n), NCBI-shaped."""
    record = (
        '<DocumentSummary uid="{uid}"><SNP_ID>{uid}</SNP_ID><ALLELE_ORIGIN/><GLOBAL_MAFS>'
        + "".join(
            f"<MAF><STUDY>Study{i}</STUDY><FREQ>T=0.00{i}/1{i}</FREQ></MAF>" for i in range(8)
        )
        + "</GLOBAL_MAFS><GLOBAL_POPULATION/><GLOBAL_SAMPLESIZE>0</GLOBAL_SAMPLESIZE><SUSPECTED/>"
        "<CLINICAL_SIGNIFICANCE/><GENES><GENE_E><NAME>JAK3</NAME><GENE_ID>3718</GENE_ID></GENE_E>"
        "</GENES><ACC>NC_000019.10</ACC><CHR>19</CHR><HANDLE>GNOMAD,TOPMED,1000GENOMES</HANDLE>"
        "<SPDI>NC_000019.10:17798427:C:T</SPDI><FXN_CLASS>intron_variant</FXN_CLASS>"
        "<VALIDATED>by-frequency,by-alfa</VALIDATED><DOCSUM>HGVS=NC_000019.10:g.17798428C&gt;T|"
        "SEQ=[C/T]|LEN=1|GENE=JAK3:3718</DOCSUM><TAX_ID>9606</TAX_ID><ORIG_BUILD>36</ORIG_BUILD>"
        "<UPD_BUILD>157</UPD_BUILD><CREATEDATE>2000/09/19 17:02</CREATEDATE>"
        "<UPDATEDATE>2024/11/02 07:15</UPDATEDATE><SS>2057,994458752,1363772279</SS>"
        "<ALLELE>Y</ALLELE><SNP_CLASS>snv</SNP_CLASS><CHRPOS>19:{uid}</CHRPOS><TEXT/>"
        "<SNP_ID_SORT>{uid:010d}</SNP_ID_SORT></DocumentSummary>\n"
    )
    head = (
        '<?xml version="1.0" ?>\n<ExchangeSet xmlns:xsi="https://www.w3.org/2001/XMLSchema-instance"'
        f' xmlns="{SNP_NS}" xsi:schemaLocation="{SNP_NS} '
        'ftp://ftp.ncbi.nlm.nih.gov/snp/specs/docsum_eutils.xsd" >'
    )
    body = "".join(record.format(uid=uid) for uid in range(1, n + 1))
    return (head + body + "</ExchangeSet>").encode()


class HandClock:
    """A monotonic clock a test moves by hand; `sleep` records and advances it, never waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
