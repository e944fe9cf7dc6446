"""Build jobs in tests and compare a harvest's output with the dataset's ground truth."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import yaml

from harvester.config import JobConfig, job_from_mapping
from harvester.emulator.catalog import Catalog
from harvester.emulator.dataset import Dataset
from harvester.emulator.spec import load_spec

SNP_FIELDS = {
    "SNP_ID": "SNP_ID",
    "CHRPOS": "CHRPOS",
    "GENE": "GENES/GENE_E/NAME",
    "FXN_CLASS": "FXN_CLASS",
    "SNP_CLASS": "SNP_CLASS",
    "TAX_ID": "TAX_ID",
}
TINY = Dataset(load_spec("tiny"))
CATALOG = Catalog(TINY)


def job_mapping(tmp: Path, ids: list[int] | None = None, **overrides: Any) -> dict[str, Any]:
    """A gene -> snp job's keys on the embedded emulator, `overrides` merged in."""
    data: dict[str, Any] = {
        "source": {"ids": ids if ids is not None else [3718]},
        "dbfrom": "gene",
        "db": "snp",
        "linkname": "gene_snp",
        "fields": SNP_FIELDS,
        "output": {"path": str(tmp / "out.jsonl")},
        "endpoint": "embedded",
        "policy": "custom",
        "rate": 2000,
        "concurrency": 8,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_job(tmp: Path, ids: list[int] | None = None, **overrides: Any) -> JobConfig:
    return job_from_mapping(job_mapping(tmp, ids, **overrides), base_dir=tmp)


def write_job_file(tmp: Path, ids: list[int] | None = None, **overrides: Any) -> Path:
    """The same job as a YAML file in `tmp`, for runs of `harvester run` in a subprocess."""
    path = tmp / "job.yaml"
    path.write_text(yaml.safe_dump(job_mapping(tmp, ids, **overrides)))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def expected_snp_fields(uid: int) -> dict[str, Any] | None:
    snp = CATALOG.records.snp(uid)
    if snp is None:
        return None
    genes = [name for name, _ in snp.genes]
    return {
        "SNP_ID": str(uid),
        "CHRPOS": f"{snp.chromosome}:{snp.position}",
        "GENE": None if not genes else genes[0] if len(genes) == 1 else genes,
        "FXN_CLASS": snp.fxn_class or None,
        "SNP_CLASS": snp.snp_class,
        "TAX_ID": str(snp.taxid),
    }


def assert_matches_ground_truth(
    rows: list[dict[str, Any]], sources: list[int], linkname: str = "gene_snp"
) -> None:
    """Every source in order, every link in NCBI's order, every field, missing ones marked."""
    truth = TINY.ground_truth(linkname, sources)
    assert [int(r["source"]) for r in rows] == sources
    for row in rows:
        source = int(row["source"])
        links = truth[source]
        if not TINY.known("gene", source):
            assert row["status"] == "unknown" and row["links"] == []
            continue
        assert row["status"] == ("linked" if links else "no_links")
        assert [int(link["id"]) for link in row["links"]] == [g.target for g in links]
        for got, want in zip(row["links"], links, strict=True):
            if want.has_record:
                assert got["record"] == expected_snp_fields(want.target), want.target
            else:
                assert got["record"] is None and got["missing"] is True


def linked_chunks(store: Path) -> int:
    """Chunks a run has committed to its store (0 while the store is still being made)."""
    try:
        with sqlite3.connect(store) as db:
            return int(db.execute("SELECT count(*) FROM chunks WHERE linked = 1").fetchone()[0])
    except sqlite3.Error:
        return 0
