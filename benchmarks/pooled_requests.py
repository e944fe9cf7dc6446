"""Requests by utility of the issue-26 jobs on the embedded tiny dataset: snp -> gene (many
sources sharing few targets: pooled into one epost) and gene -> snp (many targets per chunk:
neighbor_history entries), with the output's digest to compare runs and page sizes.

    PYTHONPATH=. python benchmarks/pooled_requests.py snp-gene 500 100 2670
    PYTHONPATH=. python benchmarks/pooled_requests.py gene-snp 500 100 304
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from harvester.config import job_from_mapping
from harvester.emulator.dataset import Dataset
from harvester.emulator.spec import load_spec
from harvester.workflow.runner import RunOptions, run_job

FIELDS = {
    "snp-gene": ("snp", "gene", "snp_gene", {"NAME": "Entrezgene_gene/Gene-ref/Gene-ref_locus"}),
    "gene-snp": ("gene", "snp", "gene_snp", {"SNP_ID": "SNP_ID", "CHRPOS": "CHRPOS"}),
}


def sources(kind: str, count: int) -> list[int]:
    """The first `count` genes, or SNPs that genes link to, of the tiny dataset, ascending."""
    tiny = Dataset(load_spec("tiny"))
    if kind == "gene-snp":
        return list(tiny.uids("gene"))[:count]
    snps = {snp for gene in tiny.uids("gene") for snp, *_ in tiny.links("gene_snp", gene)}
    return sorted(snps)[:count]


async def run(kind: str, page_size: int, batch: int, count: int) -> dict[str, Any]:
    dbfrom, db, linkname, fields = FIELDS[kind]
    tmp = Path(tempfile.mkdtemp(prefix="harvester-pooled-"))
    job = job_from_mapping(
        {
            "source": {"ids": sources(kind, count)},
            "dbfrom": dbfrom,
            "db": db,
            "linkname": linkname,
            "fields": fields,
            "fetch": {"page_size": page_size},
            "elink_batch": batch,
            "output": {"path": str(tmp / "out.jsonl")},
            "endpoint": "embedded",
            "policy": "custom",
            "rate": 2000,
        },
        base_dir=tmp,
    )
    summary = await run_job(job, RunOptions(quiet=True))
    return {
        "job": kind,
        "sources": count,
        "targets": summary["counts"]["targets"],
        "requests": summary["requests_total"],
        "by_utility": summary["requests"],
        "floor_requests": summary["floor_requests"],
        "output_sha1": hashlib.sha1(job.output.path.read_bytes()).hexdigest()[:12],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(FIELDS))
    parser.add_argument("page_size", type=int)
    parser.add_argument("batch", type=int)
    parser.add_argument("count", type=int)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.kind, args.page_size, args.batch, args.count))))


if __name__ == "__main__":
    main()
