"""Parquet output: typed columns (int64 ids and scores, nulls for missing values), and refused
before any request when pyarrow is not installed."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.views import JoinedRow
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


def test_the_parquet_writer_is_closed_when_the_join_fails_mid_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ParquetWriter.close() writes the footer and lets go of the file; it ran only when every
    batch was written, so a join failing mid-way (a damaged store) left the writer open until
    the garbage collector found it. Closed as the error passes now."""
    import io

    pq = pytest.importorskip("pyarrow.parquet")
    from harvester.errors import StoreError
    from harvester.workflow.table import write_parquet

    closed_on: list[object] = []

    class Writer(pq.ParquetWriter):  # type: ignore[misc]
        def close(self) -> None:
            if not closed_on:
                closed_on.append(sys.exc_info()[1])  # the error passing, or None (collector)
            super().close()

    monkeypatch.setattr(pq, "ParquetWriter", Writer)

    class FailingJoin:
        def joined(self) -> Iterator[JoinedRow]:
            yield (1, "linked", None, None, None, None, None)
            raise StoreError("the job store is damaged")

    job = make_job(tmp_path, [1])
    with pytest.raises(StoreError, match="damaged") as raised:
        write_parquet(FailingJoin(), job, io.BytesIO())
    assert closed_on == [raised.value]
