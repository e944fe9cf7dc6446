"""The run summary: what was done, how many requests it took, and how that compares with the
time floor (the fewest requests the job's index allows, divided by the allowed rate)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from harvester.config import JobConfig
from harvester.harvest.store import Store
from harvester.stats import Stats


def build_summary(
    job: JobConfig, store: Store, stats: Stats, rate: float, elapsed: float, warnings: Sequence[str]
) -> dict[str, Any]:
    counts = store.counts()
    requests = {k: int(v) for k, v in stats.prefixed("requests").items()}
    total = sum(requests.values())
    floor_requests = store.floor_requests(job.fetch.page_size)
    floor_seconds = floor_requests / rate if rate else 0.0
    return {
        "job": job.name,
        "output": str(job.output.path),
        "format": job.output.format,
        "job_dir": str(job.job_dir),
        "counts": counts,
        "requests": requests,
        "requests_total": total,
        "http_status": {k: int(v) for k, v in stats.prefixed("http").items()},
        "retries": {k: int(v) for k, v in stats.prefixed("retry").items()},
        "bytes_in": int(stats.get("bytes/in")),
        "records_fetched_this_run": int(stats.get("harvest/records")),
        "refetched_by_id": int(stats.get("harvest/refetched")),
        "page_gaps_placed": int(stats.get("harvest/gaps")),
        "output_written_early": bool(stats.get("output/early")),
        "history_size_mismatches": int(stats.get("check/mismatch")),
        "elapsed_seconds": round(elapsed, 3),
        "allowed_rate": rate,
        # n requests are n-1 gate periods apart: the first goes out at once
        "achieved_rate": round((total - 1) / elapsed, 3) if elapsed and total > 1 else 0.0,
        "floor_requests": floor_requests,
        "floor_seconds": round(floor_seconds, 3),
        "time_over_floor": round(elapsed / floor_seconds, 3) if floor_seconds else None,
        "warnings": list(warnings),
        "notes": store.notes(),
    }


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
        f"{summary['achieved_rate']:.2f} req/s (allowed {summary['allowed_rate']:g}/s); "
        f"floor {summary['floor_seconds']:.1f} s for {summary['floor_requests']:,} requests",
        f"output       {summary['output']}",
    ]
    for warning in summary["warnings"]:
        lines.append(f"warning      {warning}")
    print("\n".join(lines), file=file or sys.stderr)
