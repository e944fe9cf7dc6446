"""Every elink shape, XML and JSON, parsed from small inline documents; matched by id."""

from __future__ import annotations

import orjson

from harvester.eutils.client import index_by_id
from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import (
    ErrorResult,
    HistoryLink,
    IdCheck,
    IdUrls,
    LinkInfo,
    LinkSet,
    LinkSetDb,
    LinkSetHistory,
)

HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eLinkResult PUBLIC "-//NLM//DTD elink '
    '20101123//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20101123/elink.dtd">\n'
)


def parse(body: str) -> list[object]:
    return list(parse_bytes((HEAD + body).encode()))


def test_neighbor_score_per_id_linksets_matched_by_id_not_position() -> None:
    items = parse(
        "<eLinkResult>"
        "<LinkSet><DbFrom>pubmed</DbFrom><IdList><Id>672</Id></IdList></LinkSet>"
        "<LinkSet><DbFrom>pubmed</DbFrom><IdList><Id>12345678</Id></IdList>"
        "<LinkSetDb><DbTo>gene</DbTo><LinkName>pubmed_gene</LinkName>"
        "<Link><Id>7157</Id><Score>1000</Score></Link><Link><Id>672</Id><Score>800</Score></Link>"
        "</LinkSetDb></LinkSet></eLinkResult>"
    )
    by_id = index_by_id(items)  # type: ignore[arg-type]
    assert set(by_id) == {"672", "12345678"}
    (hit,) = by_id["12345678"]
    assert isinstance(hit, LinkSet)
    assert hit.dbs == (LinkSetDb("gene", "pubmed_gene", ("7157", "672"), (1000, 800)),)
    (empty,) = by_id["672"]
    assert isinstance(empty, LinkSet) and empty.dbs == ()


def test_several_linksetdbs_keyed_by_linkname() -> None:
    (ls,) = parse(
        "<eLinkResult><LinkSet><DbFrom>snp</DbFrom><IdList><Id>242</Id></IdList>"
        "<LinkSetDb><DbTo>pubmed</DbTo><LinkName>snp_pubmed</LinkName>"
        "<Link><Id>8808290</Id></Link></LinkSetDb>"
        "<LinkSetDb><DbTo>snp</DbTo><LinkName>snp_snp_genegenotype</LinkName>"
        "<Link><Id>242</Id></Link></LinkSetDb>"
        "<LinkSetDb><DbTo>taxonomy</DbTo><LinkName>snp_taxonomy</LinkName>"
        "<Link><Id>9606</Id></Link></LinkSetDb>"
        "<LinkSetDb><DbTo>unists</DbTo><LinkName>snp_unists</LinkName>"
        "<Link><Id>71299</Id></Link></LinkSetDb></LinkSet></eLinkResult>"
    )
    assert isinstance(ls, LinkSet)
    assert {d.linkname: d.links for d in ls.dbs} == {
        "snp_pubmed": ("8808290",),
        "snp_snp_genegenotype": ("242",),
        "snp_taxonomy": ("9606",),
        "snp_unists": ("71299",),
    }
    assert all(d.scores is None for d in ls.dbs)


def test_neighbor_history() -> None:
    (ls,) = parse(
        "<eLinkResult><LinkSet><DbFrom>gene</DbFrom><IdList><Id>3718</Id></IdList>"
        "<LinkSetDbHistory><DbTo>snp</DbTo><LinkName>gene_snp</LinkName><QueryKey>2</QueryKey>"
        "</LinkSetDbHistory><WebEnv>MCID_0123456789abcdef01234567</WebEnv></LinkSet></eLinkResult>"
    )
    assert ls == LinkSetHistory(
        "gene", ("3718",), "MCID_0123456789abcdef01234567", (HistoryLink("snp", "gene_snp", "2"),)
    )


def test_neighbor_history_without_links_has_no_keys() -> None:
    (ls,) = parse(
        "<eLinkResult><LinkSet><DbFrom>gene</DbFrom><IdList><Id>1</Id></IdList>"
        "<WebEnv>MCID_x</WebEnv></LinkSet></eLinkResult>"
    )
    assert ls == LinkSetHistory("gene", ("1",), "MCID_x", ())


def test_acheck_modern_shape() -> None:
    (check,) = parse(
        "<eLinkResult><LinkSet><DbFrom>pubmed</DbFrom><IdCheckList><IdLinkSet><Id>12345678</Id>"
        "<LinkInfo><DbTo>gene</DbTo><LinkName>pubmed_gene</LinkName><MenuTag>Gene Links</MenuTag>"
        "<HtmlTag>Gene</HtmlTag><Priority>128</Priority></LinkInfo>"
        "<LinkInfo><DbTo>LinkOut</DbTo><LinkName>ExternalLink</LinkName>"
        "<HtmlTag>LinkOut</HtmlTag><Priority>255</Priority></LinkInfo>"
        "</IdLinkSet></IdCheckList></LinkSet></eLinkResult>"
    )
    assert check == IdCheck(
        "pubmed",
        "12345678",
        links=(
            LinkInfo("gene", "pubmed_gene", "Gene Links", "Gene", 128),
            LinkInfo("LinkOut", "ExternalLink", None, "LinkOut", 255),
        ),
    )


def test_acheck_seed_shape() -> None:
    (check,) = parse(
        "<eLinkResult><LinkSet><DbFrom>pubmed</DbFrom><IdCheckList><Id>"
        "<HasLinkOut>Y</HasLinkOut><HasNeighbor>N</HasNeighbor><value>12345678</value>"
        "</Id></IdCheckList></LinkSet></eLinkResult>"
    )
    assert check == IdCheck("pubmed", "12345678", has_linkout=True, has_neighbor=False)


