"""Real jobs, run by `harvester run`, against real NCBI answers replayed over loopback.

Where the client and the emulator agree, a test proves little (issue #25): here every record
and every captured elink answer is NCBI's own bytes, with NCBI's headers (tests/replay.py). Each
job must exit 0 with every captured record joined to its source, its fields read from the
capture by lxml here (not by the harvester's code); ids no capture holds are answered as NCBI
answers a PMID it has no record for (left out of the set), so those, and only those, are
"missing".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from harvester.cli import main
from tests.harvest_helpers import read_jsonl
from tests.replay import ReplayData, ReplayServer
from tests.replay_captures import SHAPES, RecordSet, capture_links, load_capture, split_records

BIOCOMMONS = "biocommons_eutils"
PMID_OF_GENE_4747 = 12432080
"""The first PubMed reference in gene 4747's own record: a PMID NCBI links to gene 4747."""
PROTEIN_GIS = {3702: 15718680, 522311: 157427902, 16428: 119703751}
"""protein2.xml's three GBSeqs by the GeneID of their CDS feature and their `gi|N`."""
TSEQ_GI = {"X60065.1": 5}
"""nucleotide2.xml names its TSeqs only by accession (no TSeq_gi); X60065.1 is given gi 5 here,
the gi Biopython's test fetched it by (not checked against NCBI)."""
APOH_COW = 281631
"""A gene id standing for X60065.1's gene (bovine beta-2-glycoprotein I): not checked."""


@pytest.fixture
def replay_data(samples: Path) -> ReplayData:
    """The captures, with the links that point at them (NCBI's own where a capture has them)."""
    bio, py = samples / BIOCOMMONS, samples / "biopython"
    fetch_headers = bio / "efetch_pubmed_1234567.xml"  # biopython's bodies came without headers
    elink = load_capture(bio / "elink_pubmed_1234567_neighbor.xml")
    pubmed_links = capture_links(elink.body)
    links: dict[tuple[str, str], dict[int, list[int]]] = {
        ("gene", "gene_snp"): {85364: [14181, 2031]},  # both SNPs' GENE_ID (ZCCHC3)
        ("pubmed", "pubmed_gene"): {PMID_OF_GENE_4747: [4747]},
        ("gene", "gene_protein"): {gene: [gi] for gene, gi in PROTEIN_GIS.items()},
        ("gene", "gene_nuccore"): {APOH_COW: [TSEQ_GI["X60065.1"]]},
    }
    for name, targets in pubmed_links.items():
        links[("pubmed", name)] = {1234567: targets}
    pubmed = split_records(load_capture(bio / "efetch_pubmed_1234567.xml"), SHAPES["pubmed"])
    return ReplayData(
        links=links,
        link_lists={  # pubmed's lacks _citedin, _combined, _five, ... as NCBI's does (§7)
            "pubmed": [
                ("pubmed_gene", "gene"),
                ("pubmed_pubmed", "pubmed"),
                ("pubmed_pubmed_alsoviewed", "pubmed"),
                ("pubmed_pubmed_bookrecords", "pubmed"),
                ("pubmed_pubmed_refs", "pubmed"),
            ],
            "gene": [
                ("gene_nuccore", "nuccore"),
                ("gene_protein", "protein"),
                ("gene_pubmed", "pubmed"),
                ("gene_snp", "snp"),
            ],
        },
        records={
            "snp": split_records(load_capture(bio / "efetch_snp_2031_14181.xml"), SHAPES["snp"]),
            "gene": split_records(load_capture(bio / "efetch_gene_4747.xml"), SHAPES["gene"]),
            "pubmed": pubmed,
            "protein": split_records(
                load_capture(py / "protein2.xml", fetch_headers), SHAPES["gbseq"]
            ),
            "nuccore": split_records(
                load_capture(py / "nucleotide2.xml", fetch_headers), SHAPES["tseq"], TSEQ_GI
            ),
        },
        captures={
            "einfo": load_capture(bio / "einfo_dblist.xml"),
            "esearch": load_capture(bio / "esearch_medgen_OCRL_usehistory.xml"),
            "elink": elink,
        },
        elink_captures={("pubmed", 1234567): elink},
    )


