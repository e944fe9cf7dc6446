"""The command line: `serve` announces its URL and stops cleanly on Ctrl-C; `demo` runs the
seed's workflow end to end; errors are one line and an exit code."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from processes import ctrl_c_default, reaped

from harvester.cli import main


def test_serve_prints_its_url_first_and_stops_on_ctrl_c():
    proc = subprocess.Popen(
        [sys.executable, "-m", "harvester", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_default,
    )
    with reaped(proc):  # killed if anything below fails, a hung Ctrl-C included
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        m = re.fullmatch(r"serving E-utilities at (http://127\.0\.0\.1:\d+/entrez/eutils/)", first)
        assert m, first
        with urllib.request.urlopen(f"{m.group(1)}einfo.fcgi", timeout=10) as response:
            assert b"<DbName>gene</DbName>" in response.read()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_run_the_readme_demo_job_then_status_and_plan(tmp_path: Path, capsys):
    out = tmp_path / "demo.jsonl"
    job = Path(__file__).resolve().parents[1] / "configs" / "jobs" / "demo_genes_snps.yaml"
    assert main(["run", str(job), "--output", str(out), "--policy", "custom", "--rate", "500"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    jak3 = next(r for r in rows if r["source"] == "3718")
    assert [
        (link["id"], link["record"]["CHRPOS"], link["record"]["GENE"]) for link in jak3["links"]
    ] == [
        ("867174", "19:17813929", "JAK3"),
        ("11888", "19:17796625", "JAK3"),
        ("3008", "19:17798428", "JAK3"),
    ]
    err = capsys.readouterr().err
    assert f"output       {out}" in err
    assert main(["status", str(tmp_path / "demo.jsonl.harvest")]) == 0
    assert "state          finished" in capsys.readouterr().out
    assert main(["plan", str(job), "--output", str(out)]) == 0  # its einfo cache beside `out`
    assert "elink          1 requests" in capsys.readouterr().out


def test_unknown_dataset_is_one_line_and_exit_2(capsys):
    code = main(["serve", "--dataset", "no-such-dataset"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "dataset 'no-such-dataset' not found" in err
