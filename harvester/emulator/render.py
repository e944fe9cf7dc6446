"""NCBI's response envelopes for einfo, esearch, epost, elink and errors, in XML and JSON.

Shapes follow the captured responses in ../shared/ncbi-samples/ and the seed documents: an XML
declaration, the DTD line NCBI sends, and one element per line so line-oriented parsers (the
seed's Perl programs) find `<QueryKey>`, `<WebEnv>` and `<Id>` on lines of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import orjson

XML_DECL = '<?xml version="1.0" encoding="UTF-8" ?>\n'
DOCTYPES = {
    "eInfoResult": '<!DOCTYPE eInfoResult PUBLIC "-//NLM//DTD einfo 20190110//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20190110/einfo.dtd">',
    "eSearchResult": '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">',
    "ePostResult": '<!DOCTYPE ePostResult PUBLIC "-//NLM//DTD epost 20090526//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20090526/epost.dtd">',
    "eLinkResult": '<!DOCTYPE eLinkResult PUBLIC "-//NLM//DTD elink 20101123//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20101123/elink.dtd">',
    "eSummaryResult": '<!DOCTYPE eSummaryResult PUBLIC "-//NLM//DTD esummary v1 20041029//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20041029/esummary-v1.dtd">',
    "eFetchResult": '<!DOCTYPE eFetchResult PUBLIC "-//NLM//DTD efetch 20131226//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">',
}
JSON_VERSION = "0.3"


def esc(text: object) -> str:
    """Escape text for XML element content and attribute values."""
    s = str(text)
    if "&" in s or "<" in s or ">" in s or '"' in s:
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        s = s.replace('"', "&quot;")
    return s


def head(root: str) -> str:
    """XML declaration and DOCTYPE line for a result root."""
    return XML_DECL + DOCTYPES[root] + "\n"


def xml_error(root: str, message: str) -> str:
    """`<root><ERROR>message</ERROR></root>`, NCBI's in-band error (HTTP 200)."""
    return f"{head(root)}<{root}>\n\t<ERROR>{esc(message)}</ERROR>\n</{root}>\n"


def json_doc(kind: str, body: dict[str, object]) -> bytes:
    """A JSON response with NCBI's header block, pretty-printed as NCBI does."""
    return orjson.dumps(
        {"header": {"type": kind, "version": JSON_VERSION}, **body}, option=orjson.OPT_INDENT_2
    )


def json_error(kind: str, message: str) -> bytes:
    """The JSON error shape of an endpoint (see eutils_json/*.error.json)."""
    if kind == "esummary":
        return json_doc(kind, {"esummaryresult": [message]})
    if kind == "elink":
        return json_doc(kind, {"ERROR": message})
    return json_doc(kind, {f"{kind}result": {"ERROR": message}})


# -- einfo -------------------------------------------------------------------------------------
def einfo_dblist(names: Iterable[str], as_json: bool) -> str | bytes:
    names = list(names)
    if as_json:
        return json_doc("einfo", {"einforesult": {"dblist": names}})
    lines = "".join(f"\t<DbName>{n}</DbName>\n" for n in names)
    return f"{head('eInfoResult')}<eInfoResult>\n<DbList>\n\n{lines}</DbList>\n\n</eInfoResult>\n"


@dataclass(frozen=True, slots=True)
class DbInfo:
    name: str
    menu_name: str
    description: str
    count: int
    last_update: str
    fields: Sequence[tuple[str, str, str]]
    """(Name, FullName, Description)"""
    links: Sequence[tuple[str, str, str, str]]
    """(Name, Menu, Description, DbTo)"""


