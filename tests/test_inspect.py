"""`harvester inspect` over every captured sample, plus its error objects and exit codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from harvester.cli import main

KINDS = {
    "linkset",
    "linkset_history",
    "idcheck",
    "idurls",
    "post",
    "search",
    "record",
    "info",
    "result",
    "error",
}
XML_ERROR = re.compile(rb"<ERROR>\s*[^<\s]|<ErrorList>")


def says_error(body: bytes) -> bool:
    """Whether a body holds a non-empty ERROR (or esearch's ErrorList, esummary's error list);
    a per-uid error inside a record does not make the answer an error."""
    if not body.lstrip().startswith(b"{"):
        return bool(XML_ERROR.search(body))
    doc = orjson.loads(body)
    parts = [doc, *(v for v in doc.values() if isinstance(v, dict))]
    if any(str(p.get("ERROR") or "").strip() for p in parts) or doc.get("error"):
        return True
    search = doc.get("esearchresult") or {}
    return bool(doc.get("esummaryresult") or (search.get("errorlist") or {}).get("phrasesnotfound"))


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["inspect", *args])
    out = capsysbinary.readouterr().out
    return code, [orjson.loads(line) for line in out.splitlines()]


def sample_files(samples: Path) -> list[Path]:
    return sorted(
        p
        for p in samples.rglob("*")
        if p.suffix in (".xml", ".json") and not p.name.endswith(".headers.json")
    )


def test_every_sample_file(samples: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    files = sample_files(samples)
    code, objects = run(capsysbinary, *map(str, files))
    assert code == 0
    assert {o["kind"] for o in objects} <= KINDS
    assert {o["source"] for o in objects} == {str(f) for f in files}  # every file said something
    records = {(o["db"], o["uid"]) for o in objects if o["kind"] == "record"}
    assert {("snp", "2031"), ("snp", "14181"), ("gene", "4747"), ("pubmed", "1234567")} <= records


def test_no_valid_sample_is_reported_as_an_error(
    samples: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    files = sample_files(samples)
    valid = [f for f in files if not says_error(f.read_bytes())]
    assert len(valid) >= 20  # the loop must cover the samples, not pass by skipping them
    for path in files:
        code, objects = run(capsysbinary, str(path))
        assert code == 0
        errors = [o for o in objects if o["kind"] == "error"]
        if path in valid:
            assert not errors, path
        else:
            assert errors, path


UNTAUGHT: list[tuple[bytes, list[str]]] = [
    (  # a PMC efetch
        b'<?xml version="1.0" ?>\n<!DOCTYPE pmc-articleset PUBLIC "-//NLM//DTD ARTICLE SET 2.0//EN"'
        b' "https://dtd.nlm.nih.gov/ncbi/pmc/articleset/nlm-articleset-2.0.dtd">\n'
        b'<pmc-articleset><article article-type="research-article"><front><article-meta>'
        b'<article-id pub-id-type="pmc">PMC1</article-id></article-meta></front></article>'
        b"<article><front/></article></pmc-articleset>",
        ["record", "record"],
    ),
    (  # a BioSample efetch
        b'<?xml version="1.0" ?>\n<BioSampleSet><BioSample access="public" id="2981"'
        b' accession="SAMN00002981"><Ids><Id db="BioSample">SAMN00002981</Id></Ids></BioSample>'
        b"</BioSampleSet>",
        ["record"],
    ),
    (  # an NLM Catalog efetch
        b"<NLMCatalogRecordSet><NLMCatalogRecord><NlmUniqueID>0410462</NlmUniqueID>"
        b"</NLMCatalogRecord></NLMCatalogRecordSet>",
        ["record"],
    ),
    (  # an ESpell answer: its empty ERROR says nothing
        b"<eSpellResult><Database>pubmed</Database><Query>asthmaa</Query>"
        b"<CorrectedQuery>asthma</CorrectedQuery><SpelledQuery><Replaced>asthma</Replaced>"
        b"</SpelledQuery><ERROR/></eSpellResult>",
        ["result"],
    ),
    (b'{"header": {"type": "ecitmatch"}, "result": null, "ERROR": ""}', ["result"]),
    (  # two ERRORs in one ePostResult: both kept
        b"<ePostResult><ERROR>IDs contain invalid characters</ERROR>"
        b"<ERROR>Empty ID list; Nothing to store</ERROR></ePostResult>",
        ["error", "error"],
    ),
    (b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>", ["error"]),
]


@pytest.mark.parametrize(("body", "kinds"), UNTAUGHT)
def test_untaught_answers_are_records_or_results_unless_they_say_error(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], body: bytes, kinds: list[str]
) -> None:
    path = tmp_path / "answer"
    path.write_bytes(body)
    code, objects = run(capsysbinary, str(path))
    assert code == 0
    assert [o["kind"] for o in objects] == kinds
    if kinds == ["error", "error"]:
        assert [o["message"] for o in objects][1].startswith("Empty ID list")
    if objects[0]["kind"] == "record" and b"BioSample" in body:
        assert objects[0]["uid"] == "2981"


def test_a_permanent_error_is_not_retryable(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "efetch.xml"
    path.write_bytes(
        b"<eFetchResult><ERROR>Neither query_key nor id specified</ERROR></eFetchResult>"
    )
    _, (obj,) = run(capsysbinary, str(path))
    assert obj["kind"] == "error" and obj["retryable"] is False


@pytest.mark.parametrize(
    "name",
    [
        "biopython/epost2.xml",
        "eutils_json/einfo.error.xml",
        "eutils_json/einfo.error.json",
        "eutils_json/esearch.baderror.xml",
        "eutils_json/esearch.baderror.json",
        "eutils_json/esummary.error.xml",
        "eutils_json/esummary.error.json",
    ],
)
def test_error_samples_are_error_objects(
    samples: Path, capsysbinary: pytest.CaptureFixture[bytes], name: str
) -> None:
    code, objects = run(capsysbinary, str(samples / name))
    assert code == 0
    (obj,) = objects
    assert obj["kind"] == "error"
    assert obj["retryable"] is False
    assert "fleegle" in obj["message"] or "nothing" in obj["message"]


def test_esearch_error_list_gives_search_then_error(
    samples: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    _, objects = run(capsysbinary, str(samples / "eutils_json/esearch.error.xml"))
    assert [o["kind"] for o in objects] == ["search", "error"]
    assert objects[0]["count"] == 5163
    assert objects[0]["phrases_not_found"] == ["fleegle[MeSH Terms]"]
    assert "fleegle" in objects[1]["message"]


def test_linkset_and_post_fields(samples: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    _, (linkset,) = run(capsysbinary, str(samples / "biopython/elink2.xml"))
    assert linkset["kind"] == "linkset"
    assert linkset["dbfrom"] == "nuccore" and linkset["ids"] == ["48819", "7140345"]
    assert linkset["linksetdbs"] == [
        {"dbto": "protein", "linkname": "nuccore_protein", "links": ["48820"]}
    ]
    _, (post,) = run(capsysbinary, str(samples / "biopython/epost1.xml"))
    assert post["kind"] == "post" and post["query_key"] == "1"


def test_per_uid_error_record(samples: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    _, objects = run(capsysbinary, str(samples / "eutils_json/esummary.pmcerror.xml"))
    errors = {o["uid"]: o["error"] for o in objects}
    assert errors == {"254085": None, "1": "cannot get document summary", "14900": None}


def test_history_and_check_shapes(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    hist = tmp_path / "hist.xml"
    hist.write_bytes(
        b"<eLinkResult><LinkSet><DbFrom>gene</DbFrom><IdList><Id>3718</Id></IdList>"
        b"<LinkSetDbHistory><DbTo>snp</DbTo><LinkName>gene_snp</LinkName><QueryKey>2</QueryKey>"
        b"</LinkSetDbHistory><WebEnv>MCID_1</WebEnv></LinkSet>"
        b"<LinkSet><DbFrom>gene</DbFrom><IdCheckList><Id HasNeighbor='Y'>3718</Id></IdCheckList>"
        b"</LinkSet></eLinkResult>"
    )
    _, objects = run(capsysbinary, str(hist))
    assert [o["kind"] for o in objects] == ["linkset_history", "idcheck"]
    assert objects[0]["histories"] == [{"dbto": "snp", "linkname": "gene_snp", "query_key": "2"}]
    assert objects[1]["has_neighbor"] is True and objects[1]["id"] == "3718"


def test_unparsable_and_missing_files(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    html = tmp_path / "page.html"
    html.write_bytes(b"<html><body>502 Bad Gateway</body></html>")
    code, (obj,) = run(capsysbinary, str(html))
    assert code == 6
    assert obj["kind"] == "error" and obj["where"] == "parse" and obj["retryable"] is True
    assert main(["inspect", str(tmp_path / "absent.xml")]) == 3


def test_xml_flag_includes_the_record(
    samples: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    _, objects = run(
        capsysbinary, "--xml", str(samples / "biocommons_eutils/efetch_snp_2031_14181.xml")
    )
    assert objects[0]["xml"].startswith("<DocumentSummary")
