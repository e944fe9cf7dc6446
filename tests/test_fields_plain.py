"""Plain field paths found together (one XPath union, or one walk of the record's children when
a leaf tag ends two paths) give what ElementPath finds for each path alone, on real captures
and on records that nest namesakes of their fields."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from eutils_helpers import snp_page

from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import Record
from harvester.ncbi import efetch_format
from harvester.workflow.fields import FieldExtractor, _plain

CAPTURES = [
    (
        "biocommons_eutils/efetch_snp_2031_14181.xml",
        "snp",
        [("id", "SNP_ID"), ("gene", "GENES/GENE_E/NAME"), ("maf", "GLOBAL_MAFS/MAF/FREQ")],
    ),
    (
        "biocommons_eutils/efetch_gene_4747.xml",
        "gene",
        [
            ("type", "Entrezgene_type/@value"),
            ("locus", "Entrezgene_gene/Gene-ref/Gene-ref_locus"),
            ("db", "Entrezgene_gene/Gene-ref/Gene-ref_db/Dbtag/Dbtag_db"),
            ("same", "Entrezgene_type"),
        ],
    ),
    (
        "biopython/pubmed1.xml",
        "pubmed",
        [("title", "MedlineCitation/Article/ArticleTitle"), ("pmid", "MedlineCitation/PMID")],
    ),
    ("biopython/protein2.xml", "protein", [("locus", "GBSeq_locus"), ("none", "NOPE")]),
]


def plain_and_searched(
    body: bytes, fields: list[tuple[str, str]], **kw: object
) -> list[tuple[dict[str, object], dict[str, object]]]:
    """Per record: the plain paths' values, and ElementPath's for the same paths one by one."""
    plain = FieldExtractor(fields)
    searched = FieldExtractor([(name, f"./{path}") for name, path in fields])
    return [
        (plain.values(item), searched.values(item))
        for item in parse_bytes(body, **kw)  # type: ignore[arg-type]
        if isinstance(item, Record)
    ]


def test_plain_paths_find_what_element_path_finds_in_the_captures(samples: Path) -> None:
    for name, db, fields in CAPTURES:
        pairs = plain_and_searched((samples / name).read_bytes(), fields, db=db)
        assert pairs, name
        assert all(plain == searched for plain, searched in pairs), name
        assert all(v is not None for v in pairs[0][0].values() if v != pairs[0][0].get("none"))


@pytest.mark.parametrize(
    "fields",
    [
        [("id", "TaxId"), ("lineage", "LineageEx/Taxon/TaxId")],  # one leaf tag, two paths
        [("id", "TaxId"), ("rank", "Rank")],  # the union
    ],
)
def test_namesakes_below_the_record_are_found_only_on_their_own_path(fields) -> None:
    body = (
        b"<TaxaSet><Taxon><TaxId>9606</TaxId><Rank>species</Rank><LineageEx><Taxon>"
        b"<TaxId>1</TaxId><Rank>no rank</Rank></Taxon></LineageEx></Taxon>"
        b"<Taxon><TaxId>10090</TaxId></Taxon></TaxaSet>"
    )
    pairs = plain_and_searched(body, fields, db="taxonomy")
    assert [plain["id"] for plain, _ in pairs] == ["9606", "10090"]
    assert all(plain == searched for plain, searched in pairs)


def test_namespaced_docsums_find_their_plain_fields() -> None:
    fields = [("id", "SNP_ID"), ("gene", "GENES/GENE_E/NAME"), ("mafs", "GLOBAL_MAFS/MAF/FREQ")]
    fmt = efetch_format("snp", None, "xml")
    pairs = plain_and_searched(snp_page(2), fields, db="snp", fmt=fmt)
    assert [plain["id"] for plain, _ in pairs] == ["1", "2"]
    assert all(plain == searched and plain["gene"] == "JAK3" for plain, searched in pairs)
    assert all(len(plain["mafs"]) == 8 for plain, _ in pairs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        [("id", "SNP_ID"), ("gene", "GENES/GENE_E/NAME"), ("chrpos", "CHRPOS")],  # plain cells
        [("id", "SNP_ID"), ("mafs", "GLOBAL_MAFS/MAF/FREQ")],  # a list: JSON
        [("id", "SNP_ID"), ("docsum", "DOCSUM")],  # a '|'-free value with '>' in it
        [("id", "SNP_ID"), ("none", "NOPE")],  # a null: JSON
    ],
)
def test_the_cells_hot_path_stores_what_values_would(fields) -> None:
    """Once every field has matched, `cells` takes its nodes straight from the union; what it
    stores is byte for byte what the values' dict gives."""
    fmt = efetch_format("snp", None, "xml")
    body = snp_page(3).replace(b"<CHR>19</CHR>", b"<CHR>1\t9</CHR>", 1)
    hot, reference = FieldExtractor(fields), FieldExtractor(fields)
    hot.matched = set(hot.names)  # as after a first page in which every field matched
    for item in parse_bytes(body, db="snp", fmt=fmt):
        assert isinstance(item, Record)
        values = reference.values(item)
        assert hot.cells(item) == (_plain(values) or orjson.dumps(values))
    quoted = FieldExtractor([("id", "SNP_ID"), ("chr", "CHR")])
    quoted.matched = set(quoted.names)
    first = next(r for r in parse_bytes(body, db="snp", fmt=fmt) if isinstance(r, Record))
    assert orjson.loads(quoted.cells(first)) == {"id": "1", "chr": "1\t9"}  # a tab: JSON


def test_plain_text_fields_take_the_hot_path_one_slot_a_node() -> None:
    """Text fields with a leaf tag each (the SNP jobs' fields) are stored from the union's
    nodes without the values' dict: `_plain_cells` answers, and a field that matches twice
    or not at all still goes to JSON as `values` would store it."""
    fmt = efetch_format("snp", None, "xml")
    fields = [("id", "SNP_ID"), ("gene", "GENES/GENE_E/NAME"), ("pos", "CHRPOS")]
    hot = FieldExtractor(fields)
    hot.matched = set(hot.names)
    body = snp_page(2).replace(b"<CHRPOS>", b"<CHRPOS>x</CHRPOS><CHRPOS>", 1)
    seen = []
    for item in parse_bytes(body, db="snp", fmt=fmt):  # each record alive until the next
        assert isinstance(item, Record) and item.element is not None
        seen.append((hot._plain_cells(item.element), hot.cells(item)))
    (twice_fast, twice), (once_fast, once) = seen
    assert once_fast == once and once.startswith(b"\x1e2\x1f")
    assert twice_fast is None and orjson.loads(twice)["pos"][0] == "x"
