"""How close the client paces to NCBI's limit, measured at the server (GitHub issue 4).

The emulator runs with the limit ENFORCED (3/s without a key, 10/s with one) and `realistic`
latency, in its own process pinned to core 0; this client process is pinned to core 1, so the
client's event loop never shares a loop (or a core) with the server. Per scenario one fresh
server with its own request log; the figures come from that log, not from the client:

- achieved rate: requests / (last arrival - first arrival), and (requests - 1) / the same span
  (the number of gaps over their total: the gate's real spacing); and the steady rate, the same
  after the first `limit` arrivals, which may go out closer together than one a period (an idle
  gate owes no window anything) and so flatter the whole-run figures a little;
- peak: the most arrivals in any one-second window (must be <= the limit);
- 429s (must be 0), and the client's retries by reason.

The workload is a realistic harvest: one epost of the large dataset's SNP-heaviest genes, one
elink neighbor_history gene -> snp, then mostly efetch snp pages of 500 by WebEnv (4 in 5) and
per-id elinks of 100 gene ids (1 in 5; these also fill the slots while the history is built).
Concurrency follows Little's law: limit x mean modelled latency of the mix x headroom.

    PYTHONPATH=. python benchmarks/client_pacing.py [--requests 300] [--scenarios 3,10]
        [--margin 0.02] [--headroom 2] [--quick] [--speedup 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import math
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.latency import LatencyModel, profile
from harvester.emulator.requestlog import LogEntry, peak_per_second, per_endpoint, per_status
from harvester.emulator.requestlog import read_log as read_request_log
from harvester.emulator.server import Emulator, EmulatorThread
from harvester.emulator.spec import load_spec
from harvester.eutils.client import ClientConfig, EutilsClient
from harvester.eutils.gates import reset_process_gate
from harvester.eutils.pacing import DEFAULT_MARGIN
from harvester.eutils.results import LinkSet, LinkSetHistory
from harvester.ncbi import RATE_NO_KEY, RATE_WITH_KEY

SERVER_CORE, CLIENT_CORE = 0, 1
DATASET = "large"
PAGE = 500
"""efetch page size (records per request)."""
ELINK_IDS = 100
"""Gene ids per per-id elink."""
ELINK_EVERY = 5
"""One job in this many is an elink, the rest efetch pages (once the history exists)."""
API_KEY = "0123456789abcdef0123456789abcdef0123"
LIMITS = {int(RATE_NO_KEY): False, int(RATE_WITH_KEY): True}
"""NCBI's limits and whether the scenario sends an api_key."""
TARGET_RATIO = 0.97


@dataclass(frozen=True, slots=True)
class Scenario:
    """One run: NCBI's `limit` (3: no key, 10: a key) over `requests` requests."""

    limit: int
    requests: int = 300
    margin: float = DEFAULT_MARGIN
    headroom: float = 2.0
    speedup: float = 1.0
    """Emulator and client both run this many times faster (tests); 1 for real figures."""

    def __post_init__(self) -> None:
        if self.limit not in LIMITS:
            raise ValueError(f"scenario limit must be one of {sorted(LIMITS)}, got {self.limit}")
        if self.requests < 10:
            raise ValueError("a scenario needs at least 10 requests")

    @property
    def keyed(self) -> bool:
        return LIMITS[self.limit]

    @property
    def rate(self) -> float:
        """Requests per second the server allows (the limit, scaled by `speedup`)."""
        return self.limit * self.speedup

    @property
    def elinks(self) -> int:
        return (self.requests - 2) // ELINK_EVERY

    @property
    def efetches(self) -> int:
        return self.requests - 2 - self.elinks

    def mean_latency(self) -> float:
        """The mix's mean modelled latency in seconds (the emulator's `realistic` preset)."""
        model = LatencyModel(profile("realistic"), speedup=self.speedup)
        efetch, elink = model.mean("efetch", PAGE), model.mean("elink", ELINK_IDS)
        return (self.efetches * efetch + self.elinks * elink) / (self.efetches + self.elinks)

    def concurrency(self) -> int:
        """Little's law: requests in flight = rate x latency, times headroom for the jitter."""
        return max(2, math.ceil(self.rate * self.mean_latency() * self.headroom))

    def emulator_config(self, request_log: Path) -> EmulatorConfig:
        return EmulatorConfig(
            dataset=DATASET,
            rate_limit=True,
            rate_without_key=int(RATE_NO_KEY),
            rate_with_key=int(RATE_WITH_KEY),
            api_keys=frozenset({API_KEY}),
            latency="realistic",
            request_log=request_log,
            seed=4,
            speedup=self.speedup,
            render_processes=1,
        )

    def client_config(self, base_url: str) -> ClientConfig:
        scaled = self.speedup != 1.0
        return ClientConfig(
            base_url=base_url,
            api_key=API_KEY if self.keyed else None,
            policy="custom" if scaled else "ncbi",
            rate=self.rate if scaled else None,
            margin=self.margin,
            concurrency=self.concurrency() + 1,  # the workers plus the history set-up
        )


