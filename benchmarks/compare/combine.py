"""Joins the results of separate `run` invocations into one report (`python -m benchmarks.compare
report A.json B.json ...`), e.g. the other contenders' slow runs taken early and the harvester's
taken last on a quiet machine.

Each invocation stays a labelled part: its command, stamp, machine, start and options are kept,
and every row says which part produced it. A (scenario, contender) pair comes from one part
only, and a scenario must have the same sources, links and floor in every part, so no median
mixes runs of different invocations or different inputs."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from benchmarks.compare.runner import Run, medians


class CombineError(Exception):
    """The files cannot be joined honestly; the message says why."""


def provenance(results: dict[str, Any], command: str, stamp: str) -> dict[str, Any]:
    """What one invocation records about itself: enough to say where a row came from."""
    return {
        "label": stamp,
        "command": command,
        "stamp": stamp,
        "started": results["started"],
        "elapsed": results["elapsed"],
        "load": results.get("load"),
        "machine": results["machine"],
        "options": results["options"],
        "skipped": results["skipped"],
    }


def load(path: Path) -> dict[str, Any]:
    results: dict[str, Any] = json.loads(path.read_text())
    if not results.get("parts"):
        raise CombineError(
            f"{path}: no recorded command (written before `report` existed); rerun that part"
        )
    return results


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One results dict from several, each run tagged with the part it came from."""
    out_parts: list[dict[str, Any]] = []
    scenarios: dict[str, dict[str, Any]] = {}
    runs: list[dict[str, Any]] = []
    owner: dict[tuple[str, str], str] = {}
    notes: list[str] = []
    parsers: dict[str, Any] = {}
    for results in parts:
        for part in results["parts"]:
            if any(p["label"] == part["label"] for p in out_parts):
                raise CombineError(f"part '{part['label']}' given twice")
            out_parts.append(part)
        for name, scenario in results["scenarios"].items():
            known = scenarios.setdefault(name, scenario)
            if known != scenario:
                raise CombineError(
                    f"scenario {name} differs between parts (sources, links or floor): "
                    "its rows would not be comparable"
                )
        for run in results["runs"]:
            label = run.get("part") or results["parts"][0]["label"]
            pair = (run["scenario"], run["contender"])
            if owner.setdefault(pair, label) != label:
                raise CombineError(
                    f"{pair[0]} / {pair[1]} has runs in parts '{owner[pair]}' and '{label}': "
                    "a row's median must come from one invocation"
                )
            runs.append({**run, "part": label})
        notes += [n for n in results.get("notes", []) if n not in notes]
        if results.get("parsers"):  # the last part that measured parsers gives them
            parsers = {
                "parsers": results["parsers"],
                "parser_repeats": results["parser_repeats"],
                "parsers_from": results.get("parsers_from", results["parts"][-1]["label"]),
            }
    names = {f.name for f in fields(Run)}
    tagged = [Run(**{k: v for k, v in r.items() if k in names}) for r in runs]
    rows = medians(tagged)
    for row in rows:
        row["part"] = owner[row["scenario"], row["contender"]]
    return {
        "parts": out_parts,
        "scenarios": scenarios,
        "runs": runs,
        "medians": rows,
        "notes": notes,
        **parsers,
    }
