"""Typed values the E-utilities parsers yield: one class per response shape, plus in-band errors.

Parsers turn bytes into these and nothing else, so the harvest, `harvester inspect` and tests
share one vocabulary. `Record` keeps the live lxml element (valid until the iteration moves on)
so field extraction costs nothing extra; `Record.xml()` serialises it on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harvester.eutils._lxml import etree
from harvester.ncbi import SNP_DOCSUM_NS

__all__ = [
    "DbInfo",
    "DbLink",
    "DbList",
    "ErrorResult",
    "HistoryLink",
    "IdCheck",
    "IdUrls",
    "Item",
    "LinkInfo",
    "LinkSet",
    "LinkSetDb",
    "LinkSetHistory",
    "ObjUrl",
    "OtherResult",
    "PostResult",
    "Provider",
    "Record",
    "SearchResult",
]


@dataclass(frozen=True, slots=True)
class LinkSetDb:
    """One link list of a LinkSet; several may share a DbTo, so key them by link name."""

    dbto: str
    linkname: str
    links: tuple[str, ...]
    scores: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class LinkSet:
    """elink neighbor/neighbor_score: the link lists of the input ids in `ids` (match by id)."""

    dbfrom: str
    ids: tuple[str, ...]
    dbs: tuple[LinkSetDb, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryLink:
    """One neighbor_history entry: the linked UIDs sit on the History server under query_key."""

    dbto: str
    linkname: str
    query_key: str


@dataclass(frozen=True, slots=True)
class LinkSetHistory:
    """elink neighbor_history: one query key per link name, no counts."""

    dbfrom: str
    ids: tuple[str, ...]
    webenv: str
    histories: tuple[HistoryLink, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """One link an acheck answer says is available."""

    dbto: str
    linkname: str
    menu_tag: str | None = None
    html_tag: str | None = None
    priority: int | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class IdCheck:
    """acheck/ncheck/lcheck for one id; the Has* flags are None when the shape does not say."""

    dbfrom: str
    id: str
    has_linkout: bool | None = None
    has_neighbor: bool | None = None
    links: tuple[LinkInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class Provider:
    """Who serves an external link (llinks/prlinks)."""

    name: str | None
    name_abbr: str | None
    id: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class ObjUrl:
    """One external link of an id."""

    url: str | None
    icon_url: str | None = None
    link_name: str | None = None
    subject_types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    provider: Provider | None = None


@dataclass(frozen=True, slots=True)
class IdUrls:
    """llinks/llinkslib/prlinks for one id."""

    dbfrom: str
    id: str
    urls: tuple[ObjUrl, ...] = ()


@dataclass(frozen=True, slots=True)
class PostResult:
    """epost: where the posted ids now live on the History server."""

    webenv: str
    query_key: str
    invalid_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchResult:
    """esearch: counts, ids of this page, history entry, and the not-found/warning lists."""

    count: int
    retmax: int
    retstart: int
    ids: tuple[str, ...] = ()
    query_key: str | None = None
    webenv: str | None = None
    query_translation: str | None = None
    phrases_not_found: tuple[str, ...] = ()
    fields_not_found: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DbList:
    """einfo without db: the database names."""

    dbs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OtherResult:
    """A valid answer of a kind the parsers were not taught (ESpell, ECitMatch, ...), with no
    non-empty ERROR in it: reported by its root, never mistaken for an error."""

    root: str


@dataclass(frozen=True, slots=True)
class DbLink:
    """One entry of einfo's LinkList: a link name from the db, where it leads, what it means."""

    name: str
    menu: str
    description: str
    dbto: str


@dataclass(frozen=True, slots=True)
class DbInfo:
    """einfo with db: the database's names and its link names (LinkList), in NCBI's order."""

    name: str
    menu_name: str
    description: str
    links: tuple[DbLink, ...]


@dataclass(frozen=True, slots=True)
class ErrorResult:
    """An in-band error (`<ERROR>`, JSON "error"/"ERROR"); `where` names the element or key."""

    message: str
    where: str = "ERROR"


@dataclass(frozen=True, slots=True, init=False)
class Record:
    """One efetch/esummary record keyed by its uid; `error` set for per-uid errors.

    `element` is the parsed element while the stream sits on it (cleared afterwards): extract
    fields or call `xml()` before advancing. JSON esummary records carry `doc` instead.
    `aliases` are the record's other ids (a sequence's gi beside its accession.version).
    `raw` is the record's own bytes as NCBI sent them (record_bytes.py), when they are known;
    `digest` what a caller's digest made of the element while it was alive (fields.py's
    (value, whole record), extracted where the parse ran, off the event loop).
    """

    db: str
    uid: str
    element: etree._Element | None = None
    doc: Mapping[str, Any] | None = None
    error: str | None = None
    aliases: tuple[str, ...] = field(default=(), repr=False)
    raw: bytes | None = field(default=None, repr=False, compare=False)
    digest: tuple[bytes, bytes] | None = field(default=None, repr=False, compare=False)

    def __init__(
        self,
        db: str,
        uid: str,
        element: etree._Element | None = None,
        doc: Mapping[str, Any] | None = None,
        error: str | None = None,
        aliases: tuple[str, ...] = (),
        raw: bytes | None = None,
        digest: tuple[bytes, bytes] | None = None,
    ) -> None:
        """The frozen dataclass's own `__init__`, done through the slots' setters: its five
        `object.__setattr__` calls took 0.55 us a record (these 0.31), 5% of an esummary parse."""
        _set_db(self, db)
        _set_uid(self, uid)
        _set_element(self, element)
        _set_doc(self, doc)
        _set_error(self, error)
        _set_aliases(self, aliases)
        _set_raw(self, raw)
        _set_digest(self, digest)

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id NCBI put in the record, its uid first: what a target may join it by."""
        return (self.uid, *self.aliases) if self.aliases else (self.uid,)

    def key_among(self, is_target: Callable[[str], bool]) -> str | None:
        """The first of the record's ids that `is_target` accepts: the id its target has."""
        for key in self.ids:
            if is_target(key):
                return key
        return None

    def digested(self, digest: tuple[bytes, bytes] | None) -> Record:
        """This record without its element (about to be cleared), carrying `digest` instead."""
        return Record(self.db, self.uid, None, self.doc, self.error, self.aliases, None, digest)

    def xml(self) -> bytes:
        """The record serialised (call before the stream advances)."""
        if self.element is None:
            return b""
        return bytes(etree.tostring(self.element, encoding="utf-8"))

    def findtext(self, path: str, default: str = "") -> str:
        """Child text at `path` (namespace-agnostic for the SNP docsum namespace)."""
        if self.element is not None:
            found = self.element.findtext(path, None, namespaces=_NS_MAP)
            if found is None and ":" not in path and self.element.tag.startswith("{"):
                found = self.element.findtext("snp:" + path.replace("/", "/snp:"), None, _NS_MAP)
            return default if found is None else found
        if self.doc is not None:
            value = self.doc.get(path.lower())
            return default if value is None else str(value)
        return default


_NS_MAP = {"snp": SNP_DOCSUM_NS}
_set_db, _set_uid, _set_element, _set_doc, _set_error, _set_aliases, _set_raw, _set_digest = (
    Record.__dict__[name].__set__
    for name in ("db", "uid", "element", "doc", "error", "aliases", "raw", "digest")
)

Item = (
    LinkSet
    | LinkSetHistory
    | IdCheck
    | IdUrls
    | PostResult
    | SearchResult
    | DbList
    | DbInfo
    | Record
    | OtherResult
    | ErrorResult
)