def einfo_db(info: DbInfo, as_json: bool) -> str | bytes:
    if as_json:
        return json_doc(
            "einfo",
            {
                "einforesult": {
                    "dbinfo": [
                        {
                            "dbname": info.name,
                            "menuname": info.menu_name,
                            "description": info.description,
                            "dbbuild": "Build-synthetic",
                            "count": str(info.count),
                            "lastupdate": info.last_update,
                            "fieldlist": [
                                {
                                    "name": n,
                                    "fullname": f,
                                    "description": d,
                                    "isdate": "N",
                                    "isnumerical": "N",
                                    "singletoken": "N",
                                    "hierarchy": "N",
                                    "ishidden": "N",
                                }
                                for n, f, d in info.fields
                            ],
                            "linklist": [
                                {"name": n, "menu": m, "description": d, "dbto": t}
                                for n, m, d, t in info.links
                            ],
                        }
                    ]
                }
            },
        )
    out = [
        head("eInfoResult"),
        "<eInfoResult>\n\t<DbInfo>\n",
        f"\t<DbName>{info.name}</DbName>\n\t<MenuName>{esc(info.menu_name)}</MenuName>\n",
        f"\t<Description>{esc(info.description)}</Description>\n",
        "\t<DbBuild>Build-synthetic</DbBuild>\n",
        f"\t<Count>{info.count}</Count>\n\t<LastUpdate>{info.last_update}</LastUpdate>\n",
        "\t<FieldList>\n",
    ]
    for name, full, description in info.fields:
        out.append(
            f"\t\t<Field>\n\t\t\t<Name>{name}</Name>\n\t\t\t<FullName>{esc(full)}</FullName>\n"
            f"\t\t\t<Description>{esc(description)}</Description>\n"
            "\t\t\t<TermCount>0</TermCount>\n\t\t\t<IsDate>N</IsDate>\n"
            "\t\t\t<IsNumerical>N</IsNumerical>\n\t\t\t<SingleToken>N</SingleToken>\n"
            "\t\t\t<Hierarchy>N</Hierarchy>\n\t\t\t<IsHidden>N</IsHidden>\n\t\t</Field>\n"
        )
    out.append("\t</FieldList>\n\t<LinkList>\n")
    for name, menu, description, dbto in info.links:
        out.append(
            f"\t\t<Link>\n\t\t\t<Name>{name}</Name>\n\t\t\t<Menu>{esc(menu)}</Menu>\n"
            f"\t\t\t<Description>{esc(description)}</Description>\n"
            f"\t\t\t<DbTo>{dbto}</DbTo>\n\t\t</Link>\n"
        )
    out.append("\t</LinkList>\n\t</DbInfo>\n</eInfoResult>\n")
    return "".join(out)


# -- esearch -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SearchResult:
    count: int
    retmax: int
    retstart: int
    ids: Sequence[int | str]
    """uids, or accession.versions with idtype=acc"""
    translation: str
    query_key: int | None = None
    webenv: str | None = None
    phrases_not_found: Sequence[str] = field(default_factory=tuple)
    fields_not_found: Sequence[str] = field(default_factory=tuple)
    warnings: Sequence[str] = field(default_factory=tuple)


def esearch(result: SearchResult, as_json: bool) -> str | bytes:
    r = result
    if as_json:
        body: dict[str, object] = {
            "count": str(r.count),
            "retmax": str(r.retmax),
            "retstart": str(r.retstart),
        }
        if r.query_key is not None:
            body["querykey"] = str(r.query_key)
            body["webenv"] = r.webenv
        body["idlist"] = [str(i) for i in r.ids]
        body["translationset"] = []
        body["querytranslation"] = r.translation
        if r.phrases_not_found or r.fields_not_found:
            body["errorlist"] = {
                "phrasesnotfound": list(r.phrases_not_found),
                "fieldsnotfound": list(r.fields_not_found),
            }
        if r.warnings:
            body["warninglist"] = {
                "phrasesignored": [],
                "quotedphrasesnotfound": [],
                "outputmessages": list(r.warnings),
            }
        return json_doc("esearch", {"esearchresult": body})
    out = [
        head("eSearchResult"),
        f"<eSearchResult><Count>{r.count}</Count><RetMax>{r.retmax}</RetMax>"
        f"<RetStart>{r.retstart}</RetStart>",
    ]
    if r.query_key is not None:
        out.append(f"<QueryKey>{r.query_key}</QueryKey><WebEnv>{r.webenv}</WebEnv>")
    out.append("<IdList>\n")
    out.extend(f"<Id>{i}</Id>\n" for i in r.ids)
    out.append("</IdList><TranslationSet/>")
    out.append(f"<QueryTranslation>{esc(r.translation)}</QueryTranslation>")
    if r.phrases_not_found or r.fields_not_found:
        out.append("<ErrorList>")
        out.extend(f"<PhraseNotFound>{esc(p)}</PhraseNotFound>" for p in r.phrases_not_found)
        out.extend(f"<FieldNotFound>{esc(p)}</FieldNotFound>" for p in r.fields_not_found)
        out.append("</ErrorList>")
    if r.warnings:
        out.append("<WarningList>")
        out.extend(f"<OutputMessage>{esc(w)}</OutputMessage>" for w in r.warnings)
        out.append("</WarningList>")
    out.append("</eSearchResult>\n")
    return "".join(out)


# -- epost -------------------------------------------------------------------------------------
def epost(query_key: int, webenv: str, invalid: Sequence[str] = ()) -> str:
    bad = ""
    if invalid:
        bad = "\t<InvalidIdList>\n" + "".join(f"\t\t<Id>{esc(i)}</Id>\n" for i in invalid)
        bad += "\t</InvalidIdList>\n"
    return (
        f"{head('ePostResult')}<ePostResult>\n{bad}\t<QueryKey>{query_key}</QueryKey>\n"
        f"\t<WebEnv>{webenv}</WebEnv>\n</ePostResult>\n"
    )
