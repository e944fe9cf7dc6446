"""Rough edges of a first hour (issue 18, item 9): `status` of a refused or a live run, a host
that cannot be reached, and a refused API key's advice."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import ctrl_c_default, reaped

from harvester.cli import main
from harvester.config import SCHEMA
from harvester.errors import NcbiPermanentError, TransportError
from harvester.eutils.client import EutilsClient
from harvester.eutils.pacing import Gate
from harvester.eutils.retry import InBandError, classify
from harvester.eutils.settings import ClientConfig
from harvester.workflow.store import Store

JOB = """\
source: {term: "no-such-gene-anywhere[GENE]"}
dbfrom: gene
db: snp
output: {path: out.jsonl}
endpoint: embedded
policy: custom
rate: 1000
"""


def test_status_of_a_refused_run_says_not_started(tmp_path: Path, capsys) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(JOB)
    assert main(["run", str(job), "--quiet"]) == 3  # the search finds nothing
    assert "found no records" in capsys.readouterr().err
    assert main(["status", str(job)]) == 0
    assert "state          not started" in capsys.readouterr().out


def test_status_during_a_live_run_says_running(tmp_path: Path, capsys) -> None:
    job_dir = tmp_path / "out.jsonl.harvest"
    live = Store(job_dir / "state.sqlite")  # holds the job directory's lock, as a run does
    try:
        live.initialise("hash", [3718], 1)
        assert main(["status", str(job_dir)]) == 0
        assert "state          running" in capsys.readouterr().out
    finally:
        live.close()
    assert main(["status", str(job_dir)]) == 0
    assert "state          stopped before the end: run the job again" in capsys.readouterr().out


async def test_a_host_never_reached_is_named_and_given_up_on_soon() -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        await asyncio.sleep(0)

    config = ClientConfig(base_url="http://127.0.0.1:9/entrez/eutils/", policy="custom", rate=1e4)
    async with EutilsClient(config, gate=Gate(config.rate_policy()), sleep=sleep) as client:
        with pytest.raises(TransportError, match=r"could not reach 127\.0\.0\.1:9 \(.*refused"):
            await client.einfo()
    assert sum(waited) <= 20.0  # not the minute an outage of a server once reached gets


def test_a_refused_key_points_at_a_setting_that_exists() -> None:
    verdict = classify(InBandError("API key invalid"))
    error = getattr(verdict, "error", None)
    assert isinstance(error, NcbiPermanentError)
    assert "api_key setting" not in str(error)
    assert "NCBI_API_KEY" in str(error) and "api_key_env" in str(error)


def test_verbose_and_log_level_choose_what_goes_to_stderr(tmp_path: Path, capsys) -> None:
    job_dir = tmp_path / "jobdir"
    Store(job_dir / "state.sqlite").close()
    logger = logging.getLogger("harvester.eutils")
    assert main(["-v", "status", str(job_dir)]) == 0
    logger.info("a retry")
    assert "harvester: INFO: a retry" in capsys.readouterr().err
    assert main(["--log-level", "error", "-v", "status", str(job_dir)]) == 0
    logger.warning("a warning")
    assert "a warning" not in capsys.readouterr().err
    assert main(["status", str(job_dir)]) == 0  # the default: warnings
    logger.warning("a warning")
    assert "harvester: WARNING: a warning" in capsys.readouterr().err


def test_the_readme_documents_every_job_key_and_where_names_come_from() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("### Job file reference", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", table, re.M))
    every = {
        f"{section}.{key}" if section else key
        for section, keys in SCHEMA.items()
        for key in keys
        if key not in SCHEMA
    }
    assert every <= documented, sorted(every - documented)
    assert "### Finding link names and field paths" in readme
    assert "harvester fields" in readme and "harvester links" in readme
    assert "--log-level" in readme and "-v" in readme


def test_serve_on_a_busy_port_is_one_line_and_exit_2(capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"harvester: error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(give another --port, or --port 0 for any free one)\n"
    )


def test_ctrl_c_stops_serve_and_its_render_worker_without_a_traceback() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harvester", "serve", "--port", "0", "--render-processes", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
        preexec_fn=ctrl_c_default,
    )
    with reaped(proc):  # the group killed if anything below fails, a hung Ctrl-C included
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("serving E-utilities at ")
        time.sleep(1.0)  # the render worker is up (spawned and built its dataset)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