@dataclass(slots=True)
class ClientSide:
    """What the client counted."""

    wall: float
    workers: int
    records: int
    linksets: int
    requests: dict[str, float] = field(default_factory=dict)
    retries: dict[str, float] = field(default_factory=dict)
    http_429: int = 0


@dataclass(frozen=True, slots=True)
class ServerSide:
    """What the server's request log says."""

    requests: int
    span: float
    peak: int
    statuses: dict[int, int]
    endpoints: dict[str, int]
    max_gap: float
    min_gap: float
    median_gap: float
    steady_gaps: int
    steady_span: float

    @property
    def rate(self) -> float:
        """requests / (last arrival - first arrival)."""
        return self.requests / self.span if self.span > 0 else 0.0

    @property
    def gap_rate(self) -> float:
        """(requests - 1) / span: one over the mean gap between arrivals."""
        return (self.requests - 1) / self.span if self.span > 0 else 0.0

    @property
    def steady_rate(self) -> float:
        """Arrivals after the first window: gaps / their span, the start-up burst left out."""
        return self.steady_gaps / self.steady_span if self.steady_span > 0 else 0.0

    @property
    def refused(self) -> int:
        return self.statuses.get(429, 0)


@dataclass(frozen=True, slots=True)
class Result:
    scenario: Scenario
    client: ClientSide
    server: ServerSide

    @property
    def ratio(self) -> float:
        return self.server.rate / self.scenario.rate

    @property
    def gap_ratio(self) -> float:
        return self.server.gap_rate / self.scenario.rate

    @property
    def ok(self) -> bool:
        return self.server.refused == 0 and self.server.peak <= self.scenario.rate

    def row(self) -> str:
        s, c, v = self.scenario, self.client, self.server
        sent = int(sum(c.requests.values()))
        retries = ", ".join(f"{k} {int(n)}" for k, n in sorted(c.retries.items())) or "none"
        key = "key" if s.keyed else "no key"
        return (
            f"| {s.limit}/s ({key}) | {s.margin:.2f} | {c.workers} | {sent} | {v.requests} | "
            f"{c.wall:.1f} s | {v.rate:.3f}/s | {v.rate / s.rate:.4f} | {v.gap_rate:.3f}/s | "
            f"{v.gap_rate / s.rate:.4f} | {v.steady_rate / s.rate:.4f} | {v.peak} | "
            f"{v.refused} | {retries} |"
        )


HEADER = (
    "| scenario | margin | workers | requests sent (client) | arrivals (server) | wall | "
    "achieved = n/span | achieved / allowed | (n-1)/span | (n-1)/span / allowed | "
    "steady (after the first window) / allowed | peak in 1 s | 429s | client retries |\n"
    + "|---" * 14
    + "|"
)


def history_genes(dataset: Dataset, snps: int) -> list[str]:
    """The SNP-heaviest genes, as few as give at least `snps` linked SNPs."""
    graph, genes = dataset.gene_snp, dataset.maps["gene"]
    chosen, total = [], 0
    for i in sorted(range(graph.count), key=graph.degree, reverse=True):
        if total >= snps:
            break
        chosen.append(str(genes.uid(i)))
        total += graph.degree(i)
    return chosen


