"""Records are kept whole in the job store: changing `fields` (or the output format) gives the
new output with no request, and a field path that matches nothing is named, with the closest
paths that exist, on stderr after the first page and in the summary's warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from harvester.cli import main
from harvester.emulator import EmulatorConfig
from harvester.workflow.runner import RunOptions, run_job
from tests.harvest_helpers import TINY, make_job, read_jsonl

GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(12)]
TYPO = {"SNP_ID": "SNP_ID", "GENE": "GENE/NAME"}
FIXED = {"SNP_ID": "SNP_ID", "GENE": "GENES/GENE_E/NAME", "CHRPOS": "CHRPOS"}


def requests_in(log: Path) -> int:
    return len(log.read_bytes().splitlines()) if log.exists() else 0


async def test_changing_fields_rederives_the_output_with_no_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "requests.jsonl"
    options = RunOptions(quiet=True, emulator=EmulatorConfig(request_log=log))
    typo = make_job(tmp_path, GENES, fields=TYPO, fetch={"page_size": 20})
    with caplog.at_level(logging.WARNING, logger="harvester"):
        summary = await run_job(typo, options)
    said = "field GENE: path 'GENE/NAME' matched nothing in 20 records; closest paths: GENES/"
    assert any(r.getMessage().startswith(said) for r in caplog.records)  # after the first page
    assert any("'GENE/NAME' matched nothing" in w for w in summary["warnings"])
    assert all(
        link["record"]["GENE"] is None
        for row in read_jsonl(typo.output.path)
        for link in row["links"]
    )
    sent = requests_in(log)
    assert sent > 0

    fixed = make_job(tmp_path, GENES, fields=FIXED, fetch={"page_size": 20})
    again = await run_job(fixed, options)
    assert requests_in(log) == sent and again["requests_total"] == 0
    assert not any("matched nothing" in w for w in again["warnings"])
    jak3 = next(r for r in read_jsonl(fixed.output.path) if r["source"] == "3718")
    assert [(link["record"]["GENE"], link["record"]["CHRPOS"]) for link in jak3["links"]] == [
        ("JAK3", "19:17813929"),
        ("JAK3", "19:17796625"),
        ("JAK3", "19:17798428"),
    ]


async def test_whole_records_come_back_when_fields_are_dropped(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    options = RunOptions(quiet=True, emulator=EmulatorConfig(request_log=log))
    await run_job(make_job(tmp_path, GENES[:3]), options)
    sent = requests_in(log)
    whole = make_job(tmp_path, GENES[:3], fields=None)
    await run_job(whole, options)
    assert requests_in(log) == sent
    record = read_jsonl(whole.output.path)[0]["links"][0]["record"]
    assert record.startswith("<DocumentSummary") and "<SNP_ID>867174</SNP_ID>" in record
    assert orjson.loads(orjson.dumps(record)) == record


JOB = """\
source: {ids: [3718, 7157]}
dbfrom: gene
db: snp
fields: {SNP_ID: SNP_ID}
output: {path: out.jsonl}
endpoint: embedded
policy: custom
rate: 1000
"""


def test_export_writes_another_format_and_fields_from_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(JOB)
    assert main(["export", str(job_file)]) == 3  # nothing to export yet
    assert "no job store in" in capsys.readouterr().err
    assert main(["run", str(job_file), "--quiet"]) == 0
    # other fields, and an endpoint nothing listens on: export must not need it
    changed = JOB.replace("{SNP_ID: SNP_ID}", "{POS: CHRPOS}").replace(
        "endpoint: embedded", "endpoint: http://127.0.0.1:9/"
    )
    job_file.write_text(changed)
    out = tmp_path / "o.tsv"
    assert main(["export", str(job_file), "--format", "tsv", "--output", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0].endswith("\ttarget_status\tPOS")
    assert "3718\tlinked\tgene_snp\t867174\t\tok\t19:17813929" in rows
    assert f"wrote {len(rows) - 1} rows to {out}" in capsys.readouterr().err


def test_fields_prints_the_paths_of_an_emulated_or_a_stored_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fields", "snp"]) == 0
    emulated = capsys.readouterr().out
    assert "\nGENES/GENE_E/NAME " in emulated and "\nCHRPOS " in emulated
    job_file = tmp_path / "job.yaml"
    job_file.write_text(JOB)
    assert main(["run", str(job_file), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["fields", str(job_file)]) == 0
    stored = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["GENES/GENE_E/NAME", "JAK3"] for line in stored)


async def test_changing_the_output_format_alone_sends_no_request(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    options = RunOptions(quiet=True, emulator=EmulatorConfig(request_log=log))
    await run_job(make_job(tmp_path, GENES[:3]), options)
    sent = requests_in(log)
    tsv = make_job(
        tmp_path, GENES[:3], output={"path": str(tmp_path / "out.jsonl"), "format": "tsv"}
    )
    summary = await run_job(tsv, options)
    assert requests_in(log) == sent and summary["requests_total"] == 0
    assert tsv.output.path.read_text().startswith("source\tsource_status\tlinkname\t")