@pytest.fixture
async def replay(replay_data: ReplayData) -> AsyncIterator[ReplayServer]:
    async with ReplayServer(replay_data) as server:
        yield server


async def run_job(tmp_path: Path, server: ReplayServer, **job: Any) -> list[dict[str, Any]]:
    """`harvester run` on a job file naming the replay server; its JSONL rows (exit 0 asserted)."""
    path = tmp_path / "job.yaml"
    out = tmp_path / "out.jsonl"
    spec = {
        "output": {"path": str(out)},
        "endpoint": server.base_url,
        "policy": "custom",
        "rate": 200,
        **job,
    }
    path.write_text(yaml.safe_dump(spec))
    code = await asyncio.to_thread(main, ["run", str(path), "--quiet"])
    assert code == 0, f"harvester run exited {code}"
    return read_jsonl(out)


def fields_of(record: RecordSet, uid: int, paths: dict[str, str]) -> dict[str, Any]:
    """The captured record's fields, read by lxml from NCBI's bytes."""
    element = etree.fromstring(record.records[uid])
    out: dict[str, Any] = {}
    for name, path in paths.items():
        found = [e.text for e in element.iterfind(_namespaced(element, path))]
        out[name] = None if not found else found[0] if len(found) == 1 else found
    return out


def _namespaced(element: etree._Element, path: str) -> str:
    ns = etree.QName(element).namespace
    return "/".join(f"{{{ns}}}{step}" if ns else step for step in path.split("/"))


def assert_joined(
    rows: list[dict[str, Any]],
    expected: dict[int, list[int]],
    records: RecordSet,
    paths: dict[str, str],
) -> None:
    """Every source linked to its targets in NCBI's order; each target the capture holds carries
    its record's fields, and only the others are missing."""
    assert {int(r["source"]): [int(link["id"]) for link in r["links"]] for r in rows} == expected
    for row in rows:
        assert row["status"] == "linked", row["source"]
        for link in row["links"]:
            uid = int(link["id"])
            if uid in records.records:
                assert not link.get("missing"), f"{uid} is in the capture but marked missing"
                assert link["record"] == fields_of(records, uid, paths), uid
            else:
                assert link.get("missing") is True and link["record"] is None, uid


SNP_FIELDS = {"SNP_ID": "SNP_ID", "GENE": "GENES/GENE_E/NAME", "CHRPOS": "CHRPOS"}
PUBMED_FIELDS = {"PMID": "MedlineCitation/PMID", "TITLE": "MedlineCitation/Article/ArticleTitle"}
GENE_FIELDS = {
    "GENEID": "Entrezgene_track-info/Gene-track/Gene-track_geneid",
    "SYMBOL": "Entrezgene_gene/Gene-ref/Gene-ref_locus",
}
GBSEQ_FIELDS = {"ACC": "GBSeq_accession-version", "LOCUS": "GBSeq_locus"}
TSEQ_FIELDS = {"ACC": "TSeq_accver", "LENGTH": "TSeq_length"}


async def test_gene_snp_joins_the_captured_snp_docsums(
    tmp_path: Path, replay: ReplayServer, replay_data: ReplayData
) -> None:
    rows = await run_job(
        tmp_path, replay, source={"ids": [85364]}, dbfrom="gene", db="snp", fields=SNP_FIELDS
    )
    snp = replay_data.records["snp"]
    assert_joined(rows, {85364: [14181, 2031]}, snp, SNP_FIELDS)
    assert rows[0]["links"][1]["record"]["GENE"] == "ZCCHC3"
    assert "efetch" in replay.gzipped and "elink" in replay.gzipped  # as NCBI sent them


