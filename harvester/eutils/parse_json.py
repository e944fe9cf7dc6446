"""Parsers for E-utilities JSON (`retmode=json`): elink, esearch, esummary, einfo and errors.

JSON answers are bounded (esummary JSON <= 500 uids), so they are decoded whole with orjson.
Ids arrive as strings, `linksetdbs` is absent for ids without links, and errors come as a
top-level "error", an "ERROR" inside the result, or a list of strings in `esummaryresult`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from harvester.errors import ParseError
from harvester.eutils.results import (
    DbList,
    ErrorResult,
    HistoryLink,
    IdCheck,
    IdUrls,
    Item,
    LinkInfo,
    LinkSet,
    LinkSetDb,
    LinkSetHistory,
    ObjUrl,
    OtherResult,
    Record,
    SearchResult,
)

__all__ = ["parse_json"]


def parse_json(data: bytes, db: str = "") -> Iterator[Item]:
    """Items of one JSON body; one of the wrong shape (a list or a null where an object
    belongs, ...) is a ParseError, as malformed JSON is, never a crash."""
    try:
        yield from _items(data, db)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        why = f"{type(exc).__name__}: {exc}"
        raise ParseError(f"JSON answer of an unexpected shape ({why})") from None


def _items(data: bytes, db: str) -> Iterator[Item]:
    """The header's `type` (or the top-level key) picks the shape."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ParseError("JSON answer is not an object")
    if isinstance(doc.get("error"), str) and doc["error"].strip():
        yield ErrorResult(doc["error"], "error")  # 429, invalid key, too many uids: never the key
        return
    kind = str((doc.get("header") or {}).get("type", ""))
    if "linksets" in doc or kind == "elink":
        yield from _elink(doc.get("linksets") or [])
    elif "esearchresult" in doc:
        yield from _esearch(doc["esearchresult"])
    elif "esummaryresult" in doc:
        for message in doc["esummaryresult"]:
            yield ErrorResult(str(message), "esummaryresult")
    elif isinstance(doc.get("result"), dict):
        yield from _esummary(doc["result"], db)
    elif "einforesult" in doc:
        result = doc["einforesult"]
        if "ERROR" in result:
            yield ErrorResult(str(result["ERROR"]), "ERROR")
        else:
            yield DbList(tuple(result.get("dblist") or ()))
    else:  # a kind not taught here: a result, unless it says ERROR
        message = str(doc.get("ERROR") or "").strip()
        yield ErrorResult(message, "ERROR") if message else OtherResult(kind or "json")


def _strs(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())


def _elink(linksets: list[Mapping[str, Any]]) -> Iterator[Item]:
    for ls in linksets:
        dbfrom, ids = str(ls.get("dbfrom", "")), _strs(ls.get("ids"))
        error = ls.get("ERROR")
        if "idchecklist" in ls:
            yield from _idchecks(dbfrom, ls["idchecklist"])
        elif "idurllist" in ls:
            for urlset in ls["idurllist"] or ():
                urls = tuple(_objurl(o) for o in urlset.get("objurls") or ())
                yield IdUrls(dbfrom, str(urlset.get("id", "")), urls)
        elif "linksetdbhistories" in ls or "webenv" in ls:
            histories = tuple(
                HistoryLink(str(h.get("dbto", "")), str(h.get("linkname", "")), str(h["querykey"]))
                for h in ls.get("linksetdbhistories") or ()
            )
            yield LinkSetHistory(dbfrom, ids, str(ls.get("webenv", "")), histories, error)
        else:
            yield LinkSet(
                dbfrom, ids, tuple(_linksetdb(d) for d in ls.get("linksetdbs") or ()), error
            )


def _linksetdb(d: Mapping[str, Any]) -> LinkSetDb:
    links = d.get("links") or []
    dbto, linkname = str(d.get("dbto", "")), str(d.get("linkname", ""))
    if links and isinstance(links[0], dict):  # neighbor_score: {"id", "score"}
        ids = tuple(str(link["id"]) for link in links)
        return LinkSetDb(dbto, linkname, ids, tuple(int(link["score"]) for link in links))
    return LinkSetDb(dbto, linkname, _strs(links))


def _idchecks(dbfrom: str, checks: Mapping[str, Any]) -> Iterator[IdCheck]:
    for idls in checks.get("idlinksets") or ():
        infos = tuple(
            LinkInfo(
                str(i.get("dbto", "")),
                str(i.get("linkname", "")),
                i.get("menutag"),
                i.get("htmltag"),
                int(i["priority"]) if str(i.get("priority", "")).isdigit() else None,
            )
            for i in idls.get("linkinfos") or ()
        )
        yield IdCheck(dbfrom, str(idls.get("id", "")), links=infos)
    for entry in checks.get("ids") or ():
        if isinstance(entry, Mapping):
            linkout, neighbor = entry.get("haslinkout"), entry.get("hasneighbor")
            yield IdCheck(
                dbfrom,
                str(entry.get("value", "")),
                None if linkout is None else str(linkout).upper() == "Y",
                None if neighbor is None else str(neighbor).upper() == "Y",
            )


def _objurl(o: Mapping[str, Any]) -> ObjUrl:
    url = o.get("url")
    if isinstance(url, Mapping):
        url = url.get("value")
    return ObjUrl(
        str(url) if url is not None else None,
        o.get("iconurl"),
        o.get("linkname"),
        _strs(o.get("subjecttypes")),
        _strs(o.get("categories")),
        _strs(o.get("attributes")),
    )


def _esearch(r: Mapping[str, Any]) -> Iterator[Item]:
    if "ERROR" in r and "count" not in r:
        yield ErrorResult(str(r["ERROR"]), "ERROR")
        return
    errors = r.get("errorlist") or {}
    warnings = r.get("warninglist") or {}
    yield SearchResult(
        count=int(r.get("count", 0)),
        retmax=int(r.get("retmax", 0)),
        retstart=int(r.get("retstart", 0)),
        ids=_strs(r.get("idlist")),
        query_key=str(r["querykey"]) if "querykey" in r else None,
        webenv=r.get("webenv"),
        query_translation=r.get("querytranslation"),
        phrases_not_found=_strs(errors.get("phrasesnotfound")),
        fields_not_found=_strs(errors.get("fieldsnotfound")),
        warnings=tuple(f"{k}: {v}" for k, vs in warnings.items() for v in vs or ()),
    )


def _esummary(result: Mapping[str, Any], db: str) -> Iterator[Item]:
    for uid in _strs(result.get("uids")):
        doc = result.get(uid)
        if not isinstance(doc, Mapping):
            yield Record(db, uid, None, None, "uid missing from the result")
            continue
        error = doc.get("error")
        yield Record(db, uid, None, doc, str(error) if error else None)
