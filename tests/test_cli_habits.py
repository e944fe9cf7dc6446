"""The command line as users type it (issue 28): `-v` and `--log-level` after the subcommand,
`-o` and `-q`, `.json` as a JSON array, a suffix we cannot write refused with the formats, and
`--quiet` saying an unmatched field once."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.workflow.store import Store
from tests.harvest_helpers import TINY, read_jsonl

GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(12)]
JOB = """\
source: {{ids: [{ids}]}}
dbfrom: gene
db: snp
fields: {{SNP_ID: SNP_ID, GENE: {gene}}}
fetch: {{page_size: 5}}
output: {{path: out.jsonl}}
endpoint: embedded
policy: custom
rate: 2000
"""


def job_file(tmp: Path, gene_path: str = "GENES/GENE_E/NAME", ids: list[int] = GENES) -> Path:
    path = tmp / "job.yaml"
    path.write_text(JOB.format(ids=", ".join(map(str, ids)), gene=gene_path))
    return path


def test_verbose_and_log_level_work_after_the_subcommand(tmp_path: Path, capsys) -> None:
    job_dir = tmp_path / "jobdir"
    Store(job_dir / "state.sqlite").close()
    logger = logging.getLogger("harvester.eutils")
    assert main(["status", str(job_dir), "-v"]) == 0
    logger.info("a retry")
    assert "harvester: INFO: a retry" in capsys.readouterr().err
    assert main(["status", str(job_dir), "--log-level", "error"]) == 0
    logger.warning("a warning")
    assert "a warning" not in capsys.readouterr().err
    assert main(["-v", "status", str(job_dir), "-v"]) == 0  # both places add up: -vv
    logger.debug("every detail")
    assert "harvester: DEBUG: every detail" in capsys.readouterr().err
    assert main(["status", str(job_dir)]) == 0  # the default again: warnings only
    logger.info("a retry")
    assert "a retry" not in capsys.readouterr().err


def test_o_and_q_are_output_and_quiet(tmp_path: Path, capsys) -> None:
    job = job_file(tmp_path, ids=[3718])
    assert main(["run", str(job), "-o", str(tmp_path / "jak3.tsv"), "-q"]) == 0
    assert capsys.readouterr().err == ""  # no progress, no summary table
    rows = (tmp_path / "jak3.tsv").read_text().splitlines()
    assert rows[0].startswith("source\t") and len(rows) == 4  # TSV, from -o's suffix
    assert main(["export", str(job), "-o", str(tmp_path / "again.csv"), "--job-dir",
                 str(tmp_path / "jak3.tsv.harvest")]) == 0  # fmt: skip
    assert (tmp_path / "again.csv").read_text().splitlines()[0].startswith("source,")
    assert main(["plan", str(job), "-o", str(tmp_path / "jak3.tsv")]) == 0


def test_json_output_is_one_json_array_of_the_jsonl_objects(tmp_path: Path, capsys) -> None:
    job = job_file(tmp_path)
    assert main(["run", str(job), "-q"]) == 0
    assert main(["export", str(job), "-o", str(tmp_path / "out.json")]) == 0
    assert "wrote 15 sources to" in capsys.readouterr().err
    text = (tmp_path / "out.json").read_text()
    assert json.loads(text) == read_jsonl(tmp_path / "out.jsonl")
    assert text.startswith("[\n{") and text.endswith("}\n]\n")


def test_an_empty_json_output_is_an_empty_array(tmp_path: Path) -> None:
    from harvester.config import OutputFormat, job_from_mapping
    from harvester.workflow.output import write_json_array

    class NoRows:
        def joined(self) -> list[tuple[object, ...]]:
            return []

    job = job_from_mapping(
        {"source": {"ids": [1]}, "dbfrom": "gene", "db": "snp", "output": {"path": "x.json"}},
        base_dir=tmp_path,
    )
    assert job.output.format == OutputFormat.JSON
    assert write_json_array(NoRows(), job) == 0  # type: ignore[arg-type]
    assert json.loads((tmp_path / "x.json").read_text()) == []


@pytest.mark.parametrize("name", ["out.xlsx", "out.xls"])
def test_a_suffix_we_do_not_write_is_refused_with_the_formats(
    tmp_path: Path, capsys, name: str
) -> None:
    job = job_file(tmp_path)
    assert main(["run", str(job), "-o", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    suffix = name.partition(".")[2]
    assert err == (
        f"harvester: error: {job}: the harvester does not write .{suffix} files: name the output "
        ".jsonl, .json, .tsv, .csv, .parquet (a spreadsheet opens .csv and .tsv), or set "
        "output.format\n"
    )
    assert not list(tmp_path.glob("out.*"))


def test_quiet_says_an_unmatched_field_once(tmp_path: Path, capsys) -> None:
    job = job_file(tmp_path, gene_path="GENE/NAME")  # pages of 5: said after the first
    assert main(["run", str(job), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.count("field GENE: path 'GENE/NAME' matched nothing") == 1, err
    assert "closest paths: GENES/GENE_E/NAME" in err
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text())
    assert any("'GENE/NAME' matched nothing" in w for w in summary["warnings"])


def test_without_quiet_the_summary_table_still_names_the_unmatched_field(
    tmp_path: Path, capsys
) -> None:
    job = job_file(tmp_path, gene_path="GENE/NAME")
    assert main(["run", str(job)]) == 0
    err = capsys.readouterr().err
    assert "warning      field GENE: path 'GENE/NAME' matched nothing" in err
