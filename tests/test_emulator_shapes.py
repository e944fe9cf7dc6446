"""Records at NCBI's sizes and in NCBI's layouts: heavy gene records, ReferenceList, LineageEx,
esummary v2 on one line with DbBuild; the client's parsers read every layout alike."""

from __future__ import annotations

import dataclasses

from multidict import MultiDict

from harvester.emulator.catalog import Catalog
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.fetch import efetch_body, esummary_body
from harvester.emulator.graph import DegreeSpec
from harvester.emulator.params import Params
from harvester.emulator.server import build_state
from harvester.emulator.spec import DatasetSpec
from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import Record


def _params(values: dict[str, str]) -> Params:
    return Params(MultiDict(values))


def _genes(ds: Dataset, n: int) -> list[int]:
    return [g for g in ds.uids("gene") if ds.index("gene", g) is not None][:n]


def test_gene_records_reach_ncbis_megabyte_only_when_the_dataset_asks() -> None:
    tiny = Catalog(Dataset())
    assert (
        max(len(tiny.efetch("entrezgene", "gene", g) or "") for g in _genes(tiny.ds, 50)) < 20_000
    )
    heavy = DatasetSpec(genes=40, gene_comments=DegreeSpec(400, 1.5, 0.0, 1500))
    catalog = Catalog(Dataset(heavy))
    sizes = sorted(
        len(catalog.efetch("entrezgene", "gene", g) or "") for g in _genes(catalog.ds, 40)
    )
    assert sizes[-1] > 900_000  # the tail reaches NCBI's ~1 MB gene record
    assert sizes[len(sizes) // 2] < sizes[-1] / 2  # heavy-tailed: the median is far below
    assert catalog.efetch("entrezgene", "gene", _genes(catalog.ds, 1)[0]) == catalog.efetch(
        "entrezgene", "gene", _genes(catalog.ds, 1)[0]
    )


def test_a_megabyte_gene_record_parses_with_its_uid() -> None:
    spec = DatasetSpec(genes=5, gene_comments=DegreeSpec(1500, 0.01, 0.0, 1500))
    state = build_state(EmulatorConfig(), Dataset(spec))
    gene = _genes(state.dataset, 1)[0]
    chunks, _ = efetch_body(state, _params({"db": "gene", "id": str(gene), "retmode": "xml"}))
    body = "".join(chunks).encode()
    assert len(body) > 900_000
    (record,) = parse_bytes(body)
    assert isinstance(record, Record) and record.uid == str(gene)


def test_pubmed_articles_carry_their_references_on_one_line() -> None:
    catalog = Catalog(Dataset())
    pmid = list(catalog.ds.uids("pubmed"))[500]
    text = catalog.efetch("pubmed", "pubmed", pmid) or ""
    assert text.count("\n") == 1
    refs = [int(t) for t, _ in catalog.ds.links("pubmed_pubmed_refs", pmid)]
    assert len(refs) >= 5
    for ref in refs:
        assert f'<ArticleId IdType="pubmed">{ref}</ArticleId></ArticleIdList></Reference>' in text
    (record,) = parse_bytes(
        b'<?xml version="1.0" ?>\n<PubmedArticleSet>\n' + text.encode() + b"</PubmedArticleSet>"
    )
    assert isinstance(record, Record) and record.uid == str(pmid)


def test_esummary_v2_in_both_layouts_parses_to_the_same_records() -> None:
    bodies = []
    for one_line in (False, True):
        state = build_state(
            EmulatorConfig(), Dataset(dataclasses.replace(DatasetSpec(), one_line=one_line))
        )
        genes = ",".join(str(g) for g in _genes(state.dataset, 5)) + ",1"
        body = esummary_body(state, _params({"db": "gene", "id": genes, "version": "2.0"}))
        assert isinstance(body, str) and "<DbBuild>" in body
        bodies.append(body)
    pretty, one_line = bodies
    assert one_line.count("\n") == 3 < pretty.count("\n")
    parsed = [
        [
            (r.uid, r.error, r.findtext("Name"))
            for r in parse_bytes(b.encode())
            if isinstance(r, Record)
        ]
        for b in bodies
    ]
    assert parsed[0] == parsed[1] and len(parsed[0]) == 6
    assert parsed[0][-1][1] == "cannot get document summary"
