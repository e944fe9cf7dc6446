"""The run summary: what was done, how many requests it took, and how that compares with the
time floor (the fewest requests the job's index allows, divided by the allowed rate)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from harvester.config import JobConfig
from harvester.config_keys import embedded_dataset, endpoint_shown
from harvester.stats import Stats
from harvester.workflow.page_plan import planned_page_size
from harvester.workflow.plan import floor_seconds
from harvester.workflow.store import Store
from harvester.workflow.views import StoreView

WINDOW = 1.0
"""NCBI counts requests over a sliding second: at most `rate` of them in any such window."""
THREAD_WORK = ("parse", "store", "pack")
"""The kinds of work the parse thread's CPU is counted by (`Transport.submit`'s `kind`)."""


def achieved_rate(requests: int, elapsed: float) -> float:
    """Requests per second as NCBI's limit bounds them: n requests over the run plus the one
    window they are counted in, so a run the gate kept within the limit never reads above it
    (n / elapsed does for short runs: 5 requests in 1.1 s are within 3/s but read 4.5/s)."""
    return round(requests / (elapsed + WINDOW), 3) if requests else 0.0


def build_summary(
    job: JobConfig,
    store: Store,
    stats: Stats,
    rate: float,
    elapsed: float,
    warnings: Sequence[str],
    resumed: bool = False,
) -> dict[str, Any]:
    """The run's figures; the time floor counts the whole job's requests, so a `resumed` run
    is not compared with it."""
    view = StoreView(store)
    counts = view.counts()
    requests = {k: int(v) for k, v in stats.prefixed("requests").items()}
    total = sum(requests.values())
    # pages as planned from the prior bytes per record: the floor cannot know observed sizes
    floor_requests = view.floor_requests(job.fetch.page_size, planned_page_size(job, None))
    floor_time = floor_seconds(floor_requests, rate)
    acquired, taken = stats.get("gate/acquired"), stats.get("slots/taken")
    return {
        "job": job.name,
        "output": str(job.output.path),
        "format": job.output.format,
        "job_dir": str(job.job_dir),
        "counts": counts,
        "links_by_name": {
            name: view.links_per_name().get(i, 0) for i, name in enumerate(job.linknames)
        },
        "requests": requests,
        "requests_total": total,
        "http_status": {k: int(v) for k, v in stats.prefixed("http").items()},
        "retries": {k: int(v) for k, v in stats.prefixed("retry").items()},
        "bytes_in": int(stats.get("bytes/in")),
        "records_fetched_this_run": int(stats.get("harvest/records")),
        "refetched_by_id": int(stats.get("harvest/refetched")),
        "page_gaps_placed": int(stats.get("harvest/gaps")),
        "hedged_reads": int(stats.get("harvest/hedged")),
        "speculated_when_idle": int(stats.get("harvest/speculated_when_idle")),
        "speculation_failed": int(stats.get("harvest/speculation_failed")),
        "hedges_won": int(stats.get("harvest/hedges_won")),
        "history_size_mismatches": int(stats.get("check/mismatch")),
        "elapsed_seconds": round(elapsed, 3),
        "loop_stall_max_ms": round(stats.get("loop/stall_max_ms"), 1),
        "parse_thread_cpu_s": {
            kind: round(stats.get(f"thread/{kind}_s"), 6) for kind in THREAD_WORK
        },
        "allowed_rate": rate,
        "paced_rate": round(stats.get("gate/rate_sum") / acquired, 3) if acquired else rate,
        "rate_cuts": int(stats.get("gate/rate_cuts")),
        "concurrency_peak": int(stats.get("slots/peak")),
        "concurrency_mean_limit": round(stats.get("slots/limit_sum") / taken, 1) if taken else 0,
        "achieved_rate": achieved_rate(total, elapsed),
        "floor_requests": floor_requests,
        "floor_seconds": round(floor_time, 3),
        "resumed": resumed,
        "time_over_floor": (round(elapsed / floor_time, 3) if floor_time and not resumed else None),
        "warnings": [*warnings, *unknown_sources_warning(job, counts)],
        "notes": view.notes(),
    }


def unknown_sources_warning(job: JobConfig, counts: dict[str, int]) -> list[str]:
    """A run whose source ids are mostly unknown to the endpoint is most likely pointed at the
    wrong database or the wrong emulator dataset: say so, however the run ended."""
    unknown, total = counts["sources_unknown"], counts["sources"]
    if not total or unknown * 2 <= total:
        return []
    where = f"{job.dbfrom} at {endpoint_shown(job.endpoint)}"
    hint = ""
    dataset = embedded_dataset(job.endpoint)
    if dataset is not None:
        dataset = dataset or "tiny"
        hint = (
            f"; the embedded emulator serves its {dataset!r} dataset: choose another with "
            "endpoint: embedded:large (or --dataset large)"
        )
    return [f"{unknown:,} of {total:,} source ids are unknown to {where}{hint}"]


def print_summary(summary: dict[str, Any], file: Any = None) -> None:
    """A short table for people; the JSON file beside the output has everything."""
    c = summary["counts"]
    retries = ", ".join(f"{k} {v}" for k, v in sorted(summary["retries"].items())) or "none"
    lines = [
        f"sources      {c['sources']:>10,}  ({c['sources_without_links']:,} without links, "
        f"{c['sources_unknown']:,} unknown)",
        f"links        {c['links']:>10,}  to {c['targets']:,} distinct targets",
        f"records      {c['targets_fetched']:>10,}  ({c['targets_missing']:,} missing at NCBI)",
        f"requests     {summary['requests_total']:>10,}  "
        + " ".join(f"{k} {v}" for k, v in sorted(summary["requests"].items())),
        f"retries      {retries}",
        f"elapsed      {summary['elapsed_seconds']:>10.1f} s  at "
        f"{summary['achieved_rate']:.2f} req/s (allowed {summary['allowed_rate']:g}/s, "
        f"paced at {summary['paced_rate']:g}/s on average); "
        f"floor {summary['floor_seconds']:.1f} s for {summary['floor_requests']:,} requests"
        + (" (the whole job's; this run resumed it)" if summary.get("resumed") else ""),
        f"loop         longest stall {summary.get('loop_stall_max_ms', 0):.0f} ms "
        "(the most the pacing gate waited on other work)",
        _thread_line(summary.get("parse_thread_cpu_s", {})),
        f"output       {summary['output']}",
    ]
    by_name = summary.get("links_by_name", {})
    if len(by_name) > 1:  # several link names: each one's share, under the links line
        lines.insert(2, f"by name      {', '.join(f'{k} {v:,}' for k, v in by_name.items())}")
    for warning in summary["warnings"]:
        lines.append(f"warning      {warning}")
    print("\n".join(lines), file=file or sys.stderr)


def _thread_line(spent: dict[str, float]) -> str:
    """What the parse thread spent its CPU on (the loop's own CPU is the process's rest)."""
    parse, store, pack = (spent.get(kind, 0.0) for kind in THREAD_WORK)
    total = parse + store + pack
    scale, unit, digits = (1.0, "s", 1) if total >= 1 else (1000.0, "ms", 0)
    return (
        f"parse thread {total * scale:>10.{digits}f} {unit} of CPU: parsing "
        f"{parse * scale:.{digits}f}, store writes {store * scale:.{digits}f}, "
        f"packing {pack * scale:.{digits}f}"
    )
