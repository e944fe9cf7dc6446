"""One job run, start to finish: open (or resume) the store, resolve the source ids, reach the
endpoint (NCBI, a URL, or an emulator started in-process), run the engine, write the output
and the summary. Everything the user started is in the store, so a failed or killed run is
resumed by running the same job again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from harvester.config import MB, JobConfig, OutputFormat
from harvester.config_keys import embedded_dataset, endpoint_url
from harvester.errors import (
    IncompleteError,
    InputError,
    NcbiTransientError,
    ParseError,
    StoreError,
    TransportError,
)
from harvester.eutils.client import EutilsClient
from harvester.eutils.gates import shared_gate
from harvester.eutils.settings import ClientConfig
from harvester.ncbi import RETMAX_CAP
from harvester.stats import Stats
from harvester.workflow import refresh as refreshing
from harvester.workflow.cache_records import cache_summary, either_known, open_cache
from harvester.workflow.engine import Harvest
from harvester.workflow.hedge import HedgePolicy
from harvester.workflow.loop_stall import watching
from harvester.workflow.names import checked_names
from harvester.workflow.outfile import check_output, summary_path
from harvester.workflow.output import write_output
from harvester.workflow.plan import allowed_rate
from harvester.workflow.progress import Progress
from harvester.workflow.rederive import fields_changed, rederive
from harvester.workflow.refresh_chunks import refresh_chunks
from harvester.workflow.sources import SourceIds, load_source_ids
from harvester.workflow.store import Store, holding
from harvester.workflow.store_mark import STORE_NAME as STORE_NAME
from harvester.workflow.summary import build_summary
from harvester.workflow.table import require_pyarrow
from harvester.workflow.views import StoreView

if TYPE_CHECKING:
    from harvester.emulator.config import EmulatorConfig

log = logging.getLogger("harvester")
SYNTHETIC_WORDS = (
    "the embedded emulator's records are synthetic, with a small vocabulary (no diseases): "
    "README.md, 'Searching the emulator', says what its terms find"
)


@dataclass(frozen=True, slots=True)
class RunOptions:
    restart: bool = False
    refresh: bool = False
    """Bring a finished job up to date, fetching only what changed (workflow/refresh.py)."""
    quiet: bool = False
    emulator: EmulatorConfig | None = None
    """Settings of the in-process emulator when the job's endpoint is `embedded`."""
    hedge: HedgePolicy | None = None
    """When a read is overdue (default `HedgePolicy()`; a test asks sooner, to stall less)."""
    said: list[str] = dataclasses.field(default_factory=list, compare=False)
    """Filled by the run: the summary's warnings it has already put on stderr as it went, which
    a caller printing the warnings at the end (`run --quiet`) leaves out."""


def open_store(job: JobConfig, restart: bool, lock: bool = True) -> Store:
    """The job's store, locked (`lock=False`: under the lock the run already holds)."""
    store = Store(job.job_dir / STORE_NAME, lock=lock)
    if restart:
        store.reset()
    recorded = store.get_meta("config_hash")
    if recorded is not None and recorded != job.semantic_hash():
        store.close()
        raise StoreError(
            f"the job directory {job.job_dir} belongs to a different job (the job "
            "file changed since it was started); run with --restart to start over, "
            "or give another --job-dir"
        )
    return store


@contextlib.asynccontextmanager
async def endpoint(job: JobConfig, options: RunOptions) -> AsyncIterator[str]:
    """The base URL to use, starting the embedded emulator for the run if asked."""
    async with serving(job.endpoint, options.emulator) as base_url:
        yield base_url


@contextlib.asynccontextmanager
async def serving(where: str, emulator: EmulatorConfig | None = None) -> AsyncIterator[str]:
    """The base URL of an endpoint value (ncbi, a URL, embedded[:DATASET]), starting the
    embedded emulator (with `emulator`'s settings) while the block runs if it names it; the
    emulator is imported here, so a run against NCBI or a URL loads none of it."""
    dataset = embedded_dataset(where)
    if dataset is None:
        yield endpoint_url(where)
        return
    from harvester.emulator.config import EmulatorConfig
    from harvester.emulator.server import Emulator

    config = emulator or EmulatorConfig()
    if dataset:
        config = dataclasses.replace(config, dataset=dataset)
    async with Emulator(config) as emu:
        yield emu.base_url


