"""Full speed with no tuning (issue 17): job sizes x latency profiles x NCBI's two limits, each
run with the job file's defaults only (no `concurrency`, no page size, no rate), genes -> SNPs
on the large dataset against a `harvester serve` emulator that enforces the limit (the
emulator at nice -10 when allowed, the harvester at normal priority; see `referee`).

Per cell: requests, 429s, the rate at the server (requests between the first and the last
arrival, over that span, / the limit), the run's own rate (the summary's: requests over the
whole run, the wait for the last answers included, / the limit), the run over its floor (the
fewest requests the index allows / the limit), the concurrency limit's peak, and where the
span at the server went unfilled (`waits`: before the first page, after the last page, between). A
`--shared-load R` row runs realistic latency at 10/s with another program spending R/s of the
key's allowance in the emulator.

    PYTHONPATH=. python benchmarks/grid.py --quick          # 300, 1,000 at 10/s; realistic,
                                                           # slow; shared load (3-5 min)
    PYTHONPATH=. python benchmarks/grid.py                  # the whole grid: floors of about
                                                           # 118 min, 2.5-3 h in all
    PYTHONPATH=. python benchmarks/grid.py --estimate       # the cells and their floors only

Results go to benchmarks/results/grid-<date>.json as each cell finishes; GRID.md has them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.shared import gene_ids
from harvester.emulator.requestlog import LogEntry, peak_per_second, per_status, read_log

ROOT = Path(__file__).resolve().parents[1]
KEY = "benchmark-key"
SIZES = (100, 300, 1_000, 10_000)
PROFILES = ("realistic", "slow", "heavy", "shifting")
RATES = (10, 3)
EMULATOR_NICE = -10
SECONDS_PER_SOURCE = 0.034
"""The floor's requests per source on this job, about (1,000 genes: 338 requests), / 10/s x 10."""


@dataclass(frozen=True, slots=True)
class Cell:
    sources: int
    profile: str
    rate: int
    shared_load: float = 0.0

    @property
    def floor_estimate(self) -> float:
        return self.sources * SECONDS_PER_SOURCE * 10 / self.rate


def cells(args: argparse.Namespace) -> list[Cell]:
    """The grid asked for: the whole of it, or the quick subset."""
    if args.quick:
        grid = [Cell(n, p, 10) for p in ("realistic", "slow") for n in (300, 1_000)]
        return grid + [Cell(n, "realistic", 10, args.shared_load) for n in (300, 1_000)]
    sizes = [int(s) for s in args.sizes.split(",")]
    profiles = args.profiles.split(",")
    rates = [int(r) for r in args.rates.split(",")]
    grid = [Cell(n, p, r) for r, p, n in itertools.product(rates, profiles, sizes)]
    if args.shared_load:
        grid += [Cell(n, "realistic", 10, args.shared_load) for n in sizes]
    return grid


def referee() -> None:
    """The emulator (NCBI's stand-in, the referee) ahead of other work where that is allowed,
    so the machine's load jitters its arrival clock less. Neither process is pinned to a core:
    on a machine others load too, a pinned harvester cannot escape their work."""
    with contextlib.suppress(PermissionError):
        os.nice(EMULATOR_NICE)


