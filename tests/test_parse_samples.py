"""Every captured NCBI response in ../shared/ncbi-samples parses to the right kinds and uids."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import (
    DbList,
    ErrorResult,
    Item,
    LinkSet,
    PostResult,
    Record,
    SearchResult,
)


def parse(samples: Path, name: str) -> list[Item]:
    return list(parse_bytes((samples / name).read_bytes()))


def uids(items: list[Item]) -> list[str]:
    return [i.uid for i in items if isinstance(i, Record)]


@pytest.mark.parametrize(
    ("name", "db", "expected"),
    [
        ("biocommons_eutils/efetch_snp_2031_14181.xml", "snp", ["2031", "14181"]),
        ("biocommons_eutils/efetch_gene_4747.xml", "gene", ["4747"]),
        ("biocommons_eutils/efetch_pubmed_1234567.xml", "pubmed", ["1234567"]),
        ("biopython/pubmed1.xml", "pubmed", ["12091962", "9997"]),
        ("biopython/esummary1.xml", "", ["11850928", "11482001"]),
        ("eutils_json/esummary.gene.xml", "gene", ["21803"]),
        ("eutils_json/esummary.snp.xml", "snp", ["206676795"]),
        ("eutils_json/esummary.pmcerror.xml", "pmc", ["254085", "1", "14900"]),
        ("eutils_json/esummary.gene.json", "", ["21803"]),
        ("eutils_json/esummary.snp.json", "", ["206676795"]),
        ("eutils_json/esummary.pmcerror.json", "", ["254085", "1", "14900"]),
    ],
)
def test_record_uids(samples: Path, name: str, db: str, expected: list[str]) -> None:
    items = parse(samples, name)
    assert uids(items) == expected
    assert all(isinstance(i, Record) and i.db == db for i in items)


def test_records_are_typed_by_sequence_kind(samples: Path) -> None:
    items = parse(samples, "biopython/nucleotide2.xml")
    assert [(i.db, i.uid) for i in items if isinstance(i, Record)] == [
        ("nuccore", "X60065.1"),
        ("protein", "CAA42669.1"),
    ]


@pytest.mark.parametrize(
    "name", ["eutils_json/esummary.pmcerror.xml", "eutils_json/esummary.pmcerror.json"]
)
def test_per_uid_error_in_esummary(samples: Path, name: str) -> None:
    records = {i.uid: i for i in parse(samples, name) if isinstance(i, Record)}
    assert records["1"].error == "cannot get document summary"
    assert records["254085"].error is None


def test_snp_fields_are_readable_while_streaming(samples: Path) -> None:
    data = (samples / "biocommons_eutils/efetch_snp_2031_14181.xml").read_bytes()
    seen = [
        (r.uid, r.findtext("CHRPOS"), r.findtext("GENES/GENE_E/GENE_ID"))
        for r in parse_bytes(data, db="snp")
        if isinstance(r, Record)
    ]
    assert seen == [("2031", "20:300165", "85364"), ("14181", "20:300027", "85364")]


def test_gene_uid_comes_from_track_info_only(samples: Path) -> None:
    (record,) = parse(samples, "biocommons_eutils/efetch_gene_4747.xml")
    assert isinstance(record, Record) and record.uid == "4747"


def test_elink2_is_one_union_linkset(samples: Path) -> None:
    (linkset,) = parse(samples, "biopython/elink2.xml")
    assert isinstance(linkset, LinkSet)
    assert linkset.ids == ("48819", "7140345")
    assert [(d.linkname, d.links) for d in linkset.dbs] == [("nuccore_protein", ("48820",))]


def test_elink1_has_every_pubmed_pubmed_list(samples: Path) -> None:
    (linkset,) = parse(samples, "biopython/elink1.xml")
    assert isinstance(linkset, LinkSet)
    assert linkset.ids == ("9298984",)
    names = [d.linkname for d in linkset.dbs]
    assert names[0] == "pubmed_pubmed" and len(names) == len(set(names)) > 1
    assert linkset.dbs[0].links[0] == "9298984"  # the input itself first


def test_elink3_and_biocommons_neighbor(samples: Path) -> None:
    (union,) = parse(samples, "biopython/elink3.xml")
    assert isinstance(union, LinkSet) and union.ids == ("11812492", "11774222")
    (single,) = parse(samples, "biocommons_eutils/elink_pubmed_1234567_neighbor.xml")
    assert isinstance(single, LinkSet) and single.ids == ("1234567",)
    assert single.dbs[0].links[:2] == ("1234567", "1065182")


def test_epost_ok_and_error(samples: Path) -> None:
    (ok,) = parse(samples, "biopython/epost1.xml")
    assert ok == PostResult("MCID_692851c130aec64bed0a8c2a", "1")
    (error,) = parse(samples, "biopython/epost2.xml")
    assert error == ErrorResult("Invalid db name specified: nothing", "ERROR")


def test_esearch_with_history(samples: Path) -> None:
    (result,) = parse(samples, "biopython/esearch2.xml")
    assert isinstance(result, SearchResult)
    assert (result.count, result.retmax, result.retstart, result.query_key) == (42249, 100, 0, "1")
    assert result.webenv == "MCID_6927d6e7fee3e90f880ec190"
    assert len(result.ids) == 100 and result.ids[0] == "41297076"
    (medgen,) = parse(samples, "biocommons_eutils/esearch_medgen_OCRL_usehistory.xml")
    assert isinstance(medgen, SearchResult) and medgen.ids[-1] == "18145"


@pytest.mark.parametrize(
    "name", ["eutils_json/esearch.error.xml", "eutils_json/esearch.error.json"]
)
def test_esearch_phrase_not_found(samples: Path, name: str) -> None:
    (result,) = parse(samples, name)
    assert isinstance(result, SearchResult)
    assert result.count == 5163 and len(result.ids) == 20
    assert result.phrases_not_found == ("fleegle[MeSH Terms]",)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("eutils_json/einfo.error.xml", "Can not retrieve DbInfo for db=fleegle"),
        ("eutils_json/einfo.error.json", "Can not retrieve DbInfo for db=fleegle"),
        ("eutils_json/esearch.baderror.xml", "Invalid db name specified: fleegle"),
        ("eutils_json/esearch.baderror.json", "Invalid db name specified: fleegle"),
        ("eutils_json/esummary.error.xml", "Invalid db name specified: fleegle"),
        ("eutils_json/esummary.error.json", "Invalid db name specified: fleegle"),
    ],
)
def test_error_documents(samples: Path, name: str, message: str) -> None:
    (error,) = parse(samples, name)
    assert isinstance(error, ErrorResult) and error.message == message


def test_einfo_dblist(samples: Path) -> None:
    (dblist,) = parse(samples, "biocommons_eutils/einfo_dblist.xml")
    assert isinstance(dblist, DbList) and "snp" in dblist.dbs and "gene" in dblist.dbs


def test_every_sample_parses(samples: Path) -> None:
    files = [p for p in samples.rglob("*") if p.suffix in (".xml", ".json")]
    files = [p for p in files if not p.name.endswith(".headers.json")]
    assert len(files) >= 25
    for path in files:
        assert list(parse_bytes(path.read_bytes())), path