async def resolve_term(client: EutilsClient, job: JobConfig) -> list[int]:
    """Source ids from an esearch term, stored with usehistory and paged out as a uid list."""
    term = job.source.term or ""
    dates = job.source.dates.params() if job.source.dates else None
    found = await client.esearch(job.dbfrom, term, usehistory=True, retmax=0, extra=dates)
    if found.count == 0:
        why = (
            f" (phrase not found: {', '.join(found.phrases_not_found)})"
            if getattr(found, "phrases_not_found", None)
            else ""
        )
        if embedded_dataset(job.endpoint) is not None:
            why += f"; {SYNTHETIC_WORDS}"
        raise InputError(f"the search {term!r} in {job.dbfrom} found no records{why}")
    ids: list[int] = []
    for start in range(0, found.count, RETMAX_CAP):
        raw = await client.efetch_raw(
            job.dbfrom,
            webenv=found.webenv,
            query_key=found.query_key,
            retstart=start,
            retmax=RETMAX_CAP,
            rettype="uilist",
            retmode="text",
        )
        ids.extend(int(t) for t in raw.split() if t.isdigit())
    return ids


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep what is alive before the harvest (imports, the job, its ids) out of the garbage
    collector's full passes while it runs, so they pause the event loop, and with it the
    pacing gate, for the harvest's own objects only (HARVEST.md has the measurement)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def client_config(job: JobConfig, base_url: str, **overrides: object) -> ClientConfig:
    """The job's client settings against `base_url` (the API key from its variable)."""
    return ClientConfig.from_env(
        base_url=base_url,
        api_key=job.api_key(),
        email=job.email,
        tool=job.tool,
        policy=job.policy,
        rate=job.rate,
        concurrency=job.concurrency,
        max_record_bytes=job.fetch.max_record_mb * MB,
        **overrides,
    )


async def plan_names(
    job: JobConfig, options: RunOptions
) -> tuple[JobConfig, tuple[str, ...], float, int | None]:
    """`checked_names` for `harvester plan` (einfo, or its cache), the rate a run of the job is
    allowed (from the client settings a run uses) and a term source's count (one esearch),
    with little patience: an endpoint out of reach leaves the count unknown (None, logged); a
    search NCBI refuses is an error, as a run would meet it."""
    async with endpoint(job, options) as base_url:
        config = client_config(job, base_url, max_attempts=2, max_outage_seconds=5.0)
        rate = allowed_rate(config)
        async with EutilsClient(config, stats=Stats()) as client:
            job, warnings = await checked_names(job, client)
            if job.source.term is None:
                return job, warnings, rate, None
            try:
                return job, warnings, rate, await search_count(client, job)
            except (TransportError, NcbiTransientError, ParseError) as exc:
                log.warning("the search's count is unknown: %s", exc)
                return job, warnings, rate, None


async def search_count(client: EutilsClient, job: JobConfig) -> int:
    """How many records a term source finds (esearch retmax=0, dates included)."""
    dates = job.source.dates.params() if job.source.dates else None
    found = await client.esearch(job.dbfrom, job.source.term or "", retmax=0, extra=dates)
    return found.count


async def run_job(job: JobConfig, options: RunOptions | None = None) -> dict[str, Any]:
    """Run or resume `job`; returns the summary (also written beside the output)."""
    options = options or RunOptions()
    started = time.monotonic()
    if job.output.format == OutputFormat.PARQUET:
        require_pyarrow()
    check_output(job)
    preloaded = None
    if job.source.term is None and (options.restart or not (job.job_dir / STORE_NAME).exists()):
        preloaded = load_source_ids(job.source, job_file=job.job_file)  # before a job dir exists
    with holding(job.job_dir):  # before einfo.json or the store is written into it
        async with endpoint(job, options) as base_url:
            config = client_config(job, base_url)
            stats = Stats()  # einfo's requests and retries are the run's too: one count
            private = embedded_dataset(job.endpoint) is not None  # this process's emulator
            with shared_gate(config, private=private) as gate:  # the process's, to server+key
                async with EutilsClient(config, gate=gate, stats=stats) as einfo_client:
                    job, warnings = await checked_names(job, einfo_client)
                async with EutilsClient(config, gate=gate, stats=stats) as client:
                    return await _harvest(job, options, client, started, warnings, preloaded)


