"""The refresh benchmark (issue 29): the 1,000-gene -> gene_snp job of harvest_bench.py, run as
of one day, then `run --refresh` as of a month later, beside a full rerun (`--restart`) as of
the later day; NCBI's limit enforced at 10/s with a key, realistic latency. Reports each run's
requests per endpoint (from the emulator's request log) and wall time, the refresh's bound
(its own elink stage: einfo, elink, epost + one esearch per History set + pages of new,
changed and withdrawn records + 1), and whether the refreshed output is byte-identical to the
rerun's.

    PYTHONPATH=. python benchmarks/refresh_bench.py                  # 2026-09-15 -> 2026-10-15
    PYTHONPATH=. python benchmarks/refresh_bench.py --quick          # 100 genes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from benchmarks.shared import gene_ids
from harvester.emulator.requestlog import read_log

ROOT = Path(__file__).resolve().parents[1]
KEY = "benchmark-key"


def serve(
    day: str, log: Path, env: dict[str, str], port: int = 0
) -> tuple[subprocess.Popen[str], str]:
    """The large dataset as of `day`, limited as NCBI is, logging each request (on `port`, or
    a free one)."""
    command = [sys.executable, "-m", "harvester", "serve", "--dataset", "large", "--as-of", day]
    command += ["--port", str(port)]
    command += ["--rate-limit", "3", "--key-rate-limit", "10", "--latency", "realistic"]
    command += ["--request-log", str(log)]
    emulator = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert emulator.stdout is not None
    return emulator, emulator.stdout.readline().strip().rsplit(" ", 1)[1]


def harvest(
    job: Path, day: str, output: Path, log: Path, env: dict[str, str], *flags: str, port: int = 0
) -> dict[str, Any]:
    """One `harvester run` against a fresh emulator as of `day` (its own request log)."""
    emulator, base_url = serve(day, log, env, port)
    try:
        started = time.monotonic()
        run = [sys.executable, "-m", "harvester", "run", str(job), "--endpoint", base_url]
        run += ["--policy", "ncbi", "--output", str(output), "--quiet", *flags]
        subprocess.run(run, check=True, env=env)
        wall = time.monotonic() - started
    finally:
        emulator.terminate()
        emulator.wait()
    summary = json.loads(Path(f"{output}.summary.json").read_text())
    by_endpoint = Counter(e.endpoint for e in read_log(log))
    return {"wall_s": round(wall, 2), "requests": dict(by_endpoint), "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first 100 genes only")
    parser.add_argument("--first", default="2026-09-15", help="the day of the first run")
    parser.add_argument("--later", default="2026-10-15", help="the day of the refresh")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="harvester-refresh-"))
    ids = work / "genes.txt"
    ids.write_text("\n".join(gene_ids(100 if args.quick else 1000)) + "\n")
    job = yaml.safe_load((ROOT / "configs/jobs/bulk_gene_snp.yaml").read_text())
    job["source"] = {"file": str(ids)}
    job["fetch"]["page_size"] = 500
    job.pop("rate", None)
    job_file = work / "job.yaml"
    job_file.write_text(yaml.safe_dump(job))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NCBI_API_KEY": KEY}
    refreshed, rerun = work / "refreshed.tsv", work / "rerun.tsv"

    first = harvest(job_file, args.first, refreshed, work / "first.jsonl", env)
    shutil.copytree(f"{refreshed}.harvest", f"{rerun}.harvest")  # the same finished job
    refresh = harvest(job_file, args.later, refreshed, work / "refresh.jsonl", env, "--refresh")
    full = harvest(job_file, args.later, rerun, work / "rerun.jsonl", env, "--restart")

    figures = refresh["summary"]["refresh"]
    page = job["fetch"]["page_size"]
    stage = ("einfo", "elink", "epost")  # the refresh's own elink stage (its chunks)
    elink = sum(refresh["requests"].get(utility, 0) for utility in stage)
    asked = (
        figures["links_added"]  # new targets (an upper bound: a new link may reach an old one)
        + figures["records_changed_by_mdat"]
        + refresh["summary"]["counts"]["targets_missing"]
    )
    counts = refresh["summary"]["counts"]
    sets = counts["entries"] - counts["entries_rebuilt"]  # one esearch each: mdat or size check
    bound = elink + sets + math.ceil(asked / page) + 1
    print(
        json.dumps(
            {
                "genes": refresh["summary"]["counts"]["sources"],
                "days": [args.first, args.later],
                "first_run": {"wall_s": first["wall_s"], "requests": first["requests"]},
                "refresh": {"wall_s": refresh["wall_s"], "requests": refresh["requests"]},
                "full_rerun": {"wall_s": full["wall_s"], "requests": full["requests"]},
                "refresh_requests": sum(refresh["requests"].values()),
                "full_rerun_requests": sum(full["requests"].values()),
                "bound (the refresh's elink stage + one esearch per History set "
                "+ pages of new/changed/withdrawn + 1)": bound,
                "history_sets": sets,
                "refresh_hedged_reads": refresh["summary"]["hedged_reads"],
                "changes": figures,
                "targets": refresh["summary"]["counts"]["targets"],
                "byte_identical": refreshed.read_bytes() == rerun.read_bytes(),
                "workdir": str(work),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
