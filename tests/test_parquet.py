"""Parquet output: typed columns (int64 ids and scores, nulls for missing values), and refused
before any request when pyarrow is not installed."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harvester.workflow.runner import RunOptions, run_job
from tests.harvest_helpers import TINY, make_job

GENES = [3718, 7157, 99_999_999] + [TINY.maps["gene"].uid(i) for i in range(30)]


async def test_parquet_is_the_tsv_rows_typed(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    tsv = make_job(tmp_path / "t", GENES, output={"path": str(tmp_path / "t" / "out.tsv")})
    await run_job(tsv, RunOptions(quiet=True))
    parquet = make_job(tmp_path / "p", GENES, output={"path": str(tmp_path / "p" / "o.parquet")})
    await run_job(parquet, RunOptions(quiet=True))
    table = pq.read_table(parquet.output.path)
    assert table.schema.field("source").type == pa.int64()
    assert table.schema.field("target").type == pa.int64()
    assert table.schema.field("score").type == pa.int64()
    with tsv.output.path.open() as handle:
        expected = list(csv.DictReader(handle, delimiter="\t"))
    got = table.to_pylist()
    assert [{k: "" if v is None else str(v) for k, v in row.items()} for row in got] == expected
    unknown = next(row for row in got if row["source"] == 99_999_999)
    assert unknown["target"] is None and unknown["SNP_ID"] is None  # null, not ''


BLOCKED = """\
import sys


class NoPyarrow:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pyarrow":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, NoPyarrow())
from harvester.cli import main
from harvester.emulator import EmulatorConfig, EmulatorThread

with EmulatorThread(EmulatorConfig(request_log=sys.argv[2])) as emu:
    code = main(["run", sys.argv[1], "--endpoint", emu.base_url, "--quiet"])
sys.exit(code)
"""


def test_parquet_without_pyarrow_is_refused_before_any_request(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(
        textwrap.dedent("""\
            source: {ids: [3718]}
            dbfrom: gene
            db: snp
            output: {path: out.parquet}
            policy: custom
            rate: 100
            """)
    )
    log = tmp_path / "requests.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED, str(job), str(log)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("pip install 'harvester[parquet]'")
    assert "Traceback" not in done.stderr
    assert not log.exists() or log.read_text() == ""
    assert not (tmp_path / "out.parquet.harvest").exists()
