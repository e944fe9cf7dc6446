"""Property: no E-utilities answer, XML or JSON, however it is shaped, cut or corrupted, makes
the parsers do anything but yield items or raise a ParseError (one line, exit 6): no other
exception, no hang, memory bounded (see fuzz_support)."""

from __future__ import annotations

import orjson
from fuzz_support import bounded
from hypothesis import given
from hypothesis import strategies as st

from harvester.errors import ParseError
from harvester.eutils._lxml import etree
from harvester.eutils.parse import parse_chunks
from harvester.eutils.parse_json import parse_json
from harvester.ncbi import FORMATS, RESULT_ROOTS

ROOTS = sorted({*RESULT_ROOTS.values(), *(f.root for f in FORMATS.values()), "html"})
TAGS = sorted(
    {
        *ROOTS,
        *(f.record for f in FORMATS.values()),
        *[
            "LinkSet",
            "DbFrom",
            "IdList",
            "Id",
            "LinkSetDb",
            "DbTo",
            "LinkName",
            "Link",
            "Score",
            "ERROR",
            "Count",
            "RetMax",
        ],
        *[
            "RetStart",
            "QueryKey",
            "WebEnv",
            "TranslationSet",
            "QueryTranslation",
            "ErrorList",
            "PhraseNotFound",
        ],
        *[
            "FieldNotFound",
            "WarningList",
            "OutputMessage",
            "LinkSetDbHistory",
            "IdCheckList",
            "IdLinkSet",
        ],
        *[
            "LinkInfo",
            "HtmlTag",
            "Priority",
            "IdUrlList",
            "IdUrlSet",
            "ObjUrl",
            "Url",
            "IconUrl",
            "SubjectType",
        ],
        *[
            "Category",
            "Attribute",
            "Provider",
            "Name",
            "NameAbbr",
            "DbList",
            "DbName",
            "DocSum",
            "Item",
            "uid",
            "error",
        ],
        *[
            "DocumentSummarySet",
            "SNP_ID",
            "CHRPOS",
            "GENES",
            "GENE_E",
            "NAME",
            "MedlineCitation",
            "PMID",
            "TaxId",
        ],
        *["Entrezgene_track-info", "Gene-track", "Gene-track_geneid", "GBSeq_accession-version"],
        *["TSeq_accver", "HasLinkOut", "HasNeighbor", "MenuTag"],
    }
)
TEXT = st.text(max_size=12) | st.sampled_from(["3718", "-1", "0", "99999999999999999999", "Y"])
ATTRS = st.dictionaries(st.sampled_from(["uid", "Name", "Type", "status"]), TEXT, max_size=2)
NOISE = st.sampled_from(
    [
        b"&x;",
        b"&amp;",
        b"&#0;",
        b"&#x110000;",
        b"<![CDATA[]]>",
        b"<!-- -->",
        b"<?pi x?>",
        b"\xff\xfe",
        b"\x00",
        b"</",
        b"<",
        b">",
        b'<!DOCTYPE d [<!ENTITY x "y">]>',
        b'<!DOCTYPE d SYSTEM "http://127.0.0.1:9/x.dtd">',
        b'<?xml version="1.0" encoding="latin-1"?>',
    ]
)


def element(tag: str, attrs: dict[str, str], text: str, children: list[etree._Element]) -> bytes:
    """One element serialised (text made XML-safe: lxml refuses control characters)."""
    el = etree.Element(tag)
    for key, value in attrs.items():
        el.set(key, "".join(c for c in value if c.isprintable()))
    el.text = "".join(c for c in text if c.isprintable())
    el.extend(children)
    return bytes(etree.tostring(el))


TREES = st.recursive(
    st.builds(
        lambda t, a, x: etree.fromstring(element(t, a, x, [])), st.sampled_from(TAGS), ATTRS, TEXT
    ),
    lambda inner: st.builds(
        lambda t, a, x, c: etree.fromstring(element(t, a, x, c)),
        st.sampled_from(TAGS),
        ATTRS,
        TEXT,
        st.lists(inner, max_size=5),
    ),
    max_leaves=40,
)


@st.composite
def xml_bodies(draw: st.DrawFn) -> bytes:
    """An answer under a real root, with a real DOCTYPE or none, then cut and spliced."""
    root = etree.Element(draw(st.sampled_from(ROOTS)))
    root.extend(draw(st.lists(TREES, max_size=6)))
    doctype = draw(st.sampled_from([None, *(f.doctype for f in FORMATS.values() if f.doctype)]))
    body = bytes(etree.tostring(root, doctype=doctype, xml_declaration=draw(st.booleans())))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(NOISE | st.binary(max_size=6)) + body[at:]
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    return body


def chunked(body: bytes, sizes: list[int]) -> list[bytes]:
    out, at = [], 0
    for size in sizes:
        out.append(body[at : at + size])
        at += size
    return [*out, body[at:]]


@given(
    xml_bodies(),
    st.lists(st.integers(1, 64), max_size=8),
    st.sampled_from([None, "snp", "gene", "pubmed"]),
    st.sampled_from([None, *FORMATS.values()]),
)
def test_no_xml_answer_raises_anything_but_a_parse_error(body, sizes, db, fmt) -> None:
    with bounded():
        try:
            for _ in parse_chunks(chunked(body, sizes), db=db, fmt=fmt):
                pass
        except ParseError:
            pass


KEYS = st.sampled_from(
    [
        "header",
        "type",
        "esearchresult",
        "count",
        "retmax",
        "retstart",
        "idlist",
        "webenv",
        "querykey",
        "linksets",
        "dbfrom",
        "ids",
        "linksetdbs",
        "dbto",
        "linkname",
        "links",
        "linksetdbhistories",
        "idchecklist",
        "idlinksets",
        "linkinfos",
        "result",
        "uids",
        "error",
        "ERROR",
        "esummaryresult",
        "einforesult",
        "dblist",
        "score",
        "id",
        "value",
        "errorlist",
        "warninglist",
        "phrasesnotfound",
        "fieldsnotfound",
        "querytranslation",
        "objurls",
        "url",
        "elink",
        "esearch",
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=40,
)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    body = orjson.dumps(draw(st.dictionaries(KEYS, JSON, min_size=1, max_size=4)))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(max_size=4)) + body[at:]
    return body


@given(json_bodies(), st.sampled_from(["", "snp", "gene", "pubmed"]))
def test_no_json_answer_raises_anything_but_a_parse_error(body, db) -> None:
    with bounded():
        try:
            for _ in parse_json(body, db):
                pass
        except ParseError:
            pass
