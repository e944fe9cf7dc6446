"""Runs every (scenario, contender, repeat) against a fresh emulator and measures it.

Per run: a fresh `harvester serve` process (large dataset, NCBI's limits enforced: 3/s per
address, 10/s per api_key, the scenario's latency and faults, its own request log), then the
contender in its own process (`launch.py`) with a timeout, then the server is stopped and its
request log read. Requests, 429s and the achieved rate come from the SERVER's log; wall time and
peak RSS from the contender's process; completeness from `verify.py` against ground truth.

Harvester runs are never overlapped with anything. With `--jobs N` > 1 the other contenders'
runs (latency-bound serial clients, each with its own server, limit and key) overlap N at a
time after the harvester's; this saves wall time on a long benchmark and is stated in the report.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.compare import verify
from benchmarks.compare.common import CHUNK, PAGE, Task, read_ids
from harvester.emulator.dataset import Dataset
from harvester.emulator.requestlog import peak_per_second, per_status, read_log
from harvester.emulator.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
CONTENDERS = ("harvester", "biopython", "edirect", "entrezpy", "naive")
GENES_FILE = ROOT / "configs" / "jobs" / "bulk_genes.txt"
RATE_NO_KEY, RATE_KEY = 3, 10


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    dbfrom: str = "gene"
    db: str = "snp"
    linkname: str = "gene_snp"
    via: str = "efetch"
    keyed: bool = True
    latency: str = "realistic"
    faults: str = ""
    max_sources: int | None = None
    """At most this many source ids, whatever --sources says (a scenario of big records)."""
    spread: bool = False
    """Source ids spread evenly over dbfrom's ids (a fair sample of the dataset's size
    distribution), not its first ids."""

    @property
    def limit(self) -> int:
        return RATE_KEY if self.keyed else RATE_NO_KEY


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("bench10", "gene -> snp, 10/s (api_key), realistic latency (the benchmark job)"),
        Scenario("bench3", "gene -> snp, 3/s (no key), realistic latency", keyed=False),
        Scenario(
            "pubmed_gene",
            "pubmed -> gene with esummary, 10/s, realistic latency",
            dbfrom="pubmed",
            db="gene",
            linkname="pubmed_gene",
            via="esummary",
        ),
        Scenario(
            "gene_records",
            "pubmed -> gene with efetch of full Entrezgene records (heavy-tailed, up to ~1 MB), "
            "10/s, realistic latency",
            dbfrom="pubmed",
            db="gene",
            linkname="pubmed_gene",
            max_sources=200,
            spread=True,
        ),
        Scenario("zero", "gene -> snp, 10/s, zero latency (pure pacing)", latency="zero"),
        Scenario(
            "faults",
            "gene -> snp, 10/s, realistic latency, 5% mixed faults",
            faults="mixed:0.05",
        ),
    )
}


@dataclass(slots=True)
class Options:
    sources: int = 1000
    repeats: int = 3
    timeout: float = 1200.0
    speedup: float = 1.0
    jobs: int = 1
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    contenders: tuple[str, ...] = CONTENDERS
    workdir: Path | None = None
    seed: int = 7
    log: Any = None
    reuse: bool = False
    """Rebuild each run from the files an earlier invocation left in `workdir` (a run without
    result.json counts as timed out) instead of running it again."""

    def say(self, text: str) -> None:
        print(text, file=self.log or sys.stderr, flush=True)


@dataclass(slots=True)
class Job:
    """One scenario's inputs, shared by its contenders: ids, truth and the floor."""

    scenario: Scenario
    ids_file: Path
    truth: verify.Truth
    floor_requests: int

    def floor_seconds(self, rate: float) -> float:
        return self.floor_requests / rate


@dataclass(slots=True)
class Run:
    scenario: str
    contender: str
    repeat: int
    status: str = "ok"
    """ok, failed (the tool errored), timeout, or incomplete (output did not verify)."""
    error: str | None = None
    wall: float = 0.0
    requests: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    http_429: int = 0
    span: float = 0.0
    achieved_rate: float = 0.0
    allowed_rate: float = 0.0
    peak_1s: int = 0
    floor_requests: int = 0
    floor_seconds: float = 0.0
    records: int = 0
    complete: bool = False
    verdict: str = ""
    maxrss_mb: float = 0.0
    tool_floor_requests: int | None = None

    @property
    def rate_ratio(self) -> float:
        return self.achieved_rate / self.allowed_rate if self.allowed_rate else 0.0

    @property
    def time_over_floor(self) -> float:
        return self.wall / self.floor_seconds if self.floor_seconds else 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.wall if self.wall else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            rate_ratio=self.rate_ratio,
            time_over_floor=self.time_over_floor,
            records_per_s=self.records_per_s,
        )
        return d


def available(contender: str) -> str | None:
    """None if the contender can run here, else why not."""
    import importlib

    module = importlib.import_module(f"benchmarks.compare.c_{contender}")
    reason: str | None = module.available()
    return reason


