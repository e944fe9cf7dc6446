"""The embedded emulator takes a dataset (`endpoint: embedded:large`, `--dataset`), and a run
whose source ids are mostly unknown says so on stderr and in the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.config import load_job
from harvester.errors import ConfigError

JOB = """\
source: {ids: [%s]}
dbfrom: gene
db: snp
fields: {SNP_ID: SNP_ID}
output: {path: out.jsonl}
endpoint: embedded
policy: custom
rate: 1000
"""
LARGE_ONLY = [1133000, 1133007]  # genes 19,000 and 19,001 of the large dataset, not in tiny


def write_job(tmp_path: Path, ids: list[int]) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(JOB % ", ".join(map(str, ids)))
    return path


def test_a_mostly_unknown_run_warns_and_names_the_dataset(tmp_path: Path, capsys) -> None:
    job = write_job(tmp_path, [99_999_991, 99_999_992, 3718])
    assert main(["run", str(job), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: 2 of 3 source ids are unknown to gene at embedded" in err
    assert "embedded:large" in err
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text())
    assert any("2 of 3 source ids are unknown" in w for w in summary["warnings"])


def test_dataset_flag_runs_the_embedded_emulator_on_that_dataset(tmp_path: Path, capsys) -> None:
    job = write_job(tmp_path, LARGE_ONLY)
    assert main(["run", str(job), "--quiet", "--dataset", "large"]) == 0
    assert "warning" not in capsys.readouterr().err
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["status"] for row in rows] == ["linked", "linked"]


def test_endpoint_names_a_dataset_that_must_exist(tmp_path: Path) -> None:
    job = write_job(tmp_path, [3718])
    assert load_job(job, {"endpoint": "embedded:large"}).endpoint == "embedded:large"
    with pytest.raises(ConfigError, match="endpoint 'embedded:huge': dataset 'huge' not found"):
        load_job(job, {"endpoint": "embedded:huge"})
