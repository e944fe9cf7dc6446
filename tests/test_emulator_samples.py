"""The emulator's responses against real captured NCBI responses: same roots, same record and
uid paths, and (nearly) no element NCBI does not send. Skipped when ../shared is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from eutils_raw import SAFE, call
from lxml import etree


def paths(data: bytes) -> set[str]:
    """Every element path in a document, namespaces stripped."""
    root = etree.fromstring(data, SAFE)
    found: set[str] = set()

    def walk(el: etree._Element, prefix: str) -> None:
        if not isinstance(el.tag, str):
            return
        path = f"{prefix}/{etree.QName(el).localname}"
        found.add(path)
        for child in el:
            walk(child, path)

    walk(root, "")
    return found


CASES = [
    # (sample file, endpoint, params, share of our paths that NCBI's sample also has)
    (
        "biocommons_eutils/efetch_snp_2031_14181.xml",
        "efetch",
        {"db": "snp", "id": "3008,11888", "retmode": "xml"},
        0.95,
    ),
    (
        "biocommons_eutils/efetch_gene_4747.xml",
        "efetch",
        {"db": "gene", "id": "3718", "retmode": "xml"},
        0.95,
    ),
    (
        "biocommons_eutils/efetch_pubmed_1234567.xml",
        "efetch",
        {"db": "pubmed", "id": "12345678", "retmode": "xml"},
        0.85,
    ),
    (
        "biocommons_eutils/elink_pubmed_1234567_neighbor.xml",
        "elink",
        {"dbfrom": "pubmed", "id": "12345678"},
        1.0,
    ),
    ("biopython/elink2.xml", "elink", {"dbfrom": "gene", "db": "snp", "id": "3718,7157"}, 1.0),
    (
        "biocommons_eutils/esearch_medgen_OCRL_usehistory.xml",
        "esearch",
        {"db": "gene", "term": "JAK3[GENE]", "usehistory": "y"},
        1.0,
    ),
    ("biopython/epost1.xml", "epost", {"db": "snp", "id": "242"}, 1.0),
    ("biopython/epost2.xml", "epost", {"db": "nothing", "id": "1"}, 1.0),
    ("biopython/esummary1.xml", "esummary", {"db": "pubmed", "id": "12345678"}, 0.9),
    # The 2014 capture has <Orgname>; today's gene summaries carry an <Organism> structure,
    # and today's DocumentSummarySet starts with <DbBuild> (docs/NCBI_BEHAVIOUR.md).
    (
        "eutils_json/esummary.gene.xml",
        "esummary",
        {"db": "gene", "id": "3718", "version": "2.0"},
        0.8,
    ),
    (
        "biopython/nucleotide2.xml",
        "efetch",
        {"db": "nuccore", "id": "600000005", "rettype": "fasta", "retmode": "xml"},
        0.9,
    ),
    ("biocommons_eutils/einfo_dblist.xml", "einfo", {}, 1.0),
    ("eutils_json/einfo.error.xml", "einfo", {"db": "fleegle"}, 1.0),
    ("eutils_json/esummary.error.xml", "esummary", {"db": "fleegle", "id": "1"}, 1.0),
]


@pytest.mark.parametrize(
    ("sample", "endpoint", "params", "share"), CASES, ids=[c[0] for c in CASES]
)
async def test_structure_matches_the_captured_sample(
    samples: Path, emulator, http, sample, endpoint, params, share
):
    params = dict(params)
    if params.get("db") == "nuccore":
        params["id"] = str(next(iter(emulator.state.dataset.uids("nuccore"))))
    ours_status, ours = await call(http, emulator.base_url, endpoint, **params)
    assert ours_status == 200
    theirs = paths((samples / sample).read_bytes())
    mine = paths(ours.encode())
    assert next(iter(sorted(mine))).split("/")[1] == next(iter(sorted(theirs))).split("/")[1]
    unknown = mine - theirs
    assert len(mine & theirs) / len(mine) >= share, sorted(unknown)


async def test_snp_efetch_namespace_and_one_record_per_line_as_captured(samples, emulator, http):
    real = (samples / "biocommons_eutils/efetch_snp_2031_14181.xml").read_text()
    _, ours = await call(http, emulator.base_url, "efetch", db="snp", id="3008,11888")
    for text in (real, ours):
        lines = [ln for ln in text.splitlines() if "<DocumentSummary " in ln]
        assert len(lines) == 2
        assert 'xmlns="https://www.ncbi.nlm.nih.gov/SNP/docsum"' in text
