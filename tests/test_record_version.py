"""The version of a record the cache keys it by, read from real captured NCBI records."""

from __future__ import annotations

from pathlib import Path

from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import Record
from harvester.workflow.record_version import RecordVersion, record_version


def first_version(path: Path, db: str) -> RecordVersion:
    """The first record's version, read while its element is live (the parser clears it next)."""
    for item in parse_bytes(path.read_bytes(), db=db):
        if isinstance(item, Record):
            return record_version(item)
    raise AssertionError(f"no record in {path.name}")


def test_each_format_states_its_modification_date(samples: Path):
    cases = {
        ("biocommons_eutils/efetch_snp_2031_14181.xml", "snp"): "2024/11/02",
        ("biocommons_eutils/efetch_gene_4747.xml", "gene"): "2024/03/17",
        ("biocommons_eutils/efetch_pubmed_1234567.xml", "pubmed"): "2019/10/28",
    }
    for (name, db), modified in cases.items():
        version = first_version(samples / name, db)
        assert version == RecordVersion(modified=modified), name
        assert version.key == modified


def test_a_sequence_is_versioned_by_its_accession_version(samples: Path):
    version = first_version(samples / "biopython/protein2.xml", "protein")
    assert version == RecordVersion("NP_005537.3", "2015/03/15")
    assert version.key == "NP_005537.3"


def test_a_json_docsum_and_a_record_without_dates():
    doc = Record("snp", "1", doc={"uid": "1", "updatedate": "2012-06-19 14:19"})
    assert record_version(doc) == RecordVersion(modified="2012/06/19")
    assert record_version(Record("snp", "1", doc={"uid": "1"})).key is None