def elink_batches(dataset: Dataset, batches: int) -> list[list[str]]:
    """`batches` distinct batches of ELINK_IDS generated gene ids, in uid order."""
    generated = dataset.maps["gene"]
    uids = [str(generated.uid(i)) for i in range(min(generated.count, batches * ELINK_IDS))]
    return [uids[i : i + ELINK_IDS] for i in range(0, len(uids), ELINK_IDS)] or [[]]


class Plan:
    """Hands out jobs: efetch pages once the history exists, every ELINK_EVERY-th an elink;
    elinks only while the history is being built."""

    def __init__(self, scenario: Scenario) -> None:
        self.efetch_left = scenario.efetches
        self.elink_left = scenario.elinks
        self.pages = itertools.count()
        self.batches = itertools.count()
        self.issued = 0
        self.ready = asyncio.Event()
        self.webenv = ""
        self.query_key = ""

    async def next(self) -> tuple[str, int] | None:
        while True:
            fetch = self.efetch_left > 0 and self.ready.is_set()
            if fetch and (self.elink_left == 0 or self.issued % ELINK_EVERY != ELINK_EVERY - 1):
                self.efetch_left -= 1
                self.issued += 1
                return "efetch", next(self.pages)
            if self.elink_left > 0:
                self.elink_left -= 1
                self.issued += 1
                return "elink", next(self.batches)
            if self.efetch_left == 0:
                return None
            await self.ready.wait()


async def drive(base_url: str, scenario: Scenario) -> ClientSide:
    """Run one scenario's workload with EutilsClient against `base_url`."""
    dataset = Dataset(load_spec(DATASET))
    genes = history_genes(dataset, PAGE * scenario.efetches)
    batches = elink_batches(dataset, scenario.elinks)
    # The harness's own objects (the dataset it picked ids from, every import) leave the
    # collector's reach: a full collection then pauses the client for the client's objects
    # only, not for 20-80 ms over the harness's (measured with gc.callbacks).
    del dataset
    gc.collect()
    gc.freeze()
    plan = Plan(scenario)
    workers = scenario.concurrency()
    records = linksets = 0
    reset_process_gate()  # a fresh gate for this scenario's policy and margin
    try:
        async with EutilsClient(scenario.client_config(base_url)) as client:

            async def set_up() -> None:
                post = await client.epost("gene", genes)
                items = await client.elink(
                    "gene",
                    db="snp",
                    cmd="neighbor_history",
                    webenv=post.webenv,
                    query_key=post.query_key,
                )
                hist = next(i for i in items if isinstance(i, LinkSetHistory))
                entry = next(h for h in hist.histories if h.linkname == "gene_snp")
                plan.webenv, plan.query_key = hist.webenv, entry.query_key
                plan.ready.set()

            async def worker() -> None:
                nonlocal records, linksets
                while (job := await plan.next()) is not None:
                    kind, n = job
                    if kind == "efetch":
                        async for _ in client.efetch(
                            "snp",
                            webenv=plan.webenv,
                            query_key=plan.query_key,
                            retstart=n * PAGE,
                            retmax=PAGE,
                        ):
                            records += 1
                    else:
                        found = await client.elink(
                            "gene", batches[n % len(batches)], db="snp", per_id=True
                        )
                        linksets += sum(isinstance(i, LinkSet) for i in found)

            start = time.perf_counter()
            await asyncio.gather(set_up(), *(worker() for _ in range(workers)))
            wall = time.perf_counter() - start
            stats = client.stats
            return ClientSide(
                wall,
                workers,
                records,
                linksets,
                stats.prefixed("requests"),
                stats.prefixed("retry"),
                int(stats.get("http/429")),
            )
    finally:
        reset_process_gate()


def analyse(entries: list[LogEntry], limit: int) -> ServerSide:
    """The server-side figures of one scenario's request log."""
    times = sorted(e.t for e in entries)
    gaps = [b - a for a, b in itertools.pairwise(times)] or [0.0]
    steady = times[limit:]
    return ServerSide(
        len(times),
        times[-1] - times[0] if times else 0.0,
        peak_per_second(entries),
        per_status(entries),
        per_endpoint(entries),
        max(gaps),
        min(gaps),
        statistics.median(gaps),
        max(0, len(steady) - 1),
        steady[-1] - steady[0] if steady else 0.0,
    )


