"""How fast the emulator answers with enforcement, latency and faults off.

The server runs in its own process pinned to one core; this client process is pinned to another,
so the figures are the server's own. Besides wall-clock rates the script reads the server's CPU
time from /proc, so `per server CPU-second` is what one core can serve even if the client, not
the server, was the bottleneck. The gatekeeper middleware stays in the path (it is always there).

    PYTHONPATH=. python benchmarks/emulator_throughput.py [--seconds 5] [--concurrency 32]
        [--dataset large] [--pages 100] [--record-scale F]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing as mp
import os
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.server import Emulator
from harvester.emulator.spec import load_spec

SERVER_CORE, CLIENT_CORE = 0, 1
PAGE = 500


def _serve(conn: Connection, dataset: str, record_scale: float | None) -> None:
    os.sched_setaffinity(0, {SERVER_CORE})
    config = EmulatorConfig(dataset=dataset, rate_limit=False, record_scale=record_scale)

    async def main() -> None:
        async with Emulator(config) as emu:
            conn.send(emu.base_url)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(
    one: Callable[[int], Awaitable[int]], concurrency: int, seconds: float, total: int | None
) -> tuple[int, int, float]:
    """(requests, units counted by `one`, elapsed): request i = 0, 1, 2, ... from `concurrency`
    workers until `seconds` pass or `total` requests were sent."""
    done = units = 0
    stop = time.perf_counter() + seconds
    next_i = 0

    async def worker() -> None:
        nonlocal done, units, next_i
        while time.perf_counter() < stop and (total is None or next_i < total):
            i, next_i = next_i, next_i + 1
            got = await one(i)  # not `units += await ...`: that reads `units` before awaiting
            units += got
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, units, time.perf_counter() - start


async def _bench(args: argparse.Namespace, base: str, pid: int) -> list[str]:
    seconds, concurrency = args.seconds, args.concurrency
    dataset = Dataset(load_spec(args.dataset))
    genes = list(itertools.islice(dataset.uids("gene"), 5_000))
    snps = list(itertools.islice(dataset.uids("snp"), PAGE * args.pages))
    pages = [",".join(map(str, snps[i : i + PAGE])) for i in range(0, len(snps), PAGE)]
    connector = aiohttp.TCPConnector(limit=concurrency)
    lines = []
    async with aiohttp.ClientSession(connector=connector) as s:

        async def elink(i: int) -> int:
            params = {"dbfrom": "gene", "db": "snp", "id": str(genes[i % len(genes)])}
            async with s.get(base + "elink.fcgi", params=params) as r:
                await r.read()
                return 1 if r.status == 200 else 0

        async def efetch(i: int) -> int:
            data = {"db": "snp", "id": pages[i % len(pages)]}
            async with s.post(base + "efetch.fcgi", data=data) as r:
                body = await r.read()
                return body.count(b"<DocumentSummary ") if r.status == 200 else 0

        for name, one, unit in (
            ("elink, 1 gene id -> snp", elink, "ok responses"),
            (f"efetch snp, {PAGE}-record pages, cold", efetch, "records"),
            (f"efetch snp, {PAGE}-record pages, warm", efetch, "records"),
        ):
            # cold: one pass over distinct pages, so every record is rendered, not cached
            total = len(pages) if "cold" in name else None
            cpu0 = _cpu_seconds(pid)
            done, units, elapsed = await _drive(one, concurrency, seconds, total)
            cpu = _cpu_seconds(pid) - cpu0
            lines.append(
                f"{name:38} {done:7d} requests {units:9d} {unit:12} in {elapsed:5.2f} s: "
                f"{units / elapsed:9.0f}/s wall, {units / cpu:9.0f}/s per server CPU-second"
            )
            print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--dataset", default="large", help="dataset for both sides (default large)")
    parser.add_argument("--pages", type=int, default=100, help="distinct efetch pages (cold pass)")
    parser.add_argument(
        "--record-scale", type=float, help="records' bulk times F (0: the pre-#26 ~1 KB SNPs)"
    )
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two cores: one for the server, one for this client")
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, args.dataset, args.record_scale), daemon=True)
    server.start()
    base = parent.recv()
    os.sched_setaffinity(0, {CLIENT_CORE})
    try:
        asyncio.run(_bench(args, base, server.pid or 0))
    finally:
        parent.send("stop")
        server.join(10)


if __name__ == "__main__":
    main()
