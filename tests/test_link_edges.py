"""`harvester link` at its edges: an id file that is a pipe is read once, a search to stdout
is asked again rather than replayed from the cache, --quiet says a warning once, and --name is
a name, not a path; the pacing ledger names no password and ignores times it cannot own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harvester.eutils.gates import GateKey
from harvester.eutils.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--endpoint", "embedded", "--policy", "custom", "--rate", "500"]


def _link(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "harvester", "link", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=120,
    )


def test_an_id_file_that_is_a_pipe_is_read_once(tmp_path: Path) -> None:
    fifo = tmp_path / "ids"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"printf '3718\\n7157\\n' > {fifo}"])
    try:
        done = _link(tmp_path, "gene", "snp", str(fifo), "--fields", "SNP_ID", *FAST, "-q")
    finally:
        writer.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    sources = {line.split("\t")[0] for line in done.stdout.splitlines()[1:]}
    assert sources == {"3718", "7157"}


def test_a_search_to_stdout_is_asked_again_not_replayed(tmp_path: Path) -> None:
    args = ["gene", "snp", "--term", "JAK3[gene]", "--fields", "SNP_ID", *FAST]
    first = _link(tmp_path, *args)
    second = _link(tmp_path, *args)
    assert first.returncode == second.returncode == 0, second.stderr
    assert first.stdout == second.stdout
    assert "resumed" not in second.stderr.lower()  # the search was run again


def test_quiet_says_an_unmatched_field_once(tmp_path: Path) -> None:
    done = _link(
        tmp_path, "gene", "snp", "--ids", "3718", "--fields", "NOPE", "--page-size", "2",
        *FAST, "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("field NOPE") == 1, done.stderr


def test_a_name_is_not_a_path(tmp_path: Path) -> None:
    done = _link(tmp_path, "gene", "snp", "--ids", "3718", "--name", "../x", *FAST)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


def test_a_gate_key_names_no_password() -> None:
    key = GateKey.of("http://alice:s3cret@127.0.0.1:9/entrez/eutils/", None)
    assert key.host == "127.0.0.1:9"


def test_ledger_times_past_now_are_not_ours(tmp_path: Path) -> None:
    now = [5000.0]
    ledger = Ledger(tmp_path / "l", lambda: now[0])
    ledger._fd = os.open(ledger.path, os.O_RDWR | os.O_CREAT)
    try:
        for _ in range(3):  # written by another boot or machine, "in the future"
            with ledger._times() as times:
                times.append(now[0] + 3600)
        assert ledger.reserve(3, 1.0) == 0.0  # not an hour's wait
    finally:
        ledger.close()
