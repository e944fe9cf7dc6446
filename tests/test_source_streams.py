"""Id sources that are streams or endless: `/dev/zero` ends at once in one line (exit 3) in
bounded memory, a FIFO is read once and harvested, and an endless source meets a bound. The
runs are subprocesses under a memory limit and a kill timer, so a regression ends the test,
not the machine."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from harvester import source_ids
from harvester.config import SourceSpec, job_from_mapping
from harvester.errors import InputError
from harvester.workflow import sources
from harvester.workflow.sources import load_source_ids

ROOT = Path(__file__).resolve().parents[1]
JOB = """\
source: {file: SOURCE}
dbfrom: gene
db: snp
linkname: gene_snp
fields: {SNP_ID: SNP_ID}
output: {path: out.jsonl}
endpoint: embedded
policy: custom
rate: 500
"""
ADDRESS_SPACE = 2 << 30
"""The child's address-space limit: a reader without a bound fails here, far below the machine."""
KILL_AFTER = 120.0
"""A safety net for a hung child, not a speed assertion."""


MEASURED = """\
import os, resource, sys
limit, job = int(sys.argv[1]), sys.argv[2]
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(sys.executable, [sys.executable, "-m", "harvester", "run", job, "--quiet"])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)
"""
"""Runs the harvester as its own child and reports its exit code and peak RSS: a process
forked from the test's worker starts with the worker's pages, and Linux counts them in its
peak RSS (exec keeps the high-water mark), so a big pytest worker would read as a big
harvester; a small Python in between forks it from a small process instead."""


def run_harvester(job: Path) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in bytes) of `harvester run JOB --quiet` in a child."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", MEASURED, str(ADDRESS_SPACE), str(job)],
        cwd=job.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # the kill timer ends the harvester with the measuring parent
    )
    timer = threading.Timer(KILL_AFTER, lambda: os.killpg(proc.pid, 9))
    timer.start()
    try:
        out, err = proc.communicate()
    finally:
        timer.cancel()
    code, peak = (int(field) for field in out.split())
    return code, err.decode(), peak


def write_job(tmp_path: Path, source: str) -> Path:
    job = tmp_path / "job.yaml"
    job.write_text(JOB.replace("SOURCE", source))
    return job


def test_dev_zero_as_the_id_file_ends_in_one_line_with_exit_3_in_bounded_memory(
    tmp_path: Path,
) -> None:
    code, err, peak = run_harvester(write_job(tmp_path, "/dev/zero"))
    assert (code, err) == (
        3,
        "harvester: error: /dev/zero:1: the line is longer than 1 MiB "
        "(an id file holds one id a line)\n",
    )
    assert peak < 500 << 20, f"peak RSS {peak >> 20} MiB"


def test_a_fifo_as_the_id_file_is_read_once_and_harvested(tmp_path: Path) -> None:
    fifo = tmp_path / "ids.fifo"
    os.mkfifo(fifo)
    content = b"3718\n7157\n"

    def feed() -> None:  # one writer, once: a second open of the FIFO would wait for ever
        with open(fifo, "wb") as out:
            out.write(content)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        code, err, _ = run_harvester(write_job(tmp_path, "ids.fifo"))
    finally:
        with contextlib.suppress(OSError):  # unblock a writer the child never met
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(5)
    assert code == 0, err
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["source"] for line in lines] == ["3718", "7157"]


def test_the_digest_taken_while_reading_is_the_files_digest(tmp_path: Path) -> None:
    plain = tmp_path / "g.txt"
    plain.write_bytes(b"3718\n# a comment\n7157\n" + b"\n" * 3_000_000)
    table = tmp_path / "g.csv"
    table.write_bytes(b"symbol,gene_id\nJAK3,3718\n" + b"x,7157\n" * 200_000)
    for path, column in ((plain, None), (table, "gene_id")):
        loaded = load_source_ids(SourceSpec(file=path, column=column), job_file=None)
        assert loaded.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        job = job_from_mapping(
            {"source": {"file": str(path), **({"column": column} if column else {})},
             "dbfrom": "gene", "db": "snp", "output": {"path": "o.jsonl"}},
            base_dir=tmp_path,
        )  # fmt: skip
        assert job.semantic_hash(loaded.file_sha256) == job.semantic_hash()


def test_a_csv_line_past_the_bound_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(b"symbol,gene_id\nJAK3,3718\n" + b"x" * (sources.MAX_LINE + 1) + b",1\n")
    with pytest.raises(InputError) as info:
        load_source_ids(SourceSpec(file=path, column="gene_id"), job_file=None)
    assert str(info.value) == (
        f"{path}:3: the line is longer than 1 MiB (an id file holds one id a line)"
    )


def test_an_endless_source_meets_the_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source_ids, "MAX_SOURCE_IDS", 1000)
    monkeypatch.setattr(sources, "MAX_LINES", 2000)
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"1\n" * 1001)  # `yes 1`: one id again and again
    with pytest.raises(InputError, match=r"ids\.txt:1001: more than 1,000 source ids; split"):
        load_source_ids(SourceSpec(file=ids), job_file=None)
    ids.write_bytes(b"\n" * 2001)  # `yes ''`: no id at all
    with pytest.raises(InputError, match=r"ids\.txt:2001: the id file is longer than 2,000"):
        load_source_ids(SourceSpec(file=ids), job_file=None)
