"""The CLI's one boundary: an unexpected exception is one line, exit 1 and a crash report in
the job directory that never holds the API key; `--debug` shows the traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harvester import __version__
from harvester.cli import main
from harvester.config import load_job
from harvester.errors import TransportError
from harvester.failure import EXIT_BUG, Failure, describe
from harvester.workflow import cli as harvest_cli

KEY = "0123456789abcdef0123456789abcdef0123"
JOB = """\
source: {ids: [3718]}
dbfrom: gene
db: snp
output: {path: OUT}
endpoint: embedded
"""


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A job whose run hits a bug that puts the key in its message."""
    path = tmp_path / "job.yaml"
    path.write_text(JOB.replace("OUT", str(tmp_path / "out.jsonl")))
    (tmp_path / "out.jsonl.harvest").mkdir()
    monkeypatch.setenv("NCBI_API_KEY", KEY)

    def bug(*_args: object) -> None:
        raise ZeroDivisionError(f"a bug near https://x/efetch.fcgi?api_key={KEY}&db=snp")

    monkeypatch.setattr(harvest_cli, "run", bug)
    return path


def test_a_bug_is_one_line_exit_1_and_a_crash_report_without_the_key(job, capsys):
    assert main(["run", str(job), "--quiet"]) == EXIT_BUG
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and KEY not in err
    found = re.fullmatch(
        r"harvester: error: unexpected ZeroDivisionError: a bug near \S+api_key=\*\*\*&db=snp "
        r"\(a bug; crash report: (\S+); --debug shows the traceback\)\n",
        err,
    )
    assert found, err
    report = Path(found.group(1))
    assert report.parent == job.parent / "out.jsonl.harvest"
    text = report.read_text()
    assert f"harvester {__version__}" in text
    assert load_job(job).semantic_hash() in text
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError" in text
    assert KEY not in text


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_prints_the_traceback_before_the_line(job, capsys, where):
    args = ["--debug", "run", str(job)] if where == "before" else ["run", str(job), "--debug"]
    assert main(args) == EXIT_BUG
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last)")
    assert err.splitlines()[-1].startswith("harvester: error: unexpected ZeroDivisionError")
    assert KEY not in err


def test_debug_shows_the_traceback_of_an_expected_error_too(tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text("source: [")
    assert main(["run", str(job), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.splitlines()[-1].startswith("harvester: error: ")


@pytest.mark.parametrize(
    ("endpoint", "named"),
    [
        ("ncbi", " (server eutils.ncbi.nlm.nih.gov)"),
        ("http://mirror.example:8080/eutils/", " (server mirror.example:8080)"),
        ("embedded", ""),
        ("embedded:large", ""),  # the emulator with another dataset is still no server to name
    ],
)
def test_a_network_failure_names_the_server_unless_it_is_the_embedded_emulator(
    job, endpoint, named
):
    config = load_job(job, {"endpoint": endpoint})
    failure = describe(TransportError("connection refused"), config, [])
    assert failure == Failure(TransportError.exit_code, "connection refused" + named)
