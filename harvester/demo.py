"""`harvester demo`: the seed's index-list workflow, scripted, against the embedded emulator.

Per-id elink builds the index (gene -> SNPs), one neighbor_history elink puts every SNP on the
History server, efetch pages pull the records, and the join writes one JSON line per gene.
It runs at NCBI's default pace (3 requests/s) to show the gate at work; `harvester run` (the
full job runner) supersedes it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import orjson

from harvester.emulator.server import Emulator, EmulatorConfig
from harvester.eutils.client import EutilsClient
from harvester.eutils.results import LinkSet, LinkSetHistory
from harvester.eutils.settings import ClientConfig

DEMO_GENES = ("3718", "7157", "672")
FIELDS = ("SNP_ID", "CHRPOS", "FXN_CLASS", "SNP_CLASS", "TAX_ID")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the seed's gene -> SNP example on the embedded emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("harvest-output/demo.jsonl"),
        help="where to write the joined JSONL (default harvest-output/demo.jsonl)",
    )
    parser.add_argument(
        "genes",
        nargs="*",
        default=list(DEMO_GENES),
        help="gene ids to link from (default: JAK3 3718, TP53 7157, BRCA1 672)",
    )
    parser.set_defaults(handler=run_demo)


async def harvest(base_url: str, genes: list[str]) -> tuple[list[dict[str, object]], int]:
    """The six steps for gene -> gene_snp; returns the joined rows and the request count."""
    async with EutilsClient(ClientConfig(base_url=base_url, tool="harvester-demo")) as client:
        index: dict[str, list[str]] = {}
        for item in await client.elink("gene", genes, db="snp", linkname="gene_snp"):
            if isinstance(item, LinkSet):
                index[item.ids[0]] = [t for db in item.dbs for t in db.links]
        history = next(
            i
            for i in await client.elink(
                "gene", genes, db="snp", linkname="gene_snp", cmd="neighbor_history", per_id=False
            )
            if isinstance(i, LinkSetHistory)
        )
        records: dict[str, dict[str, str]] = {}
        total = len({t for targets in index.values() for t in targets})
        for start in range(0, total, 500):
            async for record in client.efetch(
                "snp",
                webenv=history.webenv,
                query_key=history.histories[0].query_key,
                retstart=start,
                retmax=500,
            ):
                fields = {f: record.findtext(f) for f in FIELDS}
                fields["GENE"] = record.findtext("GENES/GENE_E/NAME")
                records[record.uid] = fields
        rows: list[dict[str, object]] = [
            {
                "source": gene,
                "links": [{"id": t, "record": records.get(t)} for t in index.get(gene, [])],
            }
            for gene in genes
        ]
        requests = int(sum(client.stats.prefixed("requests").values()))
        return rows, requests


async def _main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    async with Emulator(EmulatorConfig()) as emulator:
        print(f"embedded emulator at {emulator.base_url}", file=sys.stderr)
        rows, requests = await harvest(emulator.base_url, args.genes)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(args.output.suffix + ".tmp")
    tmp.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    tmp.replace(args.output)
    for row in rows:
        links = row["links"]
        assert isinstance(links, list)
        shown = ", ".join(str(link["id"]) for link in links[:5])
        more = f" ... (+{len(links) - 5})" if len(links) > 5 else ""
        print(f"gene {row['source']}: {len(links)} SNPs: {shown}{more}")
    elapsed = time.monotonic() - started
    print(f"wrote {args.output} ({len(rows)} genes) with {requests} requests in {elapsed:.1f} s")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    return asyncio.run(_main(args))
