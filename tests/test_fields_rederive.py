"""Records are kept whole in the job store: changing `fields` (or the output format) gives the
new output with no request, and a field path that matches nothing is named, with the closest
paths that exist, on stderr after the first page and in the summary's warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from harvester.emulator import EmulatorConfig
from harvester.harvest.runner import RunOptions, run_job
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
