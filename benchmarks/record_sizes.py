"""The emulator's record sizes per db: bytes of each efetch record (as sent), in quantiles.

    PYTHONPATH=. python -m benchmarks.record_sizes [--dataset large] [--records 3000]
        [--record-scale F] [--record-bytes N]

Sizes are drawn per record, so the first few thousand records of each db show the dataset's
distribution; compare with the captures' sizes in docs/NCBI_BEHAVIOUR.md.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

from harvester.emulator.catalog import Catalog
from harvester.emulator.dataset import Dataset
from harvester.emulator.spec import load_spec, sized

SHAPES = (("snp", "snp_exchangeset"), ("gene", "entrezgene"), ("pubmed", "pubmed"))


def sizes(catalog: Catalog, db: str, fmt: str, n: int) -> list[int]:
    """Bytes of the first `n` generated records of `db` that exist."""
    ds = catalog.ds
    generated = (u for u in ds.uids(db) if ds.index(db, u) is not None)
    texts = (catalog.efetch(fmt, db, u) for u in generated)
    return [len(t.encode()) for t in itertools.islice((t for t in texts if t), n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="large")
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--record-scale", type=float)
    parser.add_argument("--record-bytes", type=int)
    args = parser.parse_args()
    spec = sized(load_spec(args.dataset), args.record_scale, args.record_bytes)
    catalog = Catalog(Dataset(spec))
    print("| db, efetch record | records | 10th pct | median | 90th pct | 99th pct | max | mean "
          "| rendered/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for db, fmt in SHAPES:
        started = time.perf_counter()
        found = sorted(sizes(catalog, db, fmt, args.records))
        seconds = time.perf_counter() - started
        n = len(found)
        cells = [found[int(q * n)] for q in (0.1, 0.5, 0.9, 0.99)] + [found[-1]]
        figures = " | ".join(f"{c:,}" for c in cells)
        mean = int(statistics.mean(found))
        print(f"| {db} `{fmt}` | {n:,} | {figures} | {mean:,} | {n / seconds:,.0f} |")


if __name__ == "__main__":
    main()
