"""Scale: a harvest of 100,000 genes and ~10 million links in bounded memory (issue 6).

The emulator runs in its own process with limits off and zero latency, so the harvester is what
is measured. The harvester runs as a child process; `os.wait4` gives its own peak RSS and CPU
seconds. Run from the repository root:

    PYTHONPATH=. python benchmarks/scale.py --dataset benchmarks/datasets/scale.yaml
    PYTHONPATH=. python benchmarks/scale.py --dataset benchmarks/datasets/scale10x.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from harvester.emulator.dataset import Dataset
from harvester.emulator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def start_emulator(dataset: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harvester",
            "serve",
            "--dataset",
            dataset,
            "--no-rate-limit",
            "--latency",
            "zero",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    return proc, line.rsplit(" ", 1)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="benchmarks/datasets/scale.yaml")
    parser.add_argument("--sources", type=int, default=None, help="default: every gene")
    parser.add_argument("--rate", type=float, default=5000.0, help="client pacing (custom)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workdir", default=None, help="where the job, store and output go")
    args = parser.parse_args()

    dataset = Dataset(load_spec(args.dataset))
    n = args.sources or dataset.spec.genes
    work = Path(args.workdir or tempfile.mkdtemp(prefix="harvester-scale-")).absolute()
    work.mkdir(parents=True, exist_ok=True)
    ids = work / "genes.txt"
    ids.write_text("".join(f"{dataset.maps['gene'].uid(i)}\n" for i in range(n)))
    output = work / "out.tsv"
    emulator, base_url = start_emulator(args.dataset)
    try:
        job = {
            "source": {"file": str(ids)},
            "dbfrom": "gene",
            "db": "snp",
            "linkname": "gene_snp",
            "fields": {"SNP_ID": "SNP_ID", "CHRPOS": "CHRPOS"},
            "output": {"path": str(output)},
            "endpoint": base_url,
            "policy": "custom",
            "rate": args.rate,
            "concurrency": args.concurrency,
        }
        job_file = work / "job.yaml"
        job_file.write_text(yaml.safe_dump(job))
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "harvester", "run", str(job_file), "--quiet", "--restart"],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
    finally:
        emulator.terminate()
        emulator.wait()
    if status != 0:
        sys.exit(f"the harvest failed with status {status}")
    summary = json.loads(Path(f"{output}.summary.json").read_text())
    counts = summary["counts"]
    cpu = usage.ru_utime + usage.ru_stime
    records = counts["targets_fetched"]
    store = output.with_name(output.name + ".harvest") / "state.sqlite"
    row = {
        "dataset": Path(args.dataset).name,
        "sources": counts["sources"],
        "links": counts["links"],
        "targets": counts["targets"],
        "records": records,
        "missing": counts["targets_missing"],
        "requests": summary["requests_total"],
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": round(cpu, 1),
        "cpu_s_per_100k_records": round(cpu / records * 1e5, 2),
        "records_per_s": round(records / wall),
        "links_per_s": round(counts["links"] / wall),
        "output_mib": round(output.stat().st_size / 2**20),
        "store_mib": round(
            sum(p.stat().st_size for p in store.parent.glob("state.sqlite*")) / 2**20
        ),
    }
    print(json.dumps(row))
    print("| " + " | ".join(str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
