"""Declared field types (int, float, date, str, [kind]), attribute paths and every-value lists:
typed in Parquet, Arrow and JSONL, text as extracted in TSV, null plus a warning for a value
that does not convert. Harvests run on the embedded emulator and the real job store."""

from __future__ import annotations

import datetime
import types
from pathlib import Path
from typing import Any

import pytest

from harvester.errors import ConfigError
from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import Record
from harvester.workflow.field_types import Converter, FieldType, Kind, convert, pandas_types
from harvester.workflow.fields import FieldExtractor, path_problem
from harvester.workflow.runner import RunOptions, run_job
from tests.harvest_helpers import CATALOG, TINY, make_job, read_jsonl

GENES = [3718, 7157, 1000224, 1000261] + [TINY.maps["gene"].uid(i) for i in range(20)]


async def _harvest(tmp: Path, fields: dict[str, Any], suffix: str, **more: Any) -> Any:
    job = make_job(tmp, GENES, fields=fields, output={"path": str(tmp / f"out.{suffix}")}, **more)
    summary = await run_job(job, RunOptions(quiet=True))
    return job, summary


async def _parquet(tmp: Path, fields: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    pq = pytest.importorskip("pyarrow.parquet")
    job, summary = await _harvest(tmp, fields, "parquet")
    return pq.read_table(job.output.path), summary


def _linked(table: Any) -> list[dict[str, Any]]:
    return [row for row in table.to_pylist() if row["target_status"] == "ok"]


async def test_an_int_field_reads_back_as_int64(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    table, _ = await _parquet(tmp_path, {"POS": {"path": "CHRPOS_SORT", "type": "int"}})
    assert table.schema.field("POS").type == pa.int64()
    rows = _linked(table)
    assert rows and all(r["POS"] == CATALOG.records.snp(r["target"]).position for r in rows)


async def test_a_float_field_reads_back_as_double(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    table, _ = await _parquet(tmp_path, {"ID": {"path": "SNP_ID", "type": "float"}})
    assert table.schema.field("ID").type == pa.float64()
    rows = _linked(table)
    assert rows and all(r["ID"] == float(r["target"]) for r in rows)


async def test_a_date_field_reads_back_as_date32(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    table, summary = await _parquet(tmp_path, {"CREATED": {"path": "CREATEDATE", "type": "date"}})
    assert table.schema.field("CREATED").type == pa.date32()
    rows = _linked(table)
    assert rows and all(isinstance(r["CREATED"], datetime.date) for r in rows)
    assert not [w for w in summary["warnings"] if "CREATED" in w]


async def test_a_str_field_stays_text_and_an_undeclared_one_is_unchanged(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    job, _ = await _harvest(plain, {"CHRPOS": "CHRPOS", "GENE": "GENES/GENE_E/NAME"}, "tsv")
    declared = tmp_path / "declared"
    fields = {"CHRPOS": {"path": "CHRPOS", "type": "str"}, "GENE": {"path": "GENES/GENE_E/NAME"}}
    typed, _ = await _harvest(declared, fields, "tsv")
    assert typed.output.path.read_bytes() == job.output.path.read_bytes()


async def test_tsv_keeps_the_text_a_type_converts_elsewhere(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    job, _ = await _harvest(plain, {"POS": "CHRPOS_SORT", "CREATED": "CREATEDATE"}, "tsv")
    typed = tmp_path / "typed"
    fields = {
        "POS": {"path": "CHRPOS_SORT", "type": "int"},
        "CREATED": {"path": "CREATEDATE", "type": "date"},
    }
    other, _ = await _harvest(typed, fields, "tsv")
    assert other.output.path.read_bytes() == job.output.path.read_bytes()
    assert "\t0" in job.output.path.read_text()  # CHRPOS_SORT's zero padding kept in TSV


async def test_jsonl_carries_numbers_and_iso_dates(tmp_path: Path) -> None:
    fields = {
        "POS": {"path": "CHRPOS_SORT", "type": "int"},
        "CREATED": {"path": "CREATEDATE", "type": "date"},
    }
    job, _ = await _harvest(tmp_path, fields, "jsonl")
    records = [link["record"] for doc in read_jsonl(job.output.path) for link in doc["links"]]
    record = next(r for r in records if r is not None)
    assert isinstance(record["POS"], int)
    assert datetime.date.fromisoformat(record["CREATED"])


async def test_a_value_that_does_not_convert_is_null_and_counted(tmp_path: Path) -> None:
    table, summary = await _parquet(tmp_path, {"POS": {"path": "CHRPOS", "type": "int"}})
    rows = _linked(table)
    assert rows and all(r["POS"] is None for r in rows)  # "19:17813929" is no int
    (warning,) = [w for w in summary["warnings"] if w.startswith("field POS:")]
    assert f"{len({r['target'] for r in rows}):,} values are not int" in warning


async def test_several_values_for_one_declared_value_are_null_and_counted(tmp_path: Path) -> None:
    fields = {"GENE": {"path": "GENES/GENE_E/NAME", "type": "str"}}
    table, summary = await _parquet(tmp_path, fields)
    several = [r for r in _linked(table) if len(CATALOG.records.snp(r["target"]).genes) > 1]
    assert several and all(r["GENE"] is None for r in several)
    assert any("records have several values" in w for w in summary["warnings"])


async def test_a_repeated_element_as_a_list_keeps_every_value(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    fields = {"GENES": {"path": "GENES/GENE_E/NAME", "type": ["str"]}}
    table, _ = await _parquet(tmp_path / "p", fields)
    assert table.schema.field("GENES").type == pa.list_(pa.string())
    rows = _linked(table)
    expected = {r["target"]: [n for n, _ in CATALOG.records.snp(r["target"]).genes] for r in rows}
    assert any(len(names) > 1 for names in expected.values())
    assert all(r["GENES"] == expected[r["target"]] for r in rows)
    job, _ = await _harvest(tmp_path / "j", fields, "jsonl")
    links = [link for doc in read_jsonl(job.output.path) for link in doc["links"]]
    assert all(link["record"]["GENES"] == expected[int(link["id"])] for link in links)


async def test_a_repeated_int_element_as_a_list(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    table, _ = await _parquet(tmp_path, {"IDS": {"path": "GENES/GENE_E/GENE_ID", "type": "[int]"}})
    assert table.schema.field("IDS").type == pa.list_(pa.int64())
    rows = _linked(table)
    assert all(r["IDS"] == [g for _, g in CATALOG.records.snp(r["target"]).genes] for r in rows)


async def test_an_attribute_path_takes_the_attribute(tmp_path: Path) -> None:
    job = make_job(
        tmp_path,
        [TINY.maps["snp"].uid(0), 30_000_924],  # the second SNP lies in two genes
        dbfrom="snp",
        db="gene",
        linkname="snp_gene",
        fields={"TYPE": "Entrezgene_type/@value", "CODE": "Entrezgene_type"},
    )
    await run_job(job, RunOptions(quiet=True))
    links = [link for doc in read_jsonl(job.output.path) for link in doc["links"]]
    assert len(links) == 3
    assert all(link["record"]["TYPE"] == "protein-coding" for link in links)
    assert all(link["record"]["CODE"] == "6" for link in links)  # the element's text


def test_an_attribute_path_on_a_captured_gene_record(samples: Path) -> None:
    data = (samples / "biocommons_eutils/efetch_gene_4747.xml").read_bytes()
    extractor = FieldExtractor(
        [
            ("TYPE", "Entrezgene_type/@value"),
            ("KINDS", "Entrezgene_comments/Gene-commentary/Gene-commentary_type/@value"),
            ("NONE", "Entrezgene_type/@nothing"),
        ]
    )
    found = [extractor.values(r) for r in parse_bytes(data, db="gene") if isinstance(r, Record)]
    (values,) = found  # read while streaming: the parser clears a record once it moves on
    assert values["TYPE"] == "protein-coding" and values["NONE"] is None
    assert isinstance(values["KINDS"], list) and "generif" in values["KINDS"]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("Entrezgene_type/@value", None),
        ("@uid", None),
        ("A//@x", "an attribute step follows one element step"),
        ("@x/B", "the attribute step '@x' must be the path's last"),
        ("A/@", "step '@' is not an element name"),
    ],
)
def test_attribute_path_grammar(path: str, problem: str | None) -> None:
    found = path_problem(path)
    assert found == problem if problem is None else found is not None and problem in found


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("0106573465", Kind.INT, 106573465),
        ("-3", Kind.INT, -3),
        ("0.25", Kind.FLOAT, 0.25),
        ("1e-5", Kind.FLOAT, 1e-5),
        ("2000/09/19 17:02", Kind.DATE, datetime.date(2000, 9, 19)),
        ("2024-11-02", Kind.DATE, datetime.date(2024, 11, 2)),
        ("2019 Jan 15", Kind.DATE, datetime.date(2019, 1, 15)),
    ],
)
def test_convert(text: str, kind: Kind, value: object) -> None:
    assert convert(text, kind) == value


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("19:17813929", Kind.INT),
        ("1.5", Kind.INT),
        (str(2**63), Kind.INT),
        ("nan", Kind.FLOAT),
        ("inf", Kind.FLOAT),
        ("2019 Jun", Kind.DATE),  # PubMed's partial date is no whole date
        ("2020/13/01", Kind.DATE),
    ],
)
def test_no_guess(text: str, kind: Kind) -> None:
    converter = Converter([("F", FieldType(kind))])
    assert converter.typed({"F": text}) == {"F": None}
    (warning,) = converter.warnings()
    assert warning.startswith("field F: 1 value is not ")


def test_a_list_field_without_a_match_is_an_empty_list() -> None:
    converter = Converter([("F", FieldType(Kind.INT, many=True))])
    assert converter.typed({"F": None}) == {"F": []}
    assert converter.typed({"F": "7"}) == {"F": [7]}
    assert converter.typed({"F": ["7", "x"]}) == {"F": [7, None]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{path: CHRPOS, type: integer}", "job.yaml:5: 'fields.POS.type' 'integer': a field's"),
        ("{path: CHRPOS, type: [int, str]}", "'fields.POS.type'"),
        ("{path: CHRPOS, kind: int}", "'fields.POS' takes 'path' and 'type', not 'kind'"),
        ("{type: int}", "'fields.POS' must be a path like"),
    ],
)
def test_a_bad_type_is_one_sentence_with_its_line(tmp_path: Path, value: str, message: str) -> None:
    from harvester.config import load_job

    job = tmp_path / "job.yaml"
    job.write_text(
        f"source: {{ids: [3718]}}\ndbfrom: gene\ndb: snp\nfields:\n  POS: {value}\n"
        "output: {path: out.tsv}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_job(job)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_types_are_not_in_the_fields_key(tmp_path: Path) -> None:
    """A type applies when the output is written: changing it re-derives nothing."""
    plain = make_job(tmp_path, fields={"POS": "CHRPOS_SORT"})
    typed = make_job(tmp_path, fields={"POS": {"path": "CHRPOS_SORT", "type": "int"}})
    assert typed.fields_key() == plain.fields_key()
    assert typed.field_types == (("POS", FieldType(Kind.INT)),)


def test_pandas_gets_nullable_integers() -> None:
    """pandas is not installed here: the types_mapper is checked against a stand-in module."""
    pa = pytest.importorskip("pyarrow")
    pd = types.SimpleNamespace(Int64Dtype=lambda: "Int64", Float64Dtype=lambda: "Float64")
    mapper = pandas_types(pa, pd)
    assert mapper(pa.int64()) == "Int64" and mapper(pa.float64()) == "Float64"
    assert mapper(pa.string()) is None  # the default conversion


async def test_duckdb_reads_the_types(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    fields = {
        "POS": {"path": "CHRPOS_SORT", "type": "int"},
        "ID": {"path": "SNP_ID", "type": "float"},
        "CREATED": {"path": "CREATEDATE", "type": "date"},
    }
    pytest.importorskip("pyarrow")
    job, _ = await _harvest(tmp_path, fields, "parquet")
    described = duckdb.sql(f"DESCRIBE SELECT POS, ID, CREATED FROM '{job.output.path}'")
    assert [row[1] for row in described.fetchall()] == ["BIGINT", "DOUBLE", "DATE"]


def test_fields_shows_the_types_a_sample_suggests_and_attribute_paths(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from harvester.cli import main

    assert main(["fields", "snp"]) == 0
    snp = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert snp["CREATEDATE"][0] == "date" and snp["CHRPOS_SORT"][0] == "int"
    assert snp["CHRPOS"] == ["10:106573465"]  # text: no type worth declaring is shown
    assert main(["fields", "gene"]) == 0
    gene = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert gene["Entrezgene_type/@value"] == ["protein-coding"]
    assert gene["Entrezgene_type"] == ["int", "6"]


@pytest.mark.parametrize(
    ("name", "db", "path", "expected"),
    [
        ("biocommons_eutils/efetch_snp_2031_14181.xml", "snp", "CREATEDATE", "2000-09-19"),
        ("eutils_json/esummary.snp.xml", "snp", "CREATEDATE", "2012-06-19"),
    ],
)
def test_captured_dates_convert(
    samples: Path, name: str, db: str, path: str, expected: str
) -> None:
    data = (samples / name).read_bytes()
    extractor = FieldExtractor([("D", path)])
    converter = Converter([("D", FieldType(Kind.DATE))])
    found = [
        converter.typed(extractor.values(r))["D"]
        for r in parse_bytes(data, db=db)
        if isinstance(r, Record)
    ]
    assert found and found[0] == datetime.date.fromisoformat(expected)
    assert not converter.warnings()


async def test_to_arrow_logs_the_values_that_did_not_convert(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("pyarrow")
    from harvester.api import HarvestResult

    job, summary = await _harvest(tmp_path, {"POS": {"path": "CHRPOS", "type": "int"}}, "tsv")
    assert not [w for w in summary["warnings"] if w.startswith("field POS:")]  # TSV: the text
    with caplog.at_level("WARNING", logger="harvester"):
        table = HarvestResult(job, summary).to_arrow()
    assert set(table.column("POS").to_pylist()) == {None}
    assert any("values are not int" in r.getMessage() for r in caplog.records)