# -- harnesses: the emulator in another process (benchmark) or another thread (smoke test) ----


def _serve(conn: Connection, config: EmulatorConfig, pin: bool) -> None:
    if pin:
        os.sched_setaffinity(0, {SERVER_CORE})

    async def main() -> None:
        async with Emulator(config) as emu:
            conn.send(emu.base_url)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


@contextlib.contextmanager
def emulator_process(config: EmulatorConfig, pin: bool) -> Iterator[str]:
    """The emulator in a spawned process; yields its base URL; the log is closed on exit."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    # not a daemon: daemonic processes may not start the emulator's render workers
    server = ctx.Process(target=_serve, args=(child, config, pin))
    server.start()
    try:
        if not parent.poll(120):
            raise RuntimeError(f"the emulator process did not start (exit code {server.exitcode})")
        yield parent.recv()
    finally:
        if server.is_alive():
            parent.send("stop")
        server.join(30)
        if server.is_alive():
            server.terminate()


@contextlib.contextmanager
def emulator_thread(config: EmulatorConfig) -> Iterator[str]:
    with EmulatorThread(config) as emu:
        yield emu.base_url


def run_scenario(scenario: Scenario, *, in_thread: bool = False, pin: bool = False) -> Result:
    """One scenario against a fresh emulator; figures from its request log."""
    with tempfile.TemporaryDirectory(prefix="client-pacing-") as tmp:
        log = Path(tmp) / "requests.jsonl"
        config = scenario.emulator_config(log)
        server = emulator_thread(config) if in_thread else emulator_process(config, pin)
        with server as base_url:
            client = asyncio.run(drive(base_url, scenario))
        entries = read_request_log(log)
    return Result(scenario, client, analyse(entries, scenario.limit))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario")
    parser.add_argument("--scenarios", default="3,10", help="NCBI limits to run: 3 (no key), 10")
    parser.add_argument(
        "--margin", type=float, default=DEFAULT_MARGIN, help="the client gate's margin"
    )
    parser.add_argument("--headroom", type=float, default=2.0, help="Little's law headroom")
    parser.add_argument("--speedup", type=float, default=1.0, help="emulator speed-up (not NCBI)")
    parser.add_argument("--quick", action="store_true", help="60 requests per scenario (smoke)")
    args = parser.parse_args()
    requests = 60 if args.quick else args.requests
    scenarios = [
        Scenario(int(s), requests, args.margin, args.headroom, args.speedup)
        for s in args.scenarios.split(",")
    ]
    pin = len(os.sched_getaffinity(0)) >= 2
    if pin:
        os.sched_setaffinity(0, {CLIENT_CORE})
    else:
        print("one core only: server and client are not pinned apart")
    results = []
    for scenario in scenarios:
        print(
            f"scenario {scenario.limit}/s: {scenario.requests} requests, "
            f"{scenario.concurrency()} workers (mean latency {scenario.mean_latency():.2f} s), "
            f"expected ~{scenario.requests / (scenario.rate * (1 - scenario.margin)):.0f} s",
            flush=True,
        )
        result = run_scenario(scenario, pin=pin)
        results.append(result)
        v = result.server
        print(
            f"  {result.client.records} records, {result.client.linksets} linksets; "
            f"server endpoints {v.endpoints}, statuses {v.statuses}; "
            f"gaps min {v.min_gap * 1000:.1f} / median {v.median_gap * 1000:.1f} / "
            f"max {v.max_gap * 1000:.1f} ms; "
            f"gate period {1000 / (scenario.rate * (1 - scenario.margin)):.1f} ms",
            flush=True,
        )
    print()
    print(HEADER)
    for result in results:
        print(result.row())
    bad = [r for r in results if not r.ok]
    short = [r for r in results if r.ratio < TARGET_RATIO]
    print()
    print(f"targets: zero 429s and peak <= limit: {'met' if not bad else 'MISSED'}; ", end="")
    print(f"achieved / allowed >= {TARGET_RATIO}: {'met' if not short else 'MISSED'}")
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
