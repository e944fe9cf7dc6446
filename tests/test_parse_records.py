"""Record parsers: the uid found the right way per format, in-band errors, streaming memory."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable

import aiohttp
import pytest
from eutils_helpers import snp_page

from harvester.emulator.server import Emulator
from harvester.eutils._lxml import etree
from harvester.eutils.parse import aparse, parse_bytes, parse_chunks
from harvester.eutils.parse_records import BULK_DELETE
from harvester.eutils.results import ErrorResult, Item, Record
from harvester.eutils.xmlstream import BadBody
from harvester.ncbi import efetch_format, esummary_format


def records(data: bytes, db: str | None = None) -> list[Item]:
    return list(parse_bytes(data, db=db))


def uids(items: list[Item]) -> list[str]:
    return [i.uid for i in items if isinstance(i, Record)]


def test_taxon_nested_in_lineage_is_not_a_record() -> None:
    data = (
        b"<TaxaSet><Taxon><TaxId>9606</TaxId><ScientificName>Homo sapiens</ScientificName>"
        b"<LineageEx><Taxon><TaxId>131567</TaxId></Taxon><Taxon><TaxId>2759</TaxId></Taxon>"
        b"</LineageEx></Taxon><Taxon><TaxId>10090</TaxId></Taxon></TaxaSet>"
    )
    items = records(data)
    assert uids(items) == ["9606", "10090"]
    assert all(isinstance(i, Record) and i.db == "taxonomy" for i in items)


def test_pubmed_uid_ignores_reference_pmids_and_reads_books() -> None:
    data = (
        b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version='1'>111</PMID>"
        b"<CommentsCorrectionsList><CommentsCorrections><PMID>999</PMID></CommentsCorrections>"
        b"</CommentsCorrectionsList></MedlineCitation><PubmedData><ReferenceList><Reference>"
        b"<ArticleIdList><ArticleId IdType='pubmed'>888</ArticleId></ArticleIdList></Reference>"
        b"</ReferenceList></PubmedData></PubmedArticle>"
        b"<PubmedBookArticle><BookDocument><PMID>222</PMID></BookDocument></PubmedBookArticle>"
        b"</PubmedArticleSet>"
    )
    assert uids(records(data)) == ["111", "222"]


def test_gene_uid_is_only_the_track_info_geneid() -> None:
    data = (
        b"<Entrezgene-Set><Entrezgene><Entrezgene_locus><Gene-commentary><Gene-track_geneid>"
        b"1</Gene-track_geneid></Gene-commentary></Entrezgene_locus><Entrezgene_track-info>"
        b"<Gene-track><Gene-track_geneid>3718</Gene-track_geneid></Gene-track>"
        b"</Entrezgene_track-info></Entrezgene></Entrezgene-Set>"
    )
    assert uids(records(data)) == ["3718"]


def test_gbseq_and_tseq_accessions() -> None:
    gb = (
        b"<GBSet><GBSeq><GBSeq_locus>X</GBSeq_locus><GBSeq_moltype>AA</GBSeq_moltype>"
        b"<GBSeq_accession-version>NP_000206.2</GBSeq_accession-version></GBSeq></GBSet>"
    )
    (rec,) = records(gb)
    assert isinstance(rec, Record) and (rec.db, rec.uid) == ("protein", "NP_000206.2")
    (given,) = records(gb, db="protein")
    assert isinstance(given, Record) and given.db == "protein"


def test_docsum_v1_with_an_invalid_uid_error_beside_records() -> None:
    data = (
        b"<eSummaryResult><ERROR>Invalid uid 0 at position=1</ERROR>"
        b"<DocSum><Id>242</Id><Item Name='SNP_ID' Type='Integer'>242</Item></DocSum>"
        b"</eSummaryResult>"
    )
    items = records(data, db="snp")
    assert items[0] == ErrorResult("Invalid uid 0 at position=1", "ERROR")
    assert uids(items) == ["242"]


def test_docsum_v2_per_uid_errors_belong_to_their_own_record_only() -> None:
    data = (
        b"<eSummaryResult><DocumentSummarySet status='OK'>"
        b"<DocumentSummary uid='1'><error>cannot get document summary</error></DocumentSummary>"
        b"<DocumentSummary uid='7157'><Name>TP53</Name><Notes><error>x</error></Notes>"
        b"</DocumentSummary>"
        b"<DocumentSummary uid='2'><Name/><error> gone </error><Status>1</Status>"
        b"</DocumentSummary><DocumentSummary uid='672'><Name>BRCA1</Name></DocumentSummary>"
        b"</DocumentSummarySet></eSummaryResult>"
    )
    got = {r.uid: r.error for r in records(data, db="gene") if isinstance(r, Record)}
    assert got == {"1": "cannot get document summary", "7157": None, "2": "gone", "672": None}


def test_history_error_where_records_were_expected() -> None:
    data = b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
    assert records(data, db="snp") == [ErrorResult("Unable to obtain query #1", "ERROR")]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><body>Bad gateway</body></html>", "not_xml"),
        (b"Service unavailable", "not_xml"),
        (b"<ExchangeSet xmlns='x'><DocumentSummary uid='1'><SNP_ID>1</SNP", "truncated"),
    ],
)
def test_unusable_bodies_raise_bad_body(body: bytes, reason: str) -> None:
    with pytest.raises(BadBody) as info:
        records(body, db="snp")
    assert info.value.reason == reason


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_streaming_in_small_chunks_clears_processed_records() -> None:
    page = snp_page(200)
    fmt = efetch_format("snp", None, "xml")
    seen: list[str] = []
    parents: set[int] = set()
    container = None
    async for item in aparse(chunked(page, 97), db="snp", fmt=fmt):
        assert isinstance(item, Record)
        assert item.findtext("SNP_ID") == item.uid  # whole while we hold it
        container = item.element.getparent()  # type: ignore[union-attr]
        parents.add(id(container))
        earlier = list(item.element.itersiblings(preceding=True))  # type: ignore[union-attr]
        assert all(len(done) == 0 for done in earlier)  # processed records are emptied
        assert len(earlier) <= BULK_DELETE  # and deleted in bulk: memory stays flat
        assert len(container) <= BULK_DELETE + 5  # + the current one and what was read ahead
        seen.append(item.uid)
    assert seen == [str(i) for i in range(1, 201)]
    assert len(parents) == 1
    assert container is not None and len(container) == 0  # nothing accumulated at the end


async def test_record_xml_is_available_before_advancing() -> None:
    page = snp_page(3)
    xmls = [r.xml() for r in parse_bytes(page, db="snp") if isinstance(r, Record)]
    assert all(x.startswith(b"<DocumentSummary") and b"<SNP_ID>" in x for x in xmls)
    assert b'uid="2"' in xmls[1]


async def esummary_gene_page(emulator: Emulator, http: aiohttp.ClientSession) -> bytes:
    """A v2 gene esummary from the emulator: 300 records with unknown uids (per-uid errors)."""
    genes = emulator.state.dataset.maps["gene"]
    ids = [str(genes.uid(i)) for i in range(min(genes.count, 297))] + ["1", "2", "99999999"]
    body = {"db": "gene", "id": ",".join(ids[:150] + ids[-3:] + ids[150:-3])}
    async with http.post(emulator.base_url + "esummary.fcgi", data=body) as response:
        return await response.read()


def summaries(items: Iterable[Item]) -> list[tuple[object, ...]]:
    """What each item says, the element serialised while the stream sits on it."""
    out: list[tuple[object, ...]] = []
    for item in items:
        if isinstance(item, Record):
            assert item.element is not None and item.doc is None
            xml = etree.tostring(item.element, with_tail=False)
            out.append(("record", item.db, item.uid, item.error, xml))
        else:
            out.append(("other", item))
    return out


async def test_esummary_v2_records_are_those_of_the_whole_document(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    page = await esummary_gene_page(emulator, http)
    docs = etree.fromstring(page).find("DocumentSummarySet").findall("DocumentSummary")
    expected = [
        ("record", "gene", d.get("uid"), (d.findtext("error") or "").strip() or None, d)
        for d in docs
    ]
    expected = [(*e[:4], etree.tostring(e[4], with_tail=False)) for e in expected]
    assert len(expected) == 300 and sum(e[3] is not None for e in expected) == 3
    fmt = esummary_format("gene", None)
    assert summaries(parse_bytes(page, db="gene", fmt=fmt)) == expected
    for size in (1, 7, 97, 4096):  # an <error> and its record's end fall in different chunks
        parts = (page[i : i + size] for i in range(0, len(page), size))
        assert summaries(parse_chunks(parts, db="gene", fmt=fmt)) == expected
    streamed = []
    async for item in aparse(chunked(page, 97), db="gene"):  # the db from the DOCTYPE
        streamed += summaries([item])
    assert streamed == expected


def test_esummary_v2_top_error_is_an_item_and_a_cut_body_is_truncated() -> None:
    fmt = esummary_format("gene", None)
    error = b"<eSummaryResult><ERROR>Empty id list - nothing todo</ERROR></eSummaryResult>"
    assert list(parse_bytes(error, db="gene", fmt=fmt)) == [
        ErrorResult("Empty id list - nothing todo", "ERROR")
    ]
    cut = b"<eSummaryResult><DocumentSummarySet><DocumentSummary uid='1'><Name>A</Name>"
    with pytest.raises(BadBody) as info:
        list(parse_bytes(cut, db="gene", fmt=fmt))
    assert info.value.reason == "truncated"


def test_record_keeps_the_dataclass_behaviour_of_its_own_init() -> None:
    full = Record("gene", "7157", None, {"name": "TP53"}, "gone")
    assert full == Record(db="gene", uid="7157", doc={"name": "TP53"}, error="gone")
    assert Record("gene", "1") == Record("gene", "1", None, None, None)
    assert hash(Record("gene", "1")) == hash(Record("gene", "1"))
    assert repr(Record("gene", "1")) == (
        "Record(db='gene', uid='1', element=None, doc=None, error=None)"
    )
    assert [f.name for f in dataclasses.fields(Record)] == [
        *("db", "uid", "element", "doc", "error"),
        "aliases",  # a sequence's other ids (test_sequence_keys.py)
        *("raw", "digest"),  # its bytes as sent, what a digest made of it (test_record_bytes.py)
    ]
    assert dataclasses.replace(full, error=None).error is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.uid = "1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Record("gene")  # type: ignore[call-arg]
