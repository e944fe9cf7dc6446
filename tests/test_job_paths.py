"""Relative paths in a job file mean beside the job file, so the same job run from another
folder finds its job directory and resumes instead of starting over."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harvester.cli import main

JOB = """\
source: {file: genes.txt}
dbfrom: gene
db: snp
fields: {SNP_ID: SNP_ID}
output: {path: out/genes.jsonl}
endpoint: embedded
policy: custom
rate: 1000
"""


def test_the_same_job_run_from_another_folder_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "genes.txt").write_text("3718\n7157\n")
    (jobs / "job.yaml").write_text(textwrap.dedent(JOB))
    monkeypatch.chdir(jobs)
    assert main(["run", "job.yaml", "--quiet"]) == 0
    first = json.loads((jobs / "out/genes.jsonl.summary.json").read_text())
    assert first["requests_total"] > 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", "../jobs/job.yaml", "--quiet"]) == 0
    again = json.loads((jobs / "out/genes.jsonl.summary.json").read_text())
    assert again["requests_total"] == 0  # resumed a finished job: nothing to ask
    assert not (elsewhere / "out").exists()
