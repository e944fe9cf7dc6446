"""NCBI-sized records at NCBI's rate (issue 26): a job at default settings against a separate
`harvester serve --dataset large` with NCBI's limits and realistic latency, measured as a user
would meet it.

The server runs in its own process (pinned to core 0 unless --no-pin), the harvester in another
(core 1), optionally beside CPU hogs. Wall time, client CPU and peak RSS come from the client's
process (`os.wait4`); requests, 429s and pages asked twice from the server's request log; the
floors from the run's summary. Run from the repository root:

    PYTHONPATH=. python benchmarks/weight.py gene-snp                      # 1,000 genes -> SNPs
    PYTHONPATH=. python benchmarks/weight.py gene-snp --record-bytes 21000 # 21 KB SNP records
    PYTHONPATH=. python benchmarks/weight.py pubmed-gene                   # Entrezgene records
    PYTHONPATH=. python benchmarks/weight.py pubmed-gene --page-size 20    # the same, small pages

`--serve ARG` passes an argument on to `harvester serve`; `--set KEY=VALUE` to the job file
(dotted keys, e.g. `--set fetch.parse_workers=2`); `--hogs N` spins N busy processes beside it;
`--profile FILE` runs the client under cProfile (its main thread: the event loop) into FILE.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.shared import gene_ids, pin
from harvester.emulator.requestlog import (
    pages_asked_twice,
    peak_per_second,
    per_status,
    read_log,
)

ROOT = Path(__file__).resolve().parents[1]
KEY = "benchmark-key"
RATE = 10


def gene_snp_job(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    ids = work / "genes.txt"
    ids.write_text("\n".join(gene_ids(args.sources or 1000)) + "\n")
    return {
        "name": "weight-gene-snp",
        "source": {"file": str(ids)},
        "dbfrom": "gene",
        "db": "snp",
        "linkname": "gene_snp",
        "fetch": {"via": "efetch", "retmode": "xml"},
        "fields": {"SNP_ID": "SNP_ID", "GENE": "GENES/GENE_E/NAME", "CHRPOS": "CHRPOS"},
    }


def pubmed_gene_job(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """PubMed ids spread evenly over the large dataset's, so the genes they link to are a fair
    sample of its record sizes; their full Entrezgene records are fetched."""
    from harvester.emulator.dataset import Dataset
    from harvester.emulator.spec import load_spec

    pubmed = list(Dataset(load_spec("large")).uids("pubmed"))
    want = args.sources or 700
    step = max(1, len(pubmed) // want)
    ids = work / "pubmed.txt"
    ids.write_text("\n".join(str(u) for u in pubmed[::step][:want]) + "\n")
    return {
        "name": "weight-pubmed-gene",
        "source": {"file": str(ids)},
        "dbfrom": "pubmed",
        "db": "gene",
        "linkname": "pubmed_gene",
        "fetch": {"via": "efetch", "retmode": "xml"},
        "fields": {"GENE_ID": "Entrezgene_track-info/Gene-track/Gene-track_geneid"},
    }


JOBS = {"gene-snp": gene_snp_job, "pubmed-gene": pubmed_gene_job}


def apply_sets(job: dict[str, Any], sets: list[str]) -> None:
    for item in sets:
        key, _, value = item.partition("=")
        *path, last = key.split(".")
        where = job
        for step in path:
            where = where.setdefault(step, {})
        where[last] = yaml.safe_load(value)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children (the emulator's render
    workers), from /proc, while they still run."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(proc.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def hog() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir or tempfile.mkdtemp(prefix="harvester-weight-"))
    work.mkdir(parents=True, exist_ok=True)
    job = JOBS[args.job](args, work)
    if args.page_size:
        job["fetch"]["page_size"] = args.page_size
    apply_sets(job, args.set)
    job_file = work / "job.yaml"
    job_file.write_text(yaml.safe_dump(job))
    log = work / "requests.jsonl"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NCBI_API_KEY": KEY}
    serve = [sys.executable, "-m", "harvester", "serve", "--dataset", "large"]
    serve += ["--api-keys", KEY, "--latency", args.latency, "--request-log", str(log)]
    serve += args.serve
    if args.record_bytes:
        serve += ["--record-bytes", str(args.record_bytes)]
    no_pin = args.no_pin
    emulator = subprocess.Popen(
        serve, stdout=subprocess.PIPE, text=True, env=env, preexec_fn=None if no_pin else pin(0)
    )
    hogs = [hog() for _ in range(args.hogs)]
    assert emulator.stdout is not None
    base_url = emulator.stdout.readline().strip().rsplit(" ", 1)[1]
    output = work / "out.tsv"
    try:
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        cmd = [sys.executable, *profile, "-m", "harvester", "run", str(job_file)]
        cmd += ["--endpoint", base_url]
        cmd += ["--output", str(output), "--quiet", "--restart"]
        started = time.monotonic()
        client = subprocess.Popen(cmd, env=env, preexec_fn=None if no_pin else pin(1))
        _, status, usage = os.wait4(client.pid, 0)
        wall = time.monotonic() - started
        server_cpu = cpu_seconds(emulator.pid)
    finally:
        for process in [emulator, *hogs]:
            process.terminate()
            process.wait()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"harvester run exited {os.waitstatus_to_exitcode(status)}")
    summary = json.loads(Path(f"{output}.summary.json").read_text())
    entries = read_log(log)
    statuses = per_status(entries)
    span = max(e.t for e in entries) - min(e.t for e in entries)
    fetched = [e for e in entries if e.endpoint in ("efetch", "esummary") and e.status == 200]
    out = {
        "job": args.job,
        "record_bytes": args.record_bytes or "dataset's",
        "sources": summary["counts"]["sources"],
        "records": summary["counts"]["targets_fetched"],
        "wall_s": round(wall, 2),
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "client_cpu_share_of_one_core": round((usage.ru_utime + usage.ru_stime) / wall, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "server_cpu_s": round(server_cpu, 2),
        "requests": len(entries),
        "http_429": statuses.get(429, 0),
        "pages_asked_twice": pages_asked_twice(entries),
        "hedged": summary.get("hedged", summary.get("counts", {}).get("hedged")),
        "share_of_allowed_rate": round((len(entries) - 1) / span / RATE, 3) if span else None,
        "peak_in_1s": peak_per_second(entries),
        "bytes_fetched": sum(e.bytes for e in fetched),
        "mean_record_bytes": round(
            sum(e.bytes for e in fetched) / max(1, summary["counts"]["targets_fetched"])
        ),
        "floor_requests_s": summary["floor_seconds"],
        "elapsed_s": summary["elapsed_seconds"],
        "loop_stall_max_ms": summary.get("loop_stall_max_ms"),
        "output_sha256": hashlib.sha256(output.read_bytes()).hexdigest()[:16],
        "workdir": str(work),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=sorted(JOBS))
    parser.add_argument("--sources", type=int, default=None)
    parser.add_argument("--record-bytes", type=int, default=None)
    parser.add_argument("--page-size", type=int, default=None)
    parser.add_argument("--latency", default="realistic")
    parser.add_argument("--hogs", type=int, default=0, help="busy processes beside the run")
    parser.add_argument(
        "--serve", action="append", default=[], help="an argument for serve, as --serve=--seed=3"
    )
    parser.add_argument("--set", action="append", default=[], help="job KEY=VALUE")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--workdir", default=None)
    parser.add_argument(
        "--profile", default=None, help="cProfile the client (its main thread) into this file"
    )
    args = parser.parse_args()
    print(json.dumps(run(args), indent=1))


if __name__ == "__main__":
    main()
