"""Outputs that are not a plain new file: stdout, FIFOs, devices and symlinks get the output
written through (never replaced by a regular file); an output that is an input is refused;
two runs that share an output path never sweep each other's temporary files."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.errors import InputError
from harvester.workflow.outfile import temporary_path

ROOT = Path(__file__).resolve().parents[1]
JOB = """\
source: {ids: [3718, 7157]}
dbfrom: gene
db: snp
fields: {SNP_ID: SNP_ID, CHRPOS: CHRPOS}
output: {path: out.jsonl}
endpoint: embedded
policy: custom
rate: 1000
"""


@pytest.fixture
def job(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(JOB)
    return path


@pytest.fixture
def expected(tmp_path: Path, job: Path) -> bytes:
    """The output as a plain file gets it."""
    reference = tmp_path / "reference.jsonl"
    assert main(["run", str(job), "--quiet", "--output", str(reference)]) == 0
    return reference.read_bytes()


def test_output_dash_writes_to_stdout(job, expected, capfd):
    capfd.readouterr()
    assert main(["run", str(job), "--quiet", "--output", "-"]) == 0
    assert capfd.readouterr().out == expected.decode()
    assert (job.parent / "job.harvest" / "summary.json").is_file()  # the job's, not stdout's


def test_output_dev_stdout_writes_to_stdout(job, expected):
    done = subprocess.run(
        [sys.executable, "-m", "harvester", "run", str(job), "--quiet", "--output", "/dev/stdout"],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path, job, expected):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert main(["run", str(job), "--quiet", "--output", str(fifo), "--format", "jsonl"]) == 0
    reader.join(timeout=30)
    assert got == [expected]
    assert fifo.is_fifo()


def test_a_symlink_is_followed_and_stays_a_link(tmp_path, job, expected):
    target = tmp_path / "real" / "target.jsonl"
    target.parent.mkdir()
    target.write_bytes(b"old contents\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert main(["run", str(job), "--quiet", "--output", str(link)]) == 0
    assert link.is_symlink() and link.resolve() == target
    assert target.read_bytes() == expected
    assert (target.parent / "target.jsonl.harvest" / "state.sqlite").is_file()  # the target's
    assert not [p.name for p in target.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("what", ["job file", "id file", "job directory"])
def test_an_output_that_is_an_input_is_refused_and_left_alone(tmp_path, job, capsys, what):
    ids = tmp_path / "ids.txt"
    ids.write_text("3718\n7157\n")
    job.write_text(JOB.replace("{ids: [3718, 7157]}", "{file: ids.txt}"))
    output = {
        "job file": job,
        "id file": ids,
        "job directory": tmp_path / "jobs" / "state.jsonl",
    }[what]
    before = {p: p.read_bytes() for p in (job, ids)}
    args = ["run", str(job), "--quiet", "--output", str(output), "--format", "jsonl"]
    assert main([*args, "--job-dir", str(tmp_path / "jobs")]) == InputError.exit_code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the output {output} is " in err
    assert {p: p.read_bytes() for p in (job, ids)} == before


def test_a_run_never_sweeps_the_temporary_files_of_another_job_directory(tmp_path, job, expected):
    """Two runs, one output, two --job-dir: the second's clean-up of stale temporaries
    leaves the first run's live one alone (and still sweeps its own dead runs' ones)."""
    out = tmp_path / "shared.jsonl"
    pid = f"-{os.getpid()}"
    live = temporary_path(out, tmp_path / "first.harvest")  # as the other run, pid 99999, has it
    live = live.with_name(live.name.replace(pid, "-99999"))
    stale = temporary_path(out, tmp_path / "second.harvest")
    stale = stale.with_name(stale.name.replace(pid, "-99998"))
    for path in (live, stale):
        path.write_bytes(b"half an output\n")
    args = ["run", str(job), "--quiet", "--output", str(out)]
    assert main([*args, "--job-dir", str(tmp_path / "second.harvest")]) == 0
    assert out.read_bytes() == expected
    assert live.read_bytes() == b"half an output\n"
    assert not stale.exists()