async def test_pubmed_citedin_and_five_from_the_captured_elink(
    tmp_path: Path, replay: ReplayServer, replay_data: ReplayData
) -> None:
    """Two link names, so elink is asked without `linkname` and answered with the capture
    itself; `pubmed_pubmed_citedin` is one einfo does not list, as NCBI's does not."""
    names = ["pubmed_pubmed_citedin", "pubmed_pubmed_five"]
    rows = await run_job(
        tmp_path,
        replay,
        source={"ids": [1234567]},
        dbfrom="pubmed",
        db="pubmed",
        linkname=names,
        fields=PUBMED_FIELDS,
    )
    captured = capture_links(replay_data.elink_captures[("pubmed", 1234567)].body)
    expected = {1234567: [t for name in names for t in captured[name]]}
    assert_joined(rows, expected, replay_data.records["pubmed"], PUBMED_FIELDS)
    assert [link["linkname"] for link in rows[0]["links"]] == [
        name for name in names for _ in captured[name]
    ]
    title = rows[0]["links"][len(captured[names[0]])]["record"]["TITLE"]
    assert title == (  # 1234567's own record, first in its _five list
        "The effect of castration and peroral estrogen therapy on some psychological functions."
    )


async def test_pubmed_gene_joins_the_megabyte_gene_record(
    tmp_path: Path, replay: ReplayServer, replay_data: ReplayData
) -> None:
    rows = await run_job(
        tmp_path,
        replay,
        source={"ids": [PMID_OF_GENE_4747]},
        dbfrom="pubmed",
        db="gene",
        fields=GENE_FIELDS,
    )
    assert_joined(rows, {PMID_OF_GENE_4747: [4747]}, replay_data.records["gene"], GENE_FIELDS)
    assert rows[0]["links"][0]["record"] == {"GENEID": "4747", "SYMBOL": "NEFL"}
    assert replay.requests[-1][0] in ("efetch", "esearch")


async def test_gene_protein_joins_gbseq_records_by_gi(
    tmp_path: Path, replay: ReplayServer, replay_data: ReplayData
) -> None:
    rows = await run_job(
        tmp_path,
        replay,
        source={"ids": list(PROTEIN_GIS)},
        dbfrom="gene",
        db="protein",
        fetch={"rettype": "gp", "retmode": "xml"},
        fields=GBSEQ_FIELDS,
    )
    expected = {gene: [gi] for gene, gi in PROTEIN_GIS.items()}
    assert_joined(rows, expected, replay_data.records["protein"], GBSEQ_FIELDS)


async def test_a_tinyseq_job_is_refused_before_any_request(
    tmp_path: Path, replay: ReplayServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """TinySeq names a record by accession only (NCBI dropped TSeq_gi, as the capture shows),
    while elink answers the gi: nothing could join, so the job is refused up front instead of
    writing every target missing."""
    path = tmp_path / "job.yaml"
    spec = {
        "source": {"ids": [APOH_COW]},
        "dbfrom": "gene",
        "db": "nucleotide",
        "fetch": {"rettype": "fasta", "retmode": "xml"},
        "fields": TSEQ_FIELDS,
        "output": {"path": str(tmp_path / "out.jsonl")},
        "endpoint": replay.base_url,
    }
    path.write_text(yaml.safe_dump(spec))
    code = await asyncio.to_thread(main, ["run", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "TinySeq" in err and "rettype gb" in err
    assert replay.requests == [] and not (tmp_path / "out.jsonl").exists()


def test_the_replay_cuts_nothing_out_of_a_record(replay_data: ReplayData) -> None:
    """The replay's record bytes are the capture's: every record found, none cut short."""
    for db, records in replay_data.records.items():
        for uid, body in records.records.items():
            assert body in records.capture.body, (db, uid)
            etree.fromstring(body)  # whole elements
    assert set(replay_data.records["snp"].records) == {2031, 14181}
    assert set(replay_data.records["protein"].records) == set(PROTEIN_GIS.values())
    assert re.search(rb"<TSeq_gi>", replay_data.records["nuccore"].capture.body) is None
