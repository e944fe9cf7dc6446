"""The API key never leaves the environment: not in output, summary, job store (WAL included),
request log, log records, progress or error messages, even when faults force retries and the
server refuses the key. And the emulator keeps to 127.0.0.1 unless told otherwise, and says so."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from harvest_helpers import TINY, make_job
from processes import reaped

from harvester.cli import main
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import EmulatorThread
from harvester.errors import NcbiPermanentError
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job

KEY = "k3ysecretc0ffee4a1b2c3d4e5f60718293a4b5"
"""Shaped like a real key (hex, 36+ characters), so nothing treats it as special."""
GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(80)]
ROOT = Path(__file__).resolve().parents[1]


def files_holding_key(root: Path) -> list[str]:
    return [
        str(p) for p in sorted(root.rglob("*")) if p.is_file() and KEY.encode() in p.read_bytes()
    ]


def write_job(tmp: Path, endpoint: str) -> Path:
    job = tmp / "job.yaml"
    ids = ", ".join(map(str, GENES))
    job.write_text(
        f"source: {{ids: [{ids}]}}\ndbfrom: gene\ndb: snp\nfields: {{SNP_ID: SNP_ID}}\n"
        f"fetch: {{page_size: 20}}\nelink_batch: 10\noutput: {{path: {tmp / 'out.jsonl'}}}\n"
        f"endpoint: {endpoint}\npolicy: custom\nrate: 1000\n"
    )
    return job


@pytest.fixture
def snapshots(tmp_path: Path) -> Iterator[Path]:
    """Copies of the job directory taken while the job runs, so its -wal file is seen too."""
    store = tmp_path / "out.jsonl.harvest" / STORE_NAME
    dest = tmp_path / "snapshots"
    stop = threading.Event()

    def copy_while_running() -> None:
        taken = 0
        while not stop.wait(0.02) and taken < 5:
            wal = store.with_name(STORE_NAME + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                shutil.copytree(store.parent, dest / str(taken), dirs_exist_ok=True)
                taken += 1

    thread = threading.Thread(target=copy_while_running, daemon=True)
    thread.start()
    yield dest
    stop.set()
    thread.join()


def test_the_key_is_nowhere_after_a_run_through_faults(
    tmp_path, monkeypatch, capfd, caplog, snapshots, quick_retries
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    log = tmp_path / "requests.jsonl"
    config = EmulatorConfig(
        api_keys=frozenset({KEY}), faults="mixed:0.1", seed=2, stall_seconds=0.0, request_log=log
    )
    with EmulatorThread(config) as emu:
        assert main(["run", str(write_job(tmp_path, emu.base_url))]) == 0
    out, err = capfd.readouterr()
    assert "retries" in err and "none" not in err.split("retries")[1].splitlines()[0]
    assert log.stat().st_size > 0 and any(snapshots.rglob("*-wal"))
    assert (tmp_path / "out.jsonl.harvest" / STORE_NAME).exists()
    assert files_holding_key(tmp_path) == []
    assert KEY not in out + err + caplog.text
    with sqlite3.connect(tmp_path / "out.jsonl.harvest" / STORE_NAME) as db:  # dumped as text
        assert KEY not in "\n".join(db.iterdump())


def test_the_key_is_nowhere_when_the_server_refuses_it(tmp_path, monkeypatch, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    log = tmp_path / "requests.jsonl"
    config = EmulatorConfig(api_keys=frozenset({"another"}), request_log=log)
    with EmulatorThread(config) as emu:  # NCBI's 400 body echoes the key it refused
        assert main(["run", str(write_job(tmp_path, emu.base_url))]) == 5
    out, err = capfd.readouterr()
    assert "API key invalid" in err
    assert files_holding_key(tmp_path) == []
    assert KEY not in out + err + caplog.text


async def test_the_refusal_and_its_traceback_never_carry_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    job = make_job(tmp_path, GENES[:3])
    refusing = EmulatorConfig(api_keys=frozenset({"another"}))
    with pytest.raises(NcbiPermanentError) as caught:
        await run_job(job, RunOptions(quiet=True, emulator=refusing))
    text = "".join(traceback.format_exception(caught.value))
    assert "API key invalid" in text and KEY not in text + repr(caught.value)
    assert files_holding_key(tmp_path) == []


def test_the_emulator_binds_to_this_machine_by_default():
    assert EmulatorConfig().host == "127.0.0.1"


@pytest.mark.parametrize(
    ("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)], ids=["all", "local"]
)
def test_serve_warns_when_reachable_from_other_machines(host, warned):
    args = ["serve", "--host", host, "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harvester", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    with reaped(proc):  # killed if anything below fails, a hung stop included
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert first.startswith(f"serving E-utilities at http://{host}:")
        if warned:  # printed right after the URL, while serving
            warning = proc.stderr.readline()
            assert warning == (
                "harvester: warning: listening on 0.0.0.0, reachable from other machines\n"
            )
        proc.terminate()
        proc.wait(timeout=30)
    assert "warning" not in proc.stderr.read()
