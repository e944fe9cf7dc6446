"""Two `harvester run` processes with one API key against one `harvester serve` with the
limit enforced: do they stay within the key's limit together (GitHub issue 25)?

Processes share no gate; each learns what the other spends from the answers'
`X-RateLimit-Remaining` (rate_control.py). The second starts `--stagger` seconds after the
first, as when a colleague starts a job beside a running one. The figures come from the
server's request log: requests, 429s, the most requests of the key in any one second, and
each process's share.

    PYTHONPATH=. python benchmarks/two_processes.py [--genes 150] [--speedup 1]
        [--latency realistic] [--stagger 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harvester.emulator.dataset import Dataset
from harvester.emulator.requestlog import peak_per_second, per_status, read_log, who_label
from harvester.emulator.spec import load_spec

KEY = "two-processes-benchmark-key"


def job_text(out: Path, genes: list[int], base_url: str, rate: float) -> str:
    return (
        f"source: {{ids: {genes}}}\ndbfrom: gene\ndb: snp\nlinkname: gene_snp\n"
        f"output: {{path: {out}}}\nendpoint: {base_url}\npolicy: custom\nrate: {rate:g}\n"
        "elink_batch: 5\nfetch: {page_size: 20}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=150, help="source genes per job")
    parser.add_argument("--speedup", type=float, default=1.0)
    parser.add_argument("--latency", default="realistic")
    parser.add_argument("--stagger", type=float, default=2.0)
    args = parser.parse_args()
    limit = round(10 * args.speedup)
    python = sys.executable
    env = {**os.environ, "NCBI_API_KEY": KEY}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        log = tmp / "requests.jsonl"
        serve = subprocess.Popen(
            [python, "-m", "harvester", "serve", "--api-keys", KEY, "--request-log", str(log),
             "--speedup", str(args.speedup), "--latency", args.latency],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            assert serve.stdout is not None
            base_url = serve.stdout.readline().split()[-1]
            uids = list(Dataset(load_spec("tiny")).uids("gene"))
            jobs = []
            for i in range(2):
                genes = uids[i * args.genes : (i + 1) * args.genes]
                job = tmp / f"job{i}.yaml"
                job.write_text(job_text(tmp / f"out{i}.jsonl", genes, base_url, limit))
                jobs.append(job)
            started = time.monotonic()
            runs = []
            for i, job in enumerate(jobs):
                if i:
                    time.sleep(args.stagger)
                runs.append(
                    subprocess.Popen(
                        [python, "-m", "harvester", "run", str(job), "--quiet"], env=env
                    )
                )
            codes = [run.wait() for run in runs]
            elapsed = time.monotonic() - started
        finally:
            serve.terminate()
            serve.wait()
        entries = read_log(log)
    who = who_label(KEY, "")
    print(f"exit codes {codes}, {elapsed:.1f} s wall")
    print(f"requests {len(entries)}, statuses {per_status(entries)}")
    print(f"peak per second for the key: {peak_per_second(entries, who=who)} (limit {limit})")
    span = max(e.t for e in entries) - min(e.t for e in entries)
    print(f"mean rate over the run: {len(entries) / span:.2f}/s over {span:.1f} s")


if __name__ == "__main__":
    main()
