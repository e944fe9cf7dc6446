"""Records are kept as the bytes NCBI sent (record_bytes.py): each record's own span of the body,
with the namespace declarations it inherits, found whatever the chunking; anything the scan
cannot vouch for is serialised by lxml as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from eutils_helpers import snp_page

from harvester.eutils._lxml import etree
from harvester.eutils.parse import parse_bytes, parse_chunks
from harvester.eutils.record_bytes import RecordBytes
from harvester.eutils.results import Record
from harvester.ncbi import FORMATS, efetch_format
from harvester.workflow import kept
from harvester.workflow.fields import FieldExtractor

SNP_FIELDS = [("SNP_ID", "SNP_ID"), ("GENE", "GENES/GENE_E/NAME"), ("CHRPOS", "CHRPOS")]


def records(body: bytes, step: int, **kw: object) -> list[Record]:
    chunks = (body[i : i + step] for i in range(0, len(body), step))
    return [r for r in parse_chunks(chunks, **kw) if isinstance(r, Record)]  # type: ignore[arg-type]


def whole(record: Record) -> bytes:
    """What the store keeps for a record, taken while its element is alive."""
    return kept.raw(record)


def kept_of(body: bytes, step: int, **kw: object) -> list[bytes]:
    """What the store keeps of each record, taken while its element is alive."""
    chunks = (body[i : i + step] for i in range(0, len(body), step))
    items = parse_chunks(chunks, **kw)  # type: ignore[arg-type]
    return [whole(item) for item in items if isinstance(item, Record)]


@pytest.mark.parametrize("step", [1, 7, 97, 4096, 1 << 20])
def test_the_kept_bytes_are_the_records_bytes_in_the_body_whatever_the_chunking(
    step: int,
) -> None:
    body = (
        b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD x//EN" '
        b'"https://dtd.nlm.nih.gov/x.dtd">\n<PubmedArticleSet>\n'
        b"<PubmedArticle><MedlineCitation><PMID Version='1'>11</PMID><Article>"
        b"<ArticleTitle>Caf&#233; &amp; cr&#xE8;me &lt;1&gt; \xc3\xa9t\xc3\xa9</ArticleTitle>"
        b'<Abstract a="x>y"/></Article></MedlineCitation></PubmedArticle>\n'
        b"<PubmedBookArticle><BookDocument><PMID>12</PMID></BookDocument></PubmedBookArticle>"
        b"<PubmedArticle ><MedlineCitation><PMID>13</PMID></MedlineCitation></PubmedArticle >\n"
        b"</PubmedArticleSet>\n"
    )
    got = records(body, step, db="pubmed", fmt=FORMATS["pubmed"])
    assert [r.uid for r in got] == ["11", "12", "13"]
    assert [r.raw for r in got] == [
        body[body.index(b"<PubmedArticle>") : body.index(b"</PubmedArticle>") + 16],
        body[body.index(b"<PubmedBookArticle>") : body.index(b"</PubmedBookArticle>") + 20],
        body[body.index(b"<PubmedArticle >") : body.index(b"</PubmedArticle >") + 17],
    ]


def test_a_namespaced_snp_docsum_keeps_its_bytes_with_the_inherited_declarations() -> None:
    body = snp_page(3)
    kept_bytes = kept_of(body, 97, db="snp", fmt=efetch_format("snp", None, "xml"))
    start = body.index(b'<DocumentSummary uid="2"')
    own = body[start : body.index(b"</DocumentSummary>", start) + 18]
    ns = b' xmlns="https://www.ncbi.nlm.nih.gov/SNP/docsum"'
    xsi = b' xmlns:xsi="https://www.w3.org/2001/XMLSchema-instance"'
    assert kept_bytes[1] == b"<DocumentSummary" + ns + xsi + own[len(b"<DocumentSummary") :]
    # the same bytes lxml's tostring gives for this record, parsed alone to the same names
    root = etree.fromstring(body)
    assert kept_bytes[1] == etree.tostring(root[1], encoding="utf-8", with_tail=False)


def test_kept_records_parse_again_to_the_same_fields(samples: Path) -> None:
    for name, db, fields in (
        ("biocommons_eutils/efetch_snp_2031_14181.xml", "snp", SNP_FIELDS),
        ("biocommons_eutils/efetch_gene_4747.xml", "gene", [("type", "Entrezgene_type/@value")]),
        ("biopython/pubmed1.xml", "pubmed", [("title", "MedlineCitation/Article/ArticleTitle")]),
        ("biopython/protein2.xml", "protein", [("locus", "GBSeq_locus")]),
        ("biopython/esummary1.xml", "pubmed", [("source", "Source")]),
    ):
        body = (samples / name).read_bytes()
        extractor = FieldExtractor(fields)
        live = []
        for item in parse_bytes(body, db=db):
            assert isinstance(item, Record)
            assert item.raw is not None, f"{name}: {item.uid} was serialised, not kept as sent"
            assert item.raw in body or b"xmlns" in item.raw
            live.append((item.uid, extractor.values(item), item.raw))
        for uid, values, raw in live:
            again = kept.parsed(db, int(uid) if uid.isdigit() else 0, raw)
            assert extractor.values(again) == values, name
            assert values and all(v is not None for v in values.values()), name


@pytest.mark.parametrize(
    "defect",
    [
        b"<!-- <DocumentSummary uid='9'></DocumentSummary> -->",
        b"<?pi <DocumentSummary uid='9'>?>",
        b"<![CDATA[</DocumentSummary>]]>",
    ],
)
def test_a_comment_cdata_or_instruction_makes_the_records_from_there_on_serialised(
    defect: bytes,
) -> None:
    page = snp_page(20)
    at = page.index(b'<DocumentSummary uid="15"')
    where = b"<TEXT>" + defect + b"</TEXT>" if b"CDATA" in defect else defect
    body = page[:at] + where + page[at:]
    fmt = efetch_format("snp", None, "xml")
    got = records(body, 512, db="snp", fmt=fmt)
    assert [r.uid for r in got] == [str(uid) for uid in range(1, 21)]
    assert got[0].raw is not None  # before the defect's chunk: as sent
    assert all(r.raw is None for r in got[14:])  # from it on: serialised by lxml
    for whole_record, uid in zip(kept_of(body, 512, db="snp", fmt=fmt), range(1, 21), strict=True):
        assert etree.fromstring(whole_record).get("uid") == str(uid)


def test_a_body_not_in_utf8_is_serialised_and_nested_records_count_once() -> None:
    latin = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?><TaxaSet><Taxon><TaxId>9606</TaxId>'
        b"<ScientificName>Caf\xe9</ScientificName></Taxon></TaxaSet>"
    )
    (got,) = records(latin, 16, db="taxonomy", fmt=FORMATS["taxaset"])
    assert got.raw is None
    (serialised,) = kept_of(latin, 16, db="taxonomy", fmt=FORMATS["taxaset"])
    assert "Café".encode() in serialised
    nested = (
        b"<TaxaSet><Taxon><TaxId>9606</TaxId><LineageEx><Taxon><TaxId>1</TaxId></Taxon>"
        b"<Taxon><TaxId>2</TaxId></Taxon></LineageEx></Taxon><Taxon><TaxId>10090</TaxId>"
        b"</Taxon></TaxaSet>"
    )
    for step in (1, 5, 64):
        got2 = records(nested, step, db="taxonomy", fmt=FORMATS["taxaset"])
        assert [(r.uid, r.raw) for r in got2] == [
            ("9606", nested[9 : nested.index(b"</LineageEx></Taxon>") + 20]),
            ("10090", b"<Taxon><TaxId>10090</TaxId></Taxon>"),
        ]


def test_a_record_the_scan_missed_falls_back_for_the_rest() -> None:
    scan = RecordBytes(("DocSum",))
    scan.feed(b"<eSummaryResult><DocSum><Id>1</Id></DocSum>")
    assert scan.take() == (b"<DocSum><Id>1</Id></DocSum>", 7, 8)
    assert scan.take() is None  # the parser saw a record the scan did not
    scan.feed(b"<DocSum><Id>2</Id></DocSum>")
    assert scan.broken and scan.take() is None


@pytest.mark.parametrize("empty_between", [False, True])
@pytest.mark.parametrize("defect", [b"<!-- a comment -->", b"<?pi x?>"])
def test_a_comment_or_instruction_split_between_two_chunks_is_still_seen(
    defect: bytes, empty_between: bool
) -> None:
    """A `<!` or `<?` whose `<` ends one chunk and whose `!` or `?` starts the next (with an
    empty read between them or not)."""
    page = snp_page(20)
    at = page.index(b'<DocumentSummary uid="15"')
    body = page[:at] + defect + page[at:]
    chunks = [body[: at + 1], *([b""] if empty_between else []), body[at + 1 :]]
    fmt = efetch_format("snp", None, "xml")
    got = [r for r in parse_chunks(iter(chunks), db="snp", fmt=fmt) if isinstance(r, Record)]
    assert [r.uid for r in got] == [str(uid) for uid in range(1, 21)]
    assert got[13].raw is not None  # before the defect: as sent
    assert all(r.raw is None for r in got[14:])  # from it on: serialised by lxml
