"""Biopython's Bio.Entrez works against the emulator by changing only the base URL; its parser
validates every response against NCBI's own DTDs, so this pins the shapes as NCBI defines them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harvester.emulator.server import EmulatorThread

Entrez = pytest.importorskip("Bio.Entrez")
NCBI = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"


@pytest.fixture(scope="module")
def entrez() -> Iterator[Any]:
    with EmulatorThread() as emu:
        original, key = Entrez._build_request, Entrez.api_key

        def build(cgi: str, *args: Any, **kwargs: Any) -> Any:
            return original(cgi.replace(NCBI, emu.base_url), *args, **kwargs)

        Entrez._build_request = build
        Entrez.email = "tests@example.org"
        Entrez.api_key = "biopython-tests"  # Biopython then spaces requests 0.1 s, not 0.37 s
        try:
            yield Entrez
        finally:
            Entrez._build_request = original
            Entrez.api_key = key


def test_biopython_index_list_workflow(entrez):
    sets = entrez.read(entrez.elink(dbfrom="gene", db="snp", id=["3718", "7157"]))
    index = {s["IdList"][0]: [link["Id"] for link in s["LinkSetDb"][0]["Link"]] for s in sets}
    assert index["3718"] == ["867174", "11888", "3008"]
    history = entrez.read(
        entrez.elink(dbfrom="gene", db="snp", id="3718,7157", cmd="neighbor_history")
    )[0]
    key = history["LinkSetDbHistory"][0]["QueryKey"]
    handle = entrez.efetch(
        db="snp", webenv=history["WebEnv"], query_key=key, retmax=500, retmode="xml"
    )
    text = handle.read()
    fetched = text.decode() if isinstance(text, bytes) else text
    assert all(f'uid="{u}"' in fetched for u in index["3718"] + index["7157"])


@pytest.mark.slow
def test_biopython_parses_every_dtd_validated_shape(entrez):
    post = entrez.read(entrez.epost("snp", id="242,28853987"))
    summary = entrez.read(
        # 1.0 asked: snp's default 2.0 DTD is not among Biopython's, and no DTD is fetched
        entrez.esummary(db="snp", webenv=post["WebEnv"], query_key=post["QueryKey"], version="1.0")
    )
    assert [s["GENE"] for s in summary] == ["", "LOC653635"]
    assert entrez.read(entrez.esearch(db="gene", term="JAK3[GENE]"))["IdList"] == ["3718"]
    article = entrez.read(entrez.efetch(db="pubmed", id="12345678", retmode="xml"))
    assert article["PubmedArticle"][0]["MedlineCitation"]["PMID"] == "12345678"
    gene = entrez.read(entrez.efetch(db="gene", id="3718", retmode="xml"))
    assert gene[0]["Entrezgene_track-info"]["Gene-track"]["Gene-track_geneid"] == "3718"
    v2 = entrez.read(entrez.esummary(db="gene", id="3718", version="2.0"))
    assert v2["DocumentSummarySet"]["DocumentSummary"][0]["Name"] == "JAK3"
    check = entrez.read(entrez.elink(dbfrom="pubmed", id="12345678", cmd="acheck"))
    assert check[0]["IdCheckList"]["IdLinkSet"][0]["Id"] == "12345678"
    assert "gene" in entrez.read(entrez.einfo())["DbList"]
