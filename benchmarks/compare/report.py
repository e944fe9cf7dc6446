"""Writes the results: benchmarks/results/<stamp>.json, benchmarks/RESULTS.md and a PNG chart."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.compare.chart import chart
from harvester.eutils.pacing import DEFAULT_MARGIN

ROOT = Path(__file__).resolve().parents[2]
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
GOALS = (
    "Goals (issue 7): harvester >= 0.97 of the allowed rate with zero 429s, within 1.05x of the "
    "floor, >= 5x faster than the fastest other contender on the benchmark job (bench10); its "
    "parser within 1.25x of bare lxml."
)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    edirect = "not installed"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        edirect = (
            subprocess.run(
                ["einfo", "-version"], capture_output=True, text=True, timeout=20
            ).stdout.strip()
            or "installed (version unknown)"
        )
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "harvester": _version("harvester")
            if _version("harvester") != "not installed"
            else "working tree",
            "aiohttp": _version("aiohttp"),
            "lxml": _version("lxml"),
            "biopython": _version("biopython"),
            "entrezpy": _version("entrezpy"),
            "edirect": edirect,
            "matplotlib": _version("matplotlib"),
        },
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def _f(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _part(results: dict[str, Any], label: str) -> dict[str, Any]:
    part: dict[str, Any] = next(p for p in results["parts"] if p["label"] == label)
    return part


def _timeout(results: dict[str, Any], row: dict[str, Any]) -> float:
    timeout: float = _part(results, row["part"])["options"]["timeout"]
    return timeout


def table(results: dict[str, Any]) -> str:
    several = len(results["parts"]) > 1
    lines = []
    for name, scenario in results["scenarios"].items():
        rows = [m for m in results["medians"] if m["scenario"] == name]
        lines += [
            f"### {name}: {scenario['title']}",
            "",
            f"{scenario['sources']:,} sources, {scenario['links']:,} links, "
            f"{scenario['records']:,} records to fetch ({scenario['withdrawn']} withdrawn targets "
            f"without one); floor {scenario['floor_requests']} requests = "
            f"{rows[0]['floor_requests'] / rows[0]['allowed_rate']:.1f} s at "
            f"{rows[0]['allowed_rate']:g}/s."
            if rows
            else "",
            "",
            "| contender | complete | wall | requests | 429s | achieved / allowed | "
            "time / floor | records/s | peak in 1 s | peak RSS |" + (" part |" if several else ""),
            "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if several else ""),
        ]
        order = sorted(rows, key=lambda m: (m["contender"] != "harvester", m["wall"] or 1e9))
        for m in order:
            done = f"{m['complete']}/{m['runs']}"
            if m["finished"] < m["runs"]:
                late = m["runs"] - m["finished"]
                done += f" ({late} did not finish within {_timeout(results, m):g} s)"
            elif m["complete"] < m["runs"]:
                done += " (" + "; ".join(m["errors"])[:160] + ")"
            prefix = ">= " if m["finished"] == 0 else ""
            lines.append(
                f"| {m['contender']} | {done} | {prefix}{_f(m['wall'], '.1f')} s | "
                f"{_f(m['requests'], '.0f')} | {_f(m['http_429'], '.0f')} | "
                f"{_f(m['rate_ratio'], '.3f')} | {prefix}{_f(m['time_over_floor'], '.2f')}x | "
                f"{_f(m['records_per_s'], ',.0f')} | {_f(m['peak_1s'], '.0f')} | "
                f"{_f(m['maxrss_mb'], '.0f')} MB |" + (f" {m['part']} |" if several else "")
            )
        lines.append("")
    return "\n".join(lines)


def parser_table(parsers: dict[str, Any]) -> str:
    lines = [
        "| page (500 records) | size | ours | bare lxml iterparse | Bio.Entrez.read "
        "| ours / lxml |",
        "|---|---|---|---|---|---|",
    ]
    for page in parsers.values():
        cells = []
        for parser in ("ours", "lxml", "biopython"):
            r = page[parser]
            cells.append(
                "n/a: " + r["error"][:90]
                if "error" in r
                else f"{r['mb_per_s']:.1f} MB/s, {r['records_per_s']:,.0f} rec/s, "
                f"{r['maxrss_mb']:.0f} MB RSS"
            )
        ratio = page.get("ours_over_lxml")
        lines.append(
            f"| {page['description']} | {page['bytes'] / 1e6:.2f} MB | "
            + " | ".join(cells)
            + f" | {_f(ratio, '.2f')}x |"
        )
    return "\n".join(lines)


def goals(results: dict[str, Any]) -> list[str]:
    out = []
    med = {(m["scenario"], m["contender"]): m for m in results["medians"]}
    h = med.get(("bench10", "harvester"))
    if h:
        others = [
            m
            for (s, c), m in med.items()
            if s == "bench10" and c != "harvester" and m["complete"] == m["runs"]
        ]
        fastest = min(others, key=lambda m: m["wall"]) if others else None
        out.append(
            f"- bench10 harvester: achieved/allowed {h['rate_ratio']:.3f} (goal >= 0.97: "
            f"{'met' if h['rate_ratio'] >= 0.97 else 'MISSED'}), 429s {h['http_429']:.0f} (goal 0: "
            f"{'met' if h['http_429'] == 0 else 'MISSED'}), time/floor {h['time_over_floor']:.3f}x "
            f"(goal <= 1.05: {'met' if h['time_over_floor'] <= 1.05 else 'MISSED'})."
        )
        own = h.get("tool_floor_requests")
        if own:
            floor_s = h["floor_requests"] / h["allowed_rate"]
            out.append(f"  - {_bound_note(int(own), h['allowed_rate'], floor_s, h['wall'])}")
        timed_out = [
            m
            for (sc, c), m in med.items()
            if sc == "bench10" and c != "harvester" and m["finished"] == 0
        ]
        if not fastest and timed_out:
            limit = min(_timeout(results, m) for m in timed_out)
            bound = limit / h["wall"]
            out.append(
                f"- bench10 speed-up over the fastest other contender: none of "
                f"{', '.join(m['contender'] for m in timed_out)} finished within {limit:g} s, so "
                f"at least {bound:.1f}x (goal >= 5: {'met' if bound >= 5 else 'not shown'})."
            )
        if fastest:
            speed = fastest["wall"] / h["wall"]
            out.append(
                f"- bench10 speed-up over the fastest other complete contender "
                f"({fastest['contender']}, {fastest['wall']:.1f} s): {speed:.1f}x (goal >= 5: "
                f"{'met' if speed >= 5 else 'MISSED'})."
            )
    out += _big_records(med)
    for name, page in results.get("parsers", {}).items():
        ratio = page.get("ours_over_lxml")
        if ratio:
            out.append(
                f"- parser {name}: {ratio:.2f}x bare lxml (goal <= 1.25: "
                f"{'met' if ratio <= 1.25 else 'MISSED'})."
            )
    return out


def _big_records(med: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """Issue 16: the harvester on NCBI-sized gene records (up to ~1 MB): complete, its memory."""
    h = med.get(("gene_records", "harvester"))
    if not h:
        return []
    done = [
        m
        for (s, c), m in med.items()
        if s == "gene_records" and c != "harvester" and m["complete"] == m["runs"]
    ]
    fastest = min(done, key=lambda m: m["wall"]) if done else None
    return [
        f"- gene_records (efetch of Entrezgene records up to ~1 MB): harvester complete "
        f"{h['complete']}/{h['runs']}, {h['wall']:.1f} s, peak RSS {h['maxrss_mb']:.0f} MB"
        + (
            f"; {fastest['wall'] / h['wall']:.1f}x faster than the fastest other complete "
            f"contender ({fastest['contender']}, {fastest['wall']:.1f} s, "
            f"{fastest['maxrss_mb']:.0f} MB)."
            if fastest
            else "."
        )
    ]


def _bound_note(own: int, rate: float, floor_s: float, wall: float) -> str:
    """How close to that floor the harvester can get at all: the floor counts no size checks,
    and the gate keeps n requests a window of n / (rate x (1 - margin)) seconds apart."""
    lanes = max(1, math.floor(rate))
    last = (own - 1) // lanes * lanes / (rate * (1 - DEFAULT_MARGIN))
    return (
        f"The floor counts no size checks. The harvester's own plan, with the one size check "
        f"per History entry that issue 5 requires, is {own} requests ({own / rate:.1f} s; "
        f"{wall / (own / rate):.3f}x of it), and its gate's {DEFAULT_MARGIN:.0%} margin lets "
        f"the last of them leave {last:.1f} s after the first at the earliest: "
        f"{last / floor_s:.3f}x of the floor before that request is answered."
    )


def write(
    results: dict[str, Any], stamp: str, markdown: Path | None = RESULTS_MD
) -> tuple[Path, ...]:
    """results/<stamp>.json and .png; and the report (RESULTS.md) unless `markdown` is None, as
    for a part to combine later."""
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out_dir / f"{stamp}.json", out_dir / f"{stamp}.png"
    json_path.write_text(json.dumps(results, indent=1))
    chart(results, png_path)
    if markdown is None:
        return json_path, png_path
    md = [
        "# Benchmark: the harvester against other E-utilities clients (issue 7)",
        "",
        *provenance_text(results),
        "Every run had a fresh `harvester serve` process (large dataset, NCBI's limits enforced: "
        "3/s per address, 10/s per api_key) and the contender in its own process, with the "
        "part's timeout. Requests, 429s, achieved rate "
        "(requests / (last arrival - first arrival)) and peak in any 1 s come from the server's "
        "request log; wall time and peak RSS from the contender's process (EDirect, the harvester:"
        " the largest single child process); records/s counts verified records. Floor = "
        "minimum requests (per 100 sources: 1 elink + 1 neighbor_history + one page per 500 "
        "distinct targets) / allowed rate. 'complete' counts runs whose output matched ground "
        "truth exactly (links per source, every fetchable record once, no withdrawn SNP).",
        "",
        table(results),
    ]
    if results.get("parsers"):
        md += [
            "### Parser throughput",
            "",
            "Pages of 500 records rendered by the emulator (large dataset); median of "
            f"{results['parser_repeats']} parses after a warm-up, each parser in its own process "
            "(peak RSS includes the interpreter and the page). The ours / lxml column is the "
            "ratio of medians from one more process that alternates the two parsers, so drift "
            "in the machine's speed between processes does not enter it."
            + (
                f" Measured in part {results['parsers_from']}." if len(results["parts"]) > 1 else ""
            ),
            "",
            parser_table(results["parsers"]),
            "",
        ]
    md += ["### Goals", "", GOALS, "", *goals(results), ""]
    notes = results.get("notes") or []
    if notes:
        md += ["### Notes", "", *[f"- {n}" for n in notes], ""]
    md += [
        f"Raw figures: `benchmarks/results/{stamp}.json`; chart: `benchmarks/results/{stamp}.png`.",
        "",
    ]
    markdown.write_text("\n".join(md))
    return json_path, markdown, png_path


def provenance_text(results: dict[str, Any]) -> list[str]:
    """Per invocation (part): its command, machine, start and how its runs were taken."""
    parts = results["parts"]
    several = len(parts) > 1
    md = [
        "Generated by `benchmarks/compare` (do not edit by hand) from "
        + (
            f"{len(parts)} invocations, joined by `python -m benchmarks.compare report`; the "
            "'part' column names the invocation that produced each row. Commands, from the "
            "repository root:"
            if several
            else "one invocation. Command, from the repository root:"
        ),
        "",
    ]
    for part in parts:
        m, opts = part["machine"], part["options"]
        skipped = part["skipped"]
        md += [
            f"    {part['command']}",
            "",
            (f"Part {part['label']}: " if several else "")
            + f"contenders {', '.join(opts['contenders'])}; scenarios "
            f"{', '.join(opts['scenarios'])}. Machine: {m['cpu']}, nproc = {m['nproc']}, "
            f"{m['platform']}; Python {m['python']}; "
            + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
            + f"; git {m['git']} plus the working tree. Started {part['started']}, took "
            f"{part['elapsed'] / 60:.1f} min"
            + (
                f" (load average {part['load'][0]:.1f} at the start, {part['load'][1]:.1f} at the "
                "end)"
                if part.get("load")
                else ""
            )
            + ". Each figure is the median of up to "
            f"{opts['repeats']} run(s) taken in this invocation, speed-up {opts['speedup']:g}, "
            f"timeout {opts['timeout']:g} s. "
            + (
                f"Non-harvester runs overlapped {opts['jobs']} at a time (each with its own "
                f"server, on {m['nproc']} cores)"
                + (
                    "; harvester runs had the machine alone."
                    if "harvester" in opts["contenders"]
                    else "."
                )
                if opts["jobs"] > 1
                else "Runs were strictly one at a time."
            )
            + " Skipped: "
            + ("; ".join(f"{c}: {r}" for c, r in skipped.items()) or "none")
            + ".",
            "",
        ]
    return md