def source_ids(dataset: Dataset, scenario: Scenario, n: int) -> list[str]:
    if scenario.max_sources is not None:
        n = min(n, scenario.max_sources)
    if scenario.dbfrom == "gene":
        return read_ids(GENES_FILE)[:n]
    uid_map = dataset.maps[scenario.dbfrom]
    n = min(n, uid_map.count)
    step = uid_map.count // n if scenario.spread else 1
    return [str(uid_map.uid(i * step)) for i in range(n)]


def floor_requests(truth: verify.Truth, ids: list[str]) -> int:
    """Per chunk of 100 sources: one per-id elink, one neighbor_history, one page per 500
    distinct targets of the chunk."""
    total = 0
    for i in range(0, len(ids), CHUNK):
        targets = {t for s in ids[i : i + CHUNK] for t in truth.links.get(s, [])}
        total += 2 + math.ceil(len(targets) / PAGE)
    return total


def prepare(dataset: Dataset, scenario: Scenario, opts: Options, base: Path) -> Job:
    ids = source_ids(dataset, scenario, opts.sources)
    ids_file = base / f"{scenario.name}.ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    truth = verify.Truth.of(dataset, scenario.linkname, ids)
    return Job(scenario, ids_file, truth, floor_requests(truth, ids))


class Server:
    """`harvester serve` in its own process; the first stdout line gives its URL."""

    def __init__(self, scenario: Scenario, log: Path, opts: Options, seed: int) -> None:
        cmd = [
            sys.executable,
            "-m",
            "harvester",
            "serve",
            "--dataset",
            "large",
            "--port",
            "0",
            "--rate-limit",
            str(RATE_NO_KEY),
            "--key-rate-limit",
            str(RATE_KEY),
            "--latency",
            scenario.latency,
            "--request-log",
            str(log),
            "--seed",
            str(seed),
            "--speedup",
            f"{opts.speedup:g}",
        ]
        if scenario.faults:
            # stall holds a response 150 s by default: shorter here, still past read timeouts
            cmd += ["--faults", scenario.faults, "--stall", "70"]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.err = log.with_suffix(".server.err").open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.err, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "serving E-utilities at" not in line:
            self.stop()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.url = line.rsplit(" ", 1)[-1].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def run_one(job: Job, contender: str, repeat: int, opts: Options, base: Path) -> Run:
    scenario = job.scenario
    workdir = base / scenario.name / contender / str(repeat)
    if not opts.reuse:
        fresh(workdir)
    log = workdir / "requests.jsonl"
    rate = scenario.limit * opts.speedup
    run = Run(scenario.name, contender, repeat, allowed_rate=rate)
    run.floor_requests = job.floor_requests
    run.floor_seconds = job.floor_seconds(rate)
    if opts.reuse and (workdir / "task.json").exists():
        if not (workdir / "result.json").exists():
            run.status, run.error = "timeout", f"did not finish within {opts.timeout:g} s"
            run.wall = opts.timeout
        return _collect(run, workdir, job, contender, None)
    seed = opts.seed * 1000 + repeat
    server = Server(scenario, log, opts, seed)
    try:
        task = Task(
            contender,
            scenario.name,
            server.url,
            scenario.dbfrom,
            scenario.db,
            scenario.linkname,
            scenario.via,
            str(job.ids_file),
            str(workdir),
            scenario.keyed,
            rate,
            opts.speedup,
        )
        task.save(workdir / "task.json")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.pop("NCBI_API_KEY", None)
        with (workdir / "contender.log").open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.compare.launch", str(workdir / "task.json")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
            started = time.perf_counter()
            try:
                proc.wait(opts.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the contender's own session, started above
                proc.wait()
                run.status, run.error = "timeout", f"did not finish within {opts.timeout:g} s"
                run.wall = time.perf_counter() - started
    finally:
        server.stop()
    return _collect(run, workdir, job, contender, proc.returncode)


def fresh(workdir: Path) -> None:
    """An empty directory for one run: what an earlier invocation left in the same --workdir
    would otherwise be measured again (the harvester resumes its finished job in a few requests,
    the server's request log grows)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)


def _collect(run: Run, workdir: Path, job: Job, contender: str, code: int | None) -> Run:
    """A run's figures from what it left in `workdir`: the server's request log, the
    launcher's result and the contender's normalised output, verified against ground truth."""
    log = workdir / "requests.jsonl"
    entries = read_log(log) if log.exists() else []
    run.requests = len(entries)
    run.by_status = {str(k): v for k, v in per_status(entries).items()}
    run.http_429 = sum(1 for e in entries if e.status == 429)
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.endpoint] = counts.get(e.endpoint, 0) + 1
    run.by_endpoint = counts
    times = sorted(e.t for e in entries)
    run.span = times[-1] - times[0] if len(times) > 1 else 0.0
    run.achieved_rate = len(times) / run.span if run.span else 0.0
    run.peak_1s = peak_per_second(entries)
    if run.status == "timeout":
        return run
    result = (
        json.loads((workdir / "result.json").read_text())
        if (workdir / "result.json").exists()
        else {"ok": False, "error": f"launcher exited {code}", "wall": 0.0}
    )
    run.wall = float(result.get("wall", 0.0))
    in_process = contender in ("biopython", "entrezpy", "naive")
    run.maxrss_mb = float(result.get("maxrss_self_mb" if in_process else "maxrss_children_mb", 0.0))
    summary = workdir / "tool_summary.json"
    if summary.exists():
        run.tool_floor_requests = json.loads(summary.read_text()).get("floor_requests")
    verdict = verify.verify(workdir, job.truth)
    run.records, run.complete, run.verdict = verdict.records, verdict.ok, verdict.summary()
    if not result.get("ok"):
        run.status, run.error = "failed", str(result.get("error"))
    elif not verdict.ok:
        run.status = "incomplete"
    return run


def run_all(opts: Options) -> dict[str, Any]:
    skipped = {c: r for c in opts.contenders if (r := available(c)) is not None}
    contenders = [c for c in opts.contenders if c not in skipped]
    for c, reason in skipped.items():
        opts.say(f"skipped {c}: {reason}")
    dataset = Dataset(load_spec("large"))
    tmp = None
    if opts.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="compare-")
        base = Path(tmp.name)
    else:
        base = opts.workdir
        base.mkdir(parents=True, exist_ok=True)
    jobs = {name: prepare(dataset, SCENARIOS[name], opts, base) for name in opts.scenarios}
    plan = list(itertools.product(range(opts.repeats), opts.scenarios, contenders))
    runs: list[Run] = []
    lock = threading.Lock()
    pair_locks = {(s, c): threading.Lock() for s in opts.scenarios for c in contenders}
    timed_out: set[tuple[str, str]] = set()

    def go(item: tuple[int, str, str]) -> None:
        repeat, name, contender = item
        with pair_locks[name, contender]:  # one pair's repeats run in order
            if (name, contender) in timed_out:  # another run could only repeat a lower bound
                opts.say(f"skip  {name} / {contender} / run {repeat + 1}: an earlier run timed out")
                return
            opts.say(f"start {name} / {contender} / run {repeat + 1}")
            try:
                run = run_one(jobs[name], contender, repeat, opts, base)
            except Exception as exc:  # the harness itself failed: record it, carry on
                run = Run(name, contender, repeat, status="failed", error=f"harness: {exc}")
            if run.status == "timeout":
                timed_out.add((name, contender))
        with lock:
            runs.append(run)
        opts.say(
            f"done  {name} / {contender} / run {repeat + 1}: {run.status} {run.wall:.1f} s, "
            f"{run.requests} requests, {run.http_429} x 429, {run.verdict or run.error}"
        )

    for item in plan:
        if item[2] == "harvester":
            go(item)
    others = [item for item in plan if item[2] != "harvester"]
    with ThreadPoolExecutor(max(1, opts.jobs)) as pool:
        list(pool.map(go, others))
    if tmp is not None:
        tmp.cleanup()
    return {
        "options": {
            "sources": opts.sources,
            "repeats": opts.repeats,
            "timeout": opts.timeout,
            "speedup": opts.speedup,
            "jobs": opts.jobs,
            "scenarios": list(opts.scenarios),
            "contenders": list(opts.contenders),
        },
        "skipped": skipped,
        "scenarios": {
            name: {
                **asdict(SCENARIOS[name]),
                "sources": len(jobs[name].truth.links),
                "links": jobs[name].truth.link_count,
                "records": len(jobs[name].truth.fetchable),
                "withdrawn": len(jobs[name].truth.withdrawn),
                "floor_requests": jobs[name].floor_requests,
            }
            for name in opts.scenarios
        },
        "runs": [
            r.as_dict() for r in sorted(runs, key=lambda r: (r.scenario, r.contender, r.repeat))
        ],
        "medians": medians(runs),
    }


MEDIAN_FIELDS = (
    "wall",
    "requests",
    "http_429",
    "achieved_rate",
    "rate_ratio",
    "time_over_floor",
    "records_per_s",
    "maxrss_mb",
    "peak_1s",
)


def medians(runs: list[Run]) -> list[dict[str, Any]]:
    """Per (scenario, contender): medians over the repeats that finished, and how many did."""
    out = []
    key = lambda r: (r.scenario, r.contender)  # noqa: E731
    for (scenario, contender), group in itertools.groupby(sorted(runs, key=key), key):
        group = list(group)
        done = [r for r in group if r.status != "timeout"]
        row: dict[str, Any] = {
            "scenario": scenario,
            "contender": contender,
            "runs": len(group),
            "finished": len(done),
            "complete": sum(r.complete for r in group),
            "statuses": [r.status for r in group],
            "errors": sorted({r.error or r.verdict for r in group if r.status != "ok"}),
            "floor_requests": group[0].floor_requests,
            "allowed_rate": group[0].allowed_rate,
            "tool_floor_requests": group[0].tool_floor_requests,
        }
        source = done or group
        for name in MEDIAN_FIELDS:
            values = [float(getattr(r, name)) for r in source]
            row[name] = statistics.median(values) if values else None
        out.append(row)
    return out


def quick(opts: Options) -> Options:
    return replace(opts, sources=100, repeats=1, timeout=240.0, jobs=max(opts.jobs, 4))
