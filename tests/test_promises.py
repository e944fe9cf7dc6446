"""Small promises the README makes about failures: each message names what failed, the right
thing, and never a secret; each was broken before (issue 27)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import tempfile
from pathlib import Path

import pytest
from aiohttp import web

from harvester import errors
from harvester.cli import main
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import EmulatorThread
from harvester.errors import ParseError
from harvester.failure import write_crash_report
from harvester.workflow.runner import RunOptions, run_job
from tests.eutils_helpers import fast_client, fault_server
from tests.harvest_helpers import make_job

ROOT = Path(__file__).resolve().parents[1]
JOB = """\
source: {{ids: [3718, 7157]}}
dbfrom: gene
db: snp
linkname: gene_snp
fields: {{SNP_ID: SNP_ID}}
output: {{path: {out}}}
endpoint: {endpoint}
policy: custom
rate: 500
"""


def _cli(tmp: Path, capsys: pytest.CaptureFixture[str], out: str, endpoint: str) -> tuple[int, str]:
    job = tmp / "job.yaml"
    job.write_text(JOB.format(out=out, endpoint=endpoint))
    code = main(["run", str(job), "--quiet"])
    return code, capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_an_output_on_a_full_device_names_the_output_not_the_job_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _cli(tmp_path, capsys, "/dev/full", "embedded")
    assert code == errors.StoreError.exit_code
    assert err.startswith("harvester: error: cannot write the output /dev/full: "), err
    assert err.count("\n") == 1


def test_a_read_only_output_file_is_refused_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("kept\n")
    out.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    code, err = _cli(tmp_path, capsys, str(out), "embedded")
    assert code == errors.InputError.exit_code
    assert f"the output {out} is read-only" in err and err.count("\n") == 1
    assert out.read_text() == "kept\n"


def test_a_password_in_the_endpoint_url_is_written_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EmulatorThread(EmulatorConfig()) as emu:
        endpoint = emu.base_url.replace("http://", "http://harvest:s3cretpw@")
        code, err = _cli(tmp_path, capsys, str(tmp_path / "out.jsonl"), endpoint)
    assert code == 0, err
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "job.yaml"]
    assert any(p.name == "einfo.json" for p in written)
    for path in written:
        assert b"s3cretpw" not in path.read_bytes(), path
    cache = json.loads(next(p for p in written if p.name == "einfo.json").read_text())
    assert cache["endpoint"].startswith("http://harvest:***@127.0.0.1:")
    assert "s3cretpw" not in err


async def _einfo_error(body: bytes, headers: dict[str, str]) -> ParseError:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers=headers)

    async with fault_server(answer) as base, fast_client(base, max_attempts=2) as client:
        with pytest.raises(ParseError) as caught:
            await client.einfo()
        stats = client.stats.snapshot()
    assert stats.get("requests/einfo") == 2  # retried first
    return caught.value


async def test_a_body_labelled_gzip_that_is_not_gzip_is_reported_as_such() -> None:
    error = await _einfo_error(
        b"<eInfoResult><DbList/></eInfoResult>" * 4, {"Content-Encoding": "gzip"}
    )
    assert "labelled gzip (Content-Encoding) but could not be decoded" in str(error)
    assert "cut off" not in str(error)


async def test_an_html_page_where_xml_was_expected_names_the_utility() -> None:
    page = b"<!DOCTYPE html><html><body>Please log in</body></html>"
    error = await _einfo_error(page, {"Content-Type": "text/html"})
    assert str(error) == "HTML page where XML was expected from einfo"


async def test_an_html_page_read_whole_names_the_utility_too() -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"<html><body>no</body></html>", content_type="text/html")

    async with fault_server(answer) as base, fast_client(base, max_attempts=1) as client:
        with pytest.raises(ParseError, match=r"^HTML page where XML was expected from efetch$"):
            await client.efetch_raw("gene", ids=["1"], rettype="uilist", retmode="text")


def test_einfo_retries_are_counted_in_the_summary(tmp_path: Path, quick_retries: None) -> None:
    job = make_job(tmp_path, [3718])
    emulator = EmulatorConfig(faults="503@einfo:1:#1-1")  # einfo's first answer only
    summary = asyncio.run(run_job(job, RunOptions(quiet=True, emulator=emulator)))
    assert summary["retries"].get("http_503") == 1


def test_a_crash_before_the_job_directory_exists_is_reported_where_the_readme_says(
    tmp_path: Path,
) -> None:
    job = make_job(tmp_path, [3718], job_dir=str(tmp_path / "not-yet"))
    report = write_crash_report(RuntimeError("boom"), job, ["run", "job.yaml"])
    try:
        assert not (tmp_path / "not-yet").exists()
        readme = " ".join((ROOT / "README.md").read_text().split())
        assert (
            "the system's temporary folder when the crash comes before the job directory exists"
            in readme
        )
        assert report.parent == Path(tempfile.gettempdir())
    finally:
        report.unlink()
