"""Parser cost against the ceiling: a 500-record snp page vs lxml's bare iterparse (goal 1.25x).

Timings are interleaved and the best of several runs is compared, so a busy machine slows both
sides alike. Run: `PYTHONPATH=.:tests python benchmarks/parser_speed.py`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from eutils_helpers import snp_page

from harvester.eutils._lxml import etree
from harvester.eutils.parse import aparse, parse_bytes
from harvester.eutils.results import Record
from harvester.eutils.settings import ClientConfig
from harvester.ncbi import efetch_format

PAGE = snp_page(500)
FMT = efetch_format("snp", None, "xml")
LIMIT = 1.25


def bare() -> None:
    for _event, _el in etree.iterparse(BytesIO(PAGE)):
        pass


def ours_sync() -> None:
    uids = [r.uid for r in parse_bytes(PAGE, db="snp", fmt=FMT) if isinstance(r, Record)]
    assert len(uids) == 500


STEP = ClientConfig().chunk_size  # what the client parses per event-loop step


async def chunks() -> AsyncIterator[bytes]:
    for start in range(0, len(PAGE), STEP):
        yield PAGE[start : start + STEP]


def best_ratio(ours: Callable[[], None], runs: int = 9) -> float:
    best_bare = best_ours = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        bare()
        best_bare = min(best_bare, time.perf_counter() - start)
        start = time.perf_counter()
        ours()
        best_ours = min(best_ours, time.perf_counter() - start)
    return best_ours / best_bare


def async_ratio() -> float:
    loop = asyncio.new_event_loop()

    async def consume() -> None:
        n = 0
        async for item in aparse(chunks(), db="snp", fmt=FMT):
            n += isinstance(item, Record)
        assert n == 500

    try:
        return best_ratio(lambda: loop.run_until_complete(consume()), runs=15)
    finally:
        loop.close()


def main() -> None:
    sync, async_ = best_ratio(ours_sync, runs=15), async_ratio()
    print(f"page: 500 snp records, {len(PAGE) / 1e3:.0f} kB; goal <= {LIMIT}x bare iterparse")
    print(f"sync parse_bytes: {sync:.2f}x   async aparse ({STEP // 1024} KiB steps): {async_:.2f}x")


if __name__ == "__main__":
    main()
