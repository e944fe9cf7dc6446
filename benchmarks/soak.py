"""The long soaks behind tests/test_soak.py and tests/test_hostile.py, too slow for CI.

    PYTHONPATH=. python benchmarks/soak.py faults --rate 0.2             # 2,500 genes, 20% faults
    PYTHONPATH=. python benchmarks/soak.py faults --rate 0.05 --genes 10000 --stall 1
    PYTHONPATH=. python benchmarks/soak.py faults --genes 1000 --job-rate 10 --latency realistic \
        --plan wrongroot@efetch:1:5-15                                  # 10 s of wrong answers
    PYTHONPATH=. python benchmarks/soak.py faults --genes 1000 --job-rate 10 --latency realistic \
        --plan expire@efetch:1 --once                                   # held for good
    PYTHONPATH=. python benchmarks/soak.py outage --seconds 30           # server gone for 30 s
    PYTHONPATH=. python benchmarks/soak.py huge --bytes 1073741825       # a 1 GiB efetch page

`faults` runs a gene -> snp job without and then with every fault kind mixed at RATE and checks
the outputs are byte-identical. `outage` stops the emulator's listener mid-job (connection
refused) and restarts it SECONDS later. `huge` fetches one hostile efetch page in a separate
process and reports that process's peak RSS, with the size cap off and at its 1 GiB default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from harvester.config import job_from_mapping
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.server import Emulator, EmulatorThread
from harvester.emulator.spec import load_spec
from harvester.errors import HarvesterError
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job

ROOT = Path(__file__).resolve().parents[1]


def job(work: Path, genes: list[int], **extra: Any) -> Any:
    data = {
        "source": {"ids": genes},
        "dbfrom": "gene",
        "db": "snp",
        "fields": {"SNP_ID": "SNP_ID", "CHRPOS": "CHRPOS", "GENE": "GENES/GENE_E/NAME"},
        "fetch": {"page_size": 100},
        "elink_batch": 50,
        "output": {"path": str(work / "out.jsonl")},
        "endpoint": "embedded",
        "policy": "custom",
        "rate": 2000,
        "concurrency": 8,
        **extra,
    }
    return job_from_mapping(data, base_dir=work)


def faults(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="harvester-soak-"))
    spec = work / "dataset.yaml"
    spec.write_text(f"name: soak\nseed: 42\ngenes: {args.genes}\n")
    dataset = Dataset(load_spec(spec))
    genes = [dataset.maps["gene"].uid(i) for i in range(args.genes)]
    runs = {}
    plans = [("clean", ""), ("faulty", args.plan or f"mixed:{args.rate}")]
    for name, plan in plans[1:] if args.once else plans:
        (work / name).mkdir()
        log = work / name / "requests.jsonl"
        emulator = EmulatorConfig(
            dataset=spec,
            faults=plan,
            seed=args.seed,
            stall_seconds=args.stall,
            request_log=log,
            latency=args.latency,
        )
        the_job = job(work / name, genes, rate=args.job_rate)
        started = time.monotonic()
        stops: list[str] = []
        summary: dict[str, Any] | None = None
        while summary is None:  # a run that stops is resumed, as a user would (--once: not)
            try:
                summary = asyncio.run(run_job(the_job, RunOptions(quiet=True, emulator=emulator)))
            except HarvesterError as exc:
                stops.append(f"exit {exc.exit_code}: {exc}")
                if args.once:
                    break
                if len(stops) > 10:
                    raise
        entries = [orjson.loads(line) for line in log.read_bytes().splitlines()]
        if summary is None:  # --once, and it stopped
            runs[name] = {
                "seconds": round(time.monotonic() - started, 1),
                "requests": len(entries),
                "faults": dict(Counter(e["fault"] for e in entries if e["fault"])),
                "stopped": stops,
                "output_written": the_job.output.path.exists(),
            }
            return {"genes": args.genes, "plan": plan, **runs}
        runs[name] = {
            "seconds": round(time.monotonic() - started, 1),
            "requests": summary["requests_total"],
            "retries": summary["retries"],
            "faults": dict(Counter(e["fault"] for e in entries if e["fault"])),
            "rebuilt": summary["counts"]["entries_rebuilt"],
            "stopped_and_resumed": stops,
            "records": summary["counts"]["targets_fetched"],
            "output": the_job.output.path.read_bytes(),
        }
    same = runs["clean"].pop("output") == runs["faulty"].pop("output")
    plan = args.plan or f"mixed:{args.rate}"
    return {"genes": args.genes, "plan": plan, "identical_output": same, **runs}


async def _outage(seconds: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="harvester-outage-"))
    from harvest_helpers import TINY  # type: ignore[import-not-found]

    genes = [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)]
    slow = {"fetch": {"page_size": 20}, "elink_batch": 10, "rate": 100}
    clean = job(work / "clean", genes, **slow)
    await run_job(clean, RunOptions(quiet=True))
    async with Emulator(EmulatorConfig()) as emu:
        the_job = job(work / "run", genes, endpoint=emu.base_url, **slow)

        async def outage() -> float:
            store = the_job.job_dir / STORE_NAME
            while not store.exists() or store.stat().st_size < 100_000:
                await asyncio.sleep(0.05)
            await emu.vanish()
            gone = time.monotonic()
            await asyncio.sleep(seconds)
            await emu.reappear()
            return gone

        task = asyncio.create_task(outage())
        summary = await run_job(the_job, RunOptions(quiet=True))
        finished = time.monotonic()
        gone = await task
    same = clean.output.path.read_bytes() == the_job.output.path.read_bytes()
    return {
        "outage_seconds": seconds,
        "finished_seconds_after_outage_began": round(finished - gone, 1),
        "identical_output": same,
        "retries": summary["retries"],
    }


MEASURE = """
import asyncio, json, resource, sys, time
from harvester.errors import HarvesterError
from harvester.eutils.client import ClientConfig, EutilsClient

