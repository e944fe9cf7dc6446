"""The record cache benchmark (issue 29): two gene -> gene_snp jobs of bulk_gene_snp.yaml whose
genes overlap by half (the first 500 genes of bulk_genes.txt, then genes 250-749), on the large
dataset as of one day, NCBI's limit enforced at 10/s with a key, realistic latency. The second
job runs with the cache the first filled and, for comparison, without it; each run has its own
emulator (on one port: the cache keys records by endpoint) and request log. Reports each run's
requests per endpoint, the records it fetched and took from the cache, its wall time and the
time spent putting records, and whether the cached run's output is byte-identical to the
uncached one's.

    PYTHONPATH=. python benchmarks/cache_bench.py            # 500 + 500 genes
    PYTHONPATH=. python benchmarks/cache_bench.py --quick    # 100 + 100 genes
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import yaml

from benchmarks.refresh_bench import KEY, ROOT, harvest
from benchmarks.shared import gene_ids


def _job(work: Path, name: str, genes: list[str], cache: Path | None) -> Path:
    ids = work / f"{name}.txt"
    ids.write_text("\n".join(genes) + "\n")
    job = yaml.safe_load((ROOT / "configs/jobs/bulk_gene_snp.yaml").read_text())
    job["source"] = {"file": str(ids)}
    job["fetch"]["page_size"] = 500
    job.pop("rate", None)
    if cache is not None:
        job["cache"] = str(cache)
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _figures(run: dict[str, Any]) -> dict[str, Any]:
    summary = run["summary"]
    cache = summary.get("cache", {})
    return {
        "wall_s": run["wall_s"],
        "requests": run["requests"],
        "requests_total": sum(run["requests"].values()),
        "targets": summary["counts"]["targets"],
        "records_fetched": summary["records_fetched_this_run"],
        "records_from_cache": cache.get("records_from_cache", 0),
        "mdat_queries": cache.get("mdat_queries", 0),
        "put_seconds": cache.get("put_seconds", 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 + 100 genes")
    parser.add_argument("--day", default="2026-10-15", help="the day both jobs run as of")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="harvester-cache-"))
    size = 100 if args.quick else 500
    genes = gene_ids(size // 2 + size)
    first_genes, second_genes = genes[:size], genes[size // 2 : size // 2 + size]
    cache = work / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NCBI_API_KEY": KEY}

    first = _job(work, "first", first_genes, cache)
    cached = _job(work, "second", second_genes, cache)
    plain = _job(work, "plain", second_genes, None)
    out = {name: work / f"{name}.tsv" for name in ("first", "second", "plain")}
    port = _free_port()  # one endpoint for the cache, as NCBI is one: records keyed by it
    one = harvest(first, args.day, out["first"], work / "first.jsonl", env, port=port)
    two = harvest(cached, args.day, out["second"], work / "second.jsonl", env, port=port)
    bare = harvest(plain, args.day, out["plain"], work / "plain.jsonl", env, port=port)
    print(
        json.dumps(
            {
                "genes": [len(first_genes), len(second_genes), "half of them shared"],
                "day": args.day,
                "first_job_cache_on": _figures(one),
                "second_job_cache_on": _figures(two),
                "second_job_cache_off": _figures(bare),
                "byte_identical": out["second"].read_bytes() == out["plain"].read_bytes(),
                "cache_bytes": (cache / "records.sqlite").stat().st_size,
                "workdir": str(work),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