def test_ncheck_and_lcheck() -> None:
    items = parse(
        "<eLinkResult><LinkSet><DbFrom>pubmed</DbFrom><IdCheckList>"
        '<Id HasNeighbor="Y">1</Id><Id HasNeighbor="N">2</Id></IdCheckList></LinkSet>'
        '<LinkSet><DbFrom>pubmed</DbFrom><IdCheckList><Id HasLinkOut="Y">3</Id>'
        "</IdCheckList></LinkSet></eLinkResult>"
    )
    assert items == [
        IdCheck("pubmed", "1", None, True),
        IdCheck("pubmed", "2", None, False),
        IdCheck("pubmed", "3", True, None),
    ]


def test_llinks_and_prlinks() -> None:
    (urls,) = parse(
        "<eLinkResult><LinkSet><DbFrom>pubmed</DbFrom><IdUrlList><IdUrlSet><Id>12345678</Id>"
        "<ObjUrl><Url>https://www.example.com/article/12345678</Url><LinkName>Full Text</LinkName>"
        "<SubjectType>full-text</SubjectType><Category>Full Text Sources</Category>"
        "<Attribute>free resource</Attribute><Provider><Name>Example Publisher</Name>"
        "<NameAbbr>EP</NameAbbr><Id>1234</Id><Url>https://www.example.com</Url></Provider>"
        "</ObjUrl></IdUrlSet></IdUrlList></LinkSet></eLinkResult>"
    )
    assert isinstance(urls, IdUrls) and urls.id == "12345678"
    (obj,) = urls.urls
    assert obj.url == "https://www.example.com/article/12345678"
    assert (obj.subject_types, obj.categories, obj.attributes) == (
        ("full-text",),
        ("Full Text Sources",),
        ("free resource",),
    )
    assert obj.provider is not None and obj.provider.name_abbr == "EP"


def test_top_level_and_per_linkset_errors() -> None:
    (error,) = parse("<eLinkResult><ERROR>Invalid db name specified: x</ERROR></eLinkResult>")
    assert error == ErrorResult("Invalid db name specified: x", "ERROR")
    (ls,) = parse(
        "<eLinkResult><LinkSet><DbFrom>pubmed</DbFrom><IdList><Id>0</Id></IdList>"
        "<ERROR>UID=0: cannot get links</ERROR></LinkSet></eLinkResult>"
    )
    assert isinstance(ls, LinkSet) and ls.error == "UID=0: cannot get links"


def test_a_huge_linkset_keeps_the_tree_small() -> None:
    links = "".join(f"<Link><Id>{i}</Id></Link>" for i in range(50_000))
    body = (
        "<eLinkResult><LinkSet><DbFrom>pubmed</DbFrom><IdList><Id>1</Id></IdList>"
        f"<LinkSetDb><DbTo>pubmed</DbTo><LinkName>pubmed_pubmed</LinkName>{links}</LinkSetDb>"
        "</LinkSet></eLinkResult>"
    )
    (ls,) = parse(body)
    assert isinstance(ls, LinkSet) and len(ls.dbs[0].links) == 50_000
    assert ls.dbs[0].links[-1] == "49999"


def json_items(doc: object) -> list[object]:
    return list(parse_bytes(orjson.dumps(doc)))


def test_json_neighbor_and_missing_linksetdbs() -> None:
    items = json_items(
        {
            "header": {"type": "elink", "version": "0.3"},
            "linksets": [
                {
                    "dbfrom": "pubmed",
                    "ids": ["1"],
                    "linksetdbs": [
                        {"dbto": "gene", "linkname": "pubmed_gene", "links": ["7157", "672"]}
                    ],
                },
                {"dbfrom": "pubmed", "ids": ["2"]},
            ],
        }
    )
    assert items == [
        LinkSet("pubmed", ("1",), (LinkSetDb("gene", "pubmed_gene", ("7157", "672")),)),
        LinkSet("pubmed", ("2",), ()),
    ]


def test_json_neighbor_score_and_history() -> None:
    (scored,) = json_items(
        {
            "header": {"type": "elink"},
            "linksets": [
                {
                    "dbfrom": "pubmed",
                    "ids": ["1"],
                    "linksetdbs": [
                        {
                            "dbto": "gene",
                            "linkname": "pubmed_gene",
                            "links": [{"id": "7157", "score": 1000}, {"id": "672", "score": "800"}],
                        }
                    ],
                }
            ],
        }
    )
    assert scored == LinkSet(
        "pubmed", ("1",), (LinkSetDb("gene", "pubmed_gene", ("7157", "672"), (1000, 800)),)
    )
    (hist,) = json_items(
        {
            "header": {"type": "elink"},
            "linksets": [
                {
                    "dbfrom": "gene",
                    "ids": ["3718"],
                    "linksetdbhistories": [
                        {"dbto": "snp", "linkname": "gene_snp", "querykey": "2"}
                    ],
                    "webenv": "MCID_y",
                }
            ],
        }
    )
    assert hist == LinkSetHistory(
        "gene", ("3718",), "MCID_y", (HistoryLink("snp", "gene_snp", "2"),)
    )


def test_json_top_level_error() -> None:
    (error,) = json_items({"error": "API rate limit exceeded", "api-key": "1.2.3.4", "count": "5"})
    assert error == ErrorResult("API rate limit exceeded", "error")
