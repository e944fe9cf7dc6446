"""Issue #25: sequence records join by every id NCBI gives them (GBSeq names itself by
accession.version and, in GBSeq_other-seqids, by `gi|N`; elink links to gi numbers), on the real
captures and through a harvest on the emulator; esummary answers in NCBI's default version per
db; `fields` takes the db aliases jobs take."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from eutils_raw import call
from harvest_helpers import CATALOG, TINY, make_job, read_jsonl

from harvester.cli import main
from harvester.errors import ConfigError
from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import Record
from harvester.ncbi import esummary_format
from harvester.workflow.runner import RunOptions, run_job

GENES = [7157, 1000023, 1000039, 1000066, 1000073]


def seq_records(data: bytes, db: str | None = None) -> list[Record]:
    return [r for r in parse_bytes(data, db=db) if isinstance(r, Record)]


def test_captured_gbseq_joins_by_the_gi_in_its_other_seqids(samples: Path) -> None:
    recs = seq_records((samples / "biopython/protein2.xml").read_bytes(), db="protein")
    assert [r.uid for r in recs] == ["NP_005537.3", "NP_001098858.1", "NP_034713.2"]
    assert [r.key_among(str.isdigit) for r in recs] == ["15718680", "157427902", "119703751"]
    assert {r.db for r in recs} == {"protein"}


def test_captured_tinyseq_without_gi_joins_targets_that_are_its_accessions(
    samples: Path,
) -> None:
    """Today's TinySeq carries no TSeq_gi: its accession.version is its only key."""
    recs = seq_records((samples / "biopython/nucleotide2.xml").read_bytes())
    targets = {"X60065.1", "CAA42669.1"}
    assert [r.key_among(targets.__contains__) for r in recs] == ["X60065.1", "CAA42669.1"]
    assert [r.key_among(str.isdigit) for r in recs] == [None, None]
    assert [r.db for r in recs] == ["nuccore", "protein"]


def test_tinyseq_with_a_gi_joins_by_it_and_by_its_accession() -> None:
    """Older TinySeq (and any that still has one) names its gi in TSeq_gi."""
    data = (
        b'<TSeqSet><TSeq><TSeq_seqtype value="nucleotide"/><TSeq_gi>31322957</TSeq_gi>'
        b"<TSeq_accver>AY286018.1</TSeq_accver><TSeq_sid>gnl|x|y</TSeq_sid></TSeq></TSeqSet>"
    )
    (rec,) = seq_records(data)
    assert rec.ids == ("AY286018.1", "31322957")
    assert rec.key_among(str.isdigit) == "31322957"
    assert rec.key_among({"AY286018.1"}.__contains__) == "AY286018.1"


def test_a_page_keyed_by_accession_only_still_joins_its_accession_targets() -> None:
    """No gi anywhere, the accession.version only in GBSeq_other-seqids: still joined."""
    data = (
        b"<GBSet><GBSeq><GBSeq_moltype>mRNA</GBSeq_moltype><GBSeq_other-seqids>"
        b"<GBSeqid>ref|NM_000546.6|</GBSeqid></GBSeq_other-seqids></GBSeq>"
        b"<GBSeq><GBSeq_moltype>AA</GBSeq_moltype>"
        b"<GBSeq_accession-version>NP_000537.3</GBSeq_accession-version></GBSeq></GBSet>"
    )
    recs = seq_records(data)
    targets = {"NM_000546.6", "NP_000537.3"}
    assert [r.key_among(targets.__contains__) for r in recs] == ["NM_000546.6", "NP_000537.3"]


def test_seqids_give_their_entrez_id() -> None:
    from harvester.eutils.parse_records import seqid_key

    # a number of another kind (bbs|, bbm|, gim|) is no gi: it must not key the record
    assert [seqid_key(s) for s in ("bbs|123456", "bbm|99", "gim|7")] == ["", "", ""]
    assert [seqid_key(s) for s in ("gi|15718680", "ref|NP_005537.3|", "X1.1", "gnl|db|x")] == [
        "15718680",
        "NP_005537.3",
        "X1.1",
        "",
    ]


@pytest.mark.parametrize(
    ("db", "linkname"), [("nuccore", "gene_nuccore"), ("protein", "gene_protein")]
)
def test_gene_to_sequences_by_efetch_joins_every_record(
    tmp_path: Path, db: str, linkname: str
) -> None:
    job = make_job(tmp_path, GENES, db=db, linkname=linkname, fetch={"via": "efetch"})
    fields = {"ACC": "GBSeq_accession-version", "GI": "GBSeq_other-seqids/GBSeqid[2]"}
    job = dataclasses.replace(job, fields=tuple(fields.items()))
    summary = asyncio.run(run_job(job, RunOptions(quiet=True)))
    counts = summary["counts"]
    assert counts["targets"] > 0
    assert (counts["targets_fetched"], counts["targets_missing"]) == (counts["targets"], 0)
    truth = TINY.ground_truth(linkname, GENES)
    for row in read_jsonl(job.output.path):
        assert [int(link["id"]) for link in row["links"]] == [
            g.target for g in truth[int(row["source"])]
        ]
        for link in row["links"]:
            seq = CATALOG.records.seq(db, int(link["id"]))
            assert seq is not None
            assert link["record"] == {"ACC": seq.accession_version, "GI": f"gi|{link['id']}"}


def test_a_tinyseq_job_is_refused_before_it_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TinySeq records, which name themselves"):
        make_job(tmp_path, GENES, db="nuccore", linkname="gene_nuccore", fetch={"rettype": "fasta"})


def test_fields_accepts_the_nucleotide_alias(capsys: pytest.CaptureFixture[str]) -> None:
    """`fields` takes the names jobs take: nucleotide is nuccore's alias."""
    assert main(["fields", "nuccore"]) == 0
    own = capsys.readouterr().out
    assert main(["fields", "nucleotide"]) == 0
    assert capsys.readouterr().out == own
    assert "GBSeq_accession-version" in own


@pytest.mark.parametrize("db", ["snp", "medgen", "clinvar", "gene"])
def test_esummary_defaults_to_version_2_where_ncbi_does(db: str) -> None:
    """NCBI answers these in the 2.0 shape without `version=` (docs/NCBI_BEHAVIOUR.md)."""
    assert esummary_format(db, None).key == "docsum_v2"
    assert esummary_format(db, "1.0").key == "docsum_v1"
    assert esummary_format("pubmed", None).key == "docsum_v1"


async def test_emulator_answers_snp_esummary_in_the_2_0_shape(emulator, http) -> None:
    status, text = await call(http, emulator.base_url, "esummary", db="snp", id="242")
    assert status == 200 and '<DocumentSummary uid="242">' in text and "<DocSum>" not in text
