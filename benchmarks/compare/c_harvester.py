"""The harvester, as its README runs a job: `harvester run JOB.yaml --policy ncbi` (the key from
NCBI_API_KEY), JSONL output. The job file is written per run: the task's ids, `elink_batch: 100`
and efetch/esummary pages of 500 (the floor's page size); no `concurrency`: the harvester sizes
its requests in flight from the latency it sees (its default ceiling, 64), as a new user's
job file would leave it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.compare.common import PAGE, Task, write_normalised

ROOT = Path(__file__).resolve().parents[2]


def available() -> str | None:
    try:
        import harvester  # noqa: F401
    except ImportError as exc:
        return f"harvester not importable ({exc})"
    return None


def job_yaml(task: Task) -> str:
    return "\n".join(
        [
            f"name: compare-{task.scenario}",
            f"source: {{file: {task.ids_file}}}",
            f"dbfrom: {task.dbfrom}",
            f"db: {task.db}",
            f"linkname: {task.linkname}",
            f"fetch: {{via: {task.via}, page_size: {PAGE}}}",
            "elink_batch: 100",
            f"output: {{path: {task.path('harvest.jsonl')}}}",
            f"endpoint: {task.base_url}",
            "",
        ]
    )


def command(task: Task) -> list[str]:
    cmd = [sys.executable, "-m", "harvester", "run", str(task.path("job.yaml")), "--quiet"]
    if task.speedup == 1.0:
        cmd += ["--policy", "ncbi"]
    else:  # smoke runs only: the emulator's limits are scaled, so the pacing must be too
        cmd += ["--policy", "custom", "--rate", f"{task.rate:g}"]
    return cmd


def work(task: Task) -> None:
    task.path("job.yaml").write_text(job_yaml(task))
    env = task.env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with task.path("harvester.err").open("wb") as err:
        done = subprocess.run(command(task), cwd=ROOT, env=env, stdout=err, stderr=err)
    if done.returncode != 0:
        raise RuntimeError(f"harvester run exited {done.returncode} (see harvester.err)")


def normalise(task: Task) -> None:
    index: dict[str, list[str]] = {}
    records: dict[str, None] = {}  # a target shared by several sources is one record
    with task.path("harvest.jsonl").open("rb") as lines:
        for line in lines:
            row = json.loads(line)
            links = [link for link in row.get("links", []) if link["linkname"] == task.linkname]
            index[str(row["source"])] = [str(link["id"]) for link in links]
            records.update(
                (str(link["id"]), None)
                for link in links
                if link.get("record") is not None and not link.get("missing")
            )
    write_normalised(task, index, records)
    summary = Path(str(task.path("harvest.jsonl")) + ".summary.json")
    if summary.exists():
        (task.path("tool_summary.json")).write_text(summary.read_text())