async def fetch(url, cap):
    config = ClientConfig(base_url=url, policy="custom", rate=100, max_response_bytes=cap)
    async with EutilsClient(config) as client:
        uids = set()
        try:
            async for record in client.efetch("snp", ids=["3008", "11888", "867174"]):
                uids.add(record.uid)
            outcome = "parsed"
        except HarvesterError as exc:
            outcome = str(exc)
        return len(uids), client.stats.get("bytes/in"), outcome

started = time.monotonic()
unique, size, outcome = asyncio.run(fetch(sys.argv[1], int(sys.argv[2])))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"cap": int(sys.argv[2]), "bytes_in": size, "unique_records": unique,
                  "outcome": outcome, "peak_rss_mib": round(peak / 1024, 1),
                  "seconds": round(time.monotonic() - started, 1)}))
"""


def huge(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with EmulatorThread(EmulatorConfig(hostile=f"huge:{args.bytes}")) as emu:
        for cap in (4 * args.bytes, 1 << 30):  # streamed whole, then cut at the default cap
            done = subprocess.run(
                [sys.executable, "-c", MEASURE, emu.base_url, str(cap)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            results.append(json.loads(done.stdout))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    f = sub.add_parser("faults")
    f.add_argument("--rate", type=float, default=0.2)
    f.add_argument("--genes", type=int, default=2500)
    f.add_argument("--stall", type=float, default=0.0, help="seconds a stall fault holds")
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--job-rate", type=float, default=2000, help="the job's requests/s")
    f.add_argument("--once", action="store_true", help="the faulty run only, not resumed")
    f.add_argument("--latency", default="zero", help="the emulator's latency profile")
    f.add_argument(
        "--plan",
        default="",
        help="a fault plan instead of mixed:RATE (wrongroot@efetch:1:5-15)",
    )
    o = sub.add_parser("outage")
    o.add_argument("--seconds", type=float, default=30.0)
    h = sub.add_parser("huge")
    h.add_argument("--bytes", type=int, default=(1 << 30) + 1)
    args = parser.parse_args()
    if args.what == "faults":
        result: Any = faults(args)
    elif args.what == "outage":
        sys.path.insert(0, str(ROOT / "tests"))
        result = asyncio.run(_outage(args.seconds))
    else:
        result = huge(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
