"""The job store under a failing machine: a failed transaction rolls back, every SQLite error
is a `StoreError` (exit 7, one line), a damaged store is left untouched, and a full disk ends
the run cleanly so that running it again once there is space finishes the same output."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.errors import StoreError
from harvester.workflow.outfile import open_output
from harvester.workflow.store import Store
from harvester.workflow.views import StoreView

ROOT = Path(__file__).resolve().parents[1]
JOB = """\
source: {ids: [3718, 7157, 672, 1000006, 1000012, 1000018, 1000023, 1000032, 1000039]}
dbfrom: gene
db: snp
fields: {SNP_ID: SNP_ID, CHRPOS: CHRPOS, GENE: GENES/GENE_E/NAME}
output: {path: out.jsonl}
endpoint: embedded
policy: custom
rate: 1000
"""


def test_a_failed_transaction_rolls_back_and_the_store_stays_usable(tmp_path):
    store = Store(tmp_path / "state.sqlite")
    store.initialise("hash", [3718, 7157], batch=1)
    with pytest.raises(StoreError, match=r"state\.sqlite cannot be used: SQLite failed: UNIQUE"):
        store.initialise("hash", [672, 3718], batch=1)  # 672 goes in, then 3718 clashes
    assert StoreView(store).counts()["sources"] == 2  # 672 rolled back with the rest
    store.commit_records([(5, (b"record", b"<r/>"))])  # not stuck inside a transaction
    store.close()


def _garbage_store(tmp_path: Path) -> bytes:
    job_dir = tmp_path / "out.jsonl.harvest"
    job_dir.mkdir()
    garbage = b"this is not a database, just some bytes a careless copy left here\n" * 200
    (job_dir / "state.sqlite").write_bytes(garbage)
    return garbage


@pytest.mark.parametrize("command", ["run", "status"])
def test_a_garbage_store_is_one_line_exit_7_and_left_untouched(tmp_path, capsys, command):
    garbage = _garbage_store(tmp_path)
    job = tmp_path / "job.yaml"
    job.write_text(JOB.replace("out.jsonl", str(tmp_path / "out.jsonl")))
    code = main([command, str(job)])
    err = capsys.readouterr().err
    assert code == StoreError.exit_code
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "state.sqlite cannot be used: the file is not a harvester job store" in err
    assert (tmp_path / "out.jsonl.harvest" / "state.sqlite").read_bytes() == garbage
    assert not (tmp_path / "out.jsonl").exists()


def _run(cwd: Path, file_size_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """`harvester run` in a child whose files may not grow beyond `file_size_limit` bytes:
    the kernel refuses the write (EFBIG, SIGXFSZ ignored) as a full disk would."""

    def limit() -> None:
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "harvester", "run", "job.yaml", "--quiet"],
        cwd=cwd,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_file_size_limit_ends_in_one_line_and_the_run_resumes_without_it(tmp_path, capsys):
    full, spacious = tmp_path / "full", tmp_path / "spacious"
    for folder in (full, spacious):
        folder.mkdir()
        (folder / "job.yaml").write_text(JOB.replace("out.jsonl", str(folder / "out.jsonl")))
    failed = _run(full, file_size_limit=40_000)
    assert failed.returncode == StoreError.exit_code, failed.stderr
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    assert "a write failed" in failed.stderr and "free space and run again" in failed.stderr
    assert not (full / "out.jsonl").exists()
    assert main(["run", str(full / "job.yaml"), "--quiet"]) == 0
    assert main(["run", str(spacious / "job.yaml"), "--quiet"]) == 0
    assert (full / "out.jsonl").read_bytes() == (spacious / "out.jsonl").read_bytes()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 KiB tmpfs (root only; skipped elsewhere), grown with `mount -o remount,size=`."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_ends_in_one_line_and_the_run_resumes_after_space_is_freed(
    tmp_path, small_disk, capsys
):
    job = tmp_path / "job.yaml"
    job.write_text(JOB.replace("out.jsonl", str(small_disk / "out.jsonl")))
    assert main(["run", str(job), "--quiet"]) == StoreError.exit_code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(r"(job store .* cannot be used|cannot write .*): .*(full|No space)", err), err
    assert not (small_disk / "out.jsonl").exists()
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    assert main(["run", str(job), "--quiet"]) == 0
    reference = tmp_path / "reference.yaml"
    reference.write_text(JOB.replace("out.jsonl", str(tmp_path / "out.jsonl")))
    assert main(["run", str(reference), "--quiet"]) == 0
    assert (small_disk / "out.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()


def test_a_read_only_job_directory_is_one_line_exit_7_and_left_untouched(
    tmp_path, small_disk, capsys
):
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    job = tmp_path / "job.yaml"
    job.write_text(JOB.replace("out.jsonl", str(tmp_path / "out.jsonl")))
    args = ["run", str(job), "--quiet", "--job-dir", str(small_disk / "job")]
    assert main([*args, "--restart"]) == 0
    before = (small_disk / "job" / "state.sqlite").read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    assert main(args) == StoreError.exit_code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "cannot open the job store" in err and "Read-only file system" in err, err
    assert (small_disk / "job" / "state.sqlite").read_bytes() == before


def test_an_output_that_fills_the_disk_is_exit_7_and_leaves_no_temporary(small_disk):
    out = small_disk / "out.tsv"
    full = pytest.raises(StoreError, match=r"cannot write the output .*out\.tsv: No space left")
    with full, open_output(out, text=True, owner=small_disk / "job") as handle:
        for _ in range(1000):
            handle.write("x" * 1000 + "\n")
    assert list(small_disk.iterdir()) == []
