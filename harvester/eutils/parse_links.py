"""Streaming parser for every elink XML shape (DTD eLink 20101123, plus the seed's older acheck).

`Link` elements are consumed as they end and deleted, so a LinkSet with a million links costs
its ids as strings, not a tree. The LinkSet's children say which shape it is: LinkSetDb
(neighbor, neighbor_score), LinkSetDbHistory/WebEnv (neighbor_history), IdCheckList (acheck,
ncheck, lcheck) or IdUrlList (llinks, llinkslib, prlinks). Callers match sets by `ids`.
"""

from __future__ import annotations

from collections.abc import Iterator

from harvester.eutils._lxml import etree
from harvester.eutils.results import (
    HistoryLink,
    IdCheck,
    IdUrls,
    Item,
    LinkInfo,
    LinkSet,
    LinkSetDb,
    LinkSetHistory,
    ObjUrl,
    Provider,
)
from harvester.eutils.xmlstream import PerElement, drop_previous, text_of, top_error

__all__ = ["LinkHandler"]

_BULK = 512
"""Finished Link elements kept before they are dropped together."""
_KEEP = 2
"""LinkSetDb's leading children (DbTo, LinkName) that must outlive its Links."""


def _text(el: etree._Element, path: str) -> str | None:
    found = el.findtext(path)
    return found.strip() if found is not None else None


def _yes(value: str | None) -> bool | None:
    return None if value is None else value.strip().upper() == "Y"


class LinkHandler(PerElement):
    """Builds LinkSet / LinkSetHistory / IdCheck / IdUrls items from an eLinkResult stream."""

    tags = ("Link", "LinkSetDb", "LinkSet", "ERROR")
    __slots__ = ("_dbs", "_links", "_pending", "_scores")

    def __init__(self) -> None:
        self._links: list[str] = []
        self._scores: list[int] = []
        self._dbs: list[LinkSetDb] = []
        self._pending = 0

    def on_end(self, el: etree._Element) -> Iterator[Item]:
        """Dispatch on the four tags this handler listens to."""
        tag = el.tag
        if tag == "Link":
            # Link is (Id, Score?) by the DTD: index the children instead of searching them,
            # and drop finished Links in bulk (DbTo and LinkName, read at LinkSetDb's end, stay).
            for child in el:
                if child.tag == "Id":
                    self._links.append((child.text or "").strip())
                elif child.tag == "Score":
                    self._scores.append(int(child.text or 0))
            self._pending += 1
            if self._pending >= _BULK:  # len() of an lxml element walks its children: count
                parent = el.getparent()  # None when an earlier bulk drop detached it
                if parent is not None and parent[_KEEP].tag == "Link":
                    del parent[_KEEP:-1]
                self._pending = 0
        elif tag == "LinkSetDb":
            scores = tuple(self._scores) if self._scores else None
            dbto, linkname = _text(el, "DbTo") or "", _text(el, "LinkName") or ""
            self._dbs.append(LinkSetDb(dbto, linkname, tuple(self._links), scores))
            self._links, self._scores = [], []
            el.clear(keep_tail=False)
        elif tag == "LinkSet":
            yield from self._linkset(el)
            self._dbs = []
            drop_previous(el)
        else:
            yield from top_error(el)

    def _linkset(self, el: etree._Element) -> Iterator[Item]:
        dbfrom = _text(el, "DbFrom") or ""
        ids = tuple((i.text or "").strip() for i in el.iterfind("IdList/Id"))
        found = el.find("ERROR")
        error = text_of(found) or None if found is not None else None  # <ERROR/> says nothing
        checks = el.find("IdCheckList")
        urls = el.find("IdUrlList")
        webenv = _text(el, "WebEnv")
        if checks is not None:
            yield from _idchecks(dbfrom, checks)
        elif urls is not None:
            yield from _idurls(dbfrom, urls)
        elif webenv is not None or el.find("LinkSetDbHistory") is not None:
            histories = tuple(
                HistoryLink(
                    _text(h, "DbTo") or "", _text(h, "LinkName") or "", _text(h, "QueryKey") or ""
                )
                for h in el.iterfind("LinkSetDbHistory")
            )
            yield LinkSetHistory(dbfrom, ids, webenv or "", histories, error)
        else:
            yield LinkSet(dbfrom, ids, tuple(self._dbs), error)

    def finish(self, root: etree._Element) -> Iterator[Item]:
        """Nothing is pending at the end of an eLinkResult."""
        root.clear()
        return iter(())


def _idchecks(dbfrom: str, checks: etree._Element) -> Iterator[IdCheck]:
    for child in checks:
        if child.tag == "IdLinkSet":  # modern acheck
            infos = tuple(_linkinfo(info) for info in child.iterfind("LinkInfo"))
            yield IdCheck(dbfrom, _text(child, "Id") or "", links=infos)
        elif child.tag == "Id":
            if len(child):  # the seed's acheck: <Id><HasLinkOut/><HasNeighbor/><value/></Id>
                uid = _text(child, "value") or (child.text or "").strip()
                linkout, neighbor = _text(child, "HasLinkOut"), _text(child, "HasNeighbor")
            else:  # ncheck / lcheck: <Id HasNeighbor="Y">123</Id>
                uid = (child.text or "").strip()
                linkout, neighbor = child.get("HasLinkOut"), child.get("HasNeighbor")
            yield IdCheck(dbfrom, uid, _yes(linkout), _yes(neighbor))


def _linkinfo(info: etree._Element) -> LinkInfo:
    priority = _text(info, "Priority")
    return LinkInfo(
        _text(info, "DbTo") or "",
        _text(info, "LinkName") or "",
        _text(info, "MenuTag"),
        _text(info, "HtmlTag"),
        int(priority) if priority and priority.isdigit() else None,
        _text(info, "Url"),
    )


def _idurls(dbfrom: str, urls: etree._Element) -> Iterator[IdUrls]:
    for urlset in urls.iterfind("IdUrlSet"):
        objs = tuple(_objurl(obj) for obj in urlset.iterfind("ObjUrl"))
        yield IdUrls(dbfrom, _text(urlset, "Id") or "", objs)


def _objurl(obj: etree._Element) -> ObjUrl:
    prov = obj.find("Provider")
    provider = None
    if prov is not None:
        provider = Provider(
            _text(prov, "Name"), _text(prov, "NameAbbr"), _text(prov, "Id"), _text(prov, "Url")
        )
    return ObjUrl(
        _text(obj, "Url"),
        _text(obj, "IconUrl"),
        _text(obj, "LinkName"),
        tuple((e.text or "").strip() for e in obj.iterfind("SubjectType")),
        tuple((e.text or "").strip() for e in obj.iterfind("Category")),
        tuple((e.text or "").strip() for e in obj.iterfind("Attribute")),
        provider,
    )