async def _harvest(
    job: JobConfig,
    options: RunOptions,
    client: EutilsClient,
    started: float,
    warnings: tuple[str, ...],
    preloaded: SourceIds | None,
) -> dict[str, Any]:
    """Open (or resume) the store, run the harvest, write the output and the summary;
    `preloaded`: the source ids, when they were checked before the store was opened."""
    if options.restart:
        refreshing.discard(job)
    refresh = refreshing.begin(job, options.refresh)  # the finished store moved aside
    store = open_store(job, options.restart, lock=False)  # run_job holds it
    stats = client.stats
    before = refreshing.previous(job) if refresh else None
    cache = None
    try:
        cache = open_cache(job, client)
        fresh = store.get_meta("config_hash") is None
        if fields_changed(store, job):
            warnings += tuple(rederive(store, job))
        if fresh:
            ids: list[int]
            digest = None
            if job.source.term is None:
                loaded = preloaded or load_source_ids(job.source, job_file=job.job_file)
                ids, warnings = [int(i) for i in loaded.ids], warnings + loaded.warnings
                digest = loaded.file_sha256  # the id file is read once: a FIFO works
            else:
                ids = await resolve_term(client, job)
            bounds = (
                None
                if before is None
                else refresh_chunks(before.store, ids, job.elink_batch, job.db)
            )
            store.initialise(
                job.semantic_hash(digest),
                ids,
                job.elink_batch,
                job.linknames,
                job.fields_key(),
                bounds,  # a refresh's: each chunk's sets listed in one esearch page
            )
        if before is not None:
            before.prepare()  # one pass over the kept blobs, before any request is in flight
        known = either_known(before, cache)
        harvest = Harvest(job, store, client, options.hedge, known=known, cache=cache)
        extractor = harvest.fetcher.extractor
        early: list[str] = []
        extractor.report_unmatched(job.fetch.page_size, lambda lines: _warn(lines, early))
        with Progress(store, stats, disabled=options.quiet), _frozen_heap():
            async with watching(stats):
                await harvest.run()
        if cache is not None:
            cache.drain()  # every record put before the summary counts them
        left = store.pending_total()
        if left:
            raise IncompleteError(
                f"the harvest ended with {left} targets neither fetched nor said missing by NCBI "
                "(a bug); nothing was written: run the same command again to fetch them"
            )
        job = replace(job, linknames=tuple(harvest.names))  # with `all`, the names found too
        unconverted: list[str] = []
        write_output(StoreView(store), job, unconverted)
        unmatched = extractor.unmatched()
        warnings += tuple(unmatched) + tuple(unconverted) + tuple(harvest.said_known())
        if early:  # fields match only more as records come: each still unmatched was said
            options.said.extend(unmatched)
        rate = allowed_rate(client.config)
        elapsed = time.monotonic() - started
        summary = build_summary(job, store, stats, rate, elapsed, warnings, resumed=not fresh)
        if before is not None:
            summary["refresh"] = refreshing.changes(job, store, before, stats)
        if cache is not None:
            summary["cache"] = cache_summary(job, stats)
        summary_path(job).write_bytes(summary_bytes(summary))
        if before is not None:
            refreshing.finish(job, before)
        return summary
    finally:
        if cache is not None:
            cache.close()
        if before is not None:
            before.close()
        store.close()


def _warn(lines: list[str], said: list[str]) -> None:
    """Say at once (after the first page) what the summary will say again at the end."""
    for line in lines:
        log.warning("%s", line)
    said.extend(lines)


def summary_bytes(summary: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n"


def run(job: JobConfig, options: RunOptions) -> dict[str, Any]:
    return asyncio.run(run_job(job, options))