def run_cell(cell: Cell, seed: int) -> dict[str, Any]:
    """One job against a fresh emulator; the figures of the module docstring."""
    work = Path(tempfile.mkdtemp(prefix="harvester-grid-"))
    (work / "genes.txt").write_text("\n".join(gene_ids(cell.sources)) + "\n")
    output = work / "out.jsonl"
    log = work / "requests.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NCBI_API_KEY", None)
    if cell.rate == 10:
        env["NCBI_API_KEY"] = KEY
    serve = [sys.executable, "-m", "harvester", "serve", "--dataset", "large"]
    serve += ["--rate-limit", "3", "--key-rate-limit", "10", "--latency", cell.profile]
    serve += ["--request-log", str(log), "--seed", str(seed)]
    serve += ["--shared-load", str(cell.shared_load)]
    emulator = subprocess.Popen(
        serve, stdout=subprocess.PIPE, text=True, env=env, preexec_fn=referee
    )
    assert emulator.stdout is not None
    base_url = emulator.stdout.readline().strip().rsplit(" ", 1)[1]
    job = work / "job.yaml"
    job.write_text(
        f"source: {{file: genes.txt}}\ndbfrom: gene\ndb: snp\nlinkname: gene_snp\n"
        f"output: {{path: {output}}}\nendpoint: {base_url}\n"
    )
    try:
        run = [sys.executable, "-m", "harvester", "run", str(job), "--quiet"]
        done = subprocess.run(run, env=env, capture_output=True, text=True)
    finally:
        emulator.terminate()
        emulator.wait()
    row: dict[str, Any] = {**asdict(cell), "seed": seed, "exit": done.returncode}
    if done.returncode != 0:
        return row | {"error": done.stderr.strip().splitlines()[-1:]}
    summary = json.loads(Path(f"{output}.summary.json").read_text())
    entries = [e for e in read_log(log)]
    statuses = per_status(entries)
    span = max(e.t for e in entries) - min(e.t for e in entries)
    floor = summary["floor_seconds"]
    return row | {
        **waits(entries, cell.rate),
        "requests": len(entries),
        "http_429": statuses.get(429, 0),
        "server_rate_over_allowed": round((len(entries) - 1) / span / cell.rate, 4),
        "run_rate_over_allowed": round(summary["achieved_rate"] / cell.rate, 4),
        "run_over_floor": round(summary["elapsed_seconds"] / floor, 4),
        "elapsed_s": summary["elapsed_seconds"],
        "floor_s": floor,
        "peak_in_1s": peak_per_second(entries),
        "paced_rate": summary.get("paced_rate"),
        "concurrency_peak": summary.get("concurrency_peak"),
        "workdir": str(work),
    }


def waits(entries: list[LogEntry], rate: float) -> dict[str, float]:
    """Where the span at the server went unfilled, in seconds of the limit's slots (1/rate):
    at the start, until the first page (no History entry yet: only elinks and einfo can go);
    at the end, after the last page first sent (only size checks, confirmations and hedged
    reads are left, and the confirmations wait for the last pages' answers); and in between.
    With the start and the end taken out, the rate the gate kept from the first page to the
    last."""
    arrivals = sorted(entries, key=lambda e: e.t)
    slot = 1 / rate
    t0, t_last = arrivals[0].t, arrivals[-1].t
    firsts: dict[str, float] = {}  # a page asked again (a hedged read) is not a new page
    for e in arrivals:
        if e.page is not None:
            firsts.setdefault(e.page, e.t)
    pages = sorted(firsts.values())
    if not pages:
        return {}
    before = sum(1 for e in arrivals if e.t < pages[0])
    after = sum(1 for e in arrivals if e.t > pages[-1])
    start = max(0.0, pages[0] - t0 - before * slot)
    end = max(0.0, t_last - pages[-1] - after * slot)
    idle = max(0.0, t_last - t0 - (len(arrivals) - 1) * slot)
    middle = pages[-1] - pages[0]
    return {
        "wait_start_s": round(start, 2),
        "wait_end_s": round(end, 2),
        "wait_between_s": round(max(0.0, idle - start - end), 2),
        "rate_between_over_allowed": round((len(arrivals) - before - after - 1) / middle / rate, 4)
        if middle > 0
        else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the subset in the docstring")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--rates", default=",".join(map(str, RATES)))
    parser.add_argument("--shared-load", type=float, default=3.0, help="0: no shared-load row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--estimate", action="store_true", help="list the cells, run nothing")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    grid = cells(args)
    total = sum(c.floor_estimate for c in grid)
    print(f"{len(grid)} cells, floors about {total / 60:.0f} min in all", file=sys.stderr)
    if args.estimate:
        for cell in grid:
            print(json.dumps({**asdict(cell), "floor_estimate_s": round(cell.floor_estimate)}))
        return
    today = datetime.date.today().isoformat()
    out = args.out or ROOT / f"benchmarks/results/grid-{today}{'-quick' if args.quick else ''}.json"
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    for cell in grid:
        load = os.getloadavg()[0]
        row = run_cell(cell, args.seed) | {"loadavg_1min_before": round(load, 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        out.write_text(json.dumps({"command": sys.argv, "rows": rows}, indent=1) + "\n")
    print(f"{len(grid)} cells in {(time.monotonic() - started) / 60:.1f} min", file=sys.stderr)


if __name__ == "__main__":
    main()
