"""Streaming record parsers for every efetch/esummary format in `harvester.ncbi.FORMATS`.

Each record is keyed by its uid read the right way for its format (never "any PMID below"),
yielded while its element is whole, then cleared with its earlier siblings. Only records that
sit directly in the set's container count: a taxonomy `Taxon` nested in `LineageEx` is not one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from harvester.eutils._lxml import etree
from harvester.eutils.record_bytes import RecordBytes, Span
from harvester.eutils.results import Item, Record
from harvester.eutils.xmlstream import Events, top_error
from harvester.ncbi import FORMATS, RecordFormat

__all__ = ["RecordHandler", "RecordSpec", "format_for_root", "guess_db", "specs_for"]


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One record tag (namespaced as lxml reports it) and where its uid sits."""

    tag: str
    uid_attr: str | None
    uid_path: str | None


# Record shapes that share a root with a FORMATS entry (pubmed books beside articles).
_EXTRA: dict[str, tuple[tuple[str, str], ...]] = {
    "pubmed": (("PubmedBookArticle", "BookDocument/PMID"),),
}
_FORMAT_DB = {
    "snp_exchangeset": "snp",
    "entrezgene": "gene",
    "pubmed": "pubmed",
    "taxaset": "taxonomy",
}
_SEQUENCE_SETS = ("gbset", "tseqset")
"""Formats shared by nuccore and protein: each record says which it is (`_seq_db`)."""
BULK_DELETE = 64  # cleared records kept before they are deleted together (memory stays flat)
_ESUMMARY_DTD = re.compile(r"eSummary_(\w+)\.dtd")


def _qualify(name: str, namespace: str | None) -> str:
    return f"{{{namespace}}}{name}" if namespace else name


def specs_for(fmt: RecordFormat) -> tuple[RecordSpec, ...]:
    """The record specs of a format: its own record plus shapes that may appear beside it."""
    specs = [_spec(fmt.record, fmt.uid_path, fmt.namespace)]
    specs += [_spec(tag, path, fmt.namespace) for tag, path in _EXTRA.get(fmt.key, ())]
    if fmt.root == "eSummaryResult":  # v1 and v2 share a root: accept both
        other = FORMATS["docsum_v2" if fmt.key == "docsum_v1" else "docsum_v1"]
        specs.append(_spec(other.record, other.uid_path, other.namespace))
    return tuple(specs)


def _spec(tag: str, uid_path: str, namespace: str | None) -> RecordSpec:
    qualified = _qualify(tag, namespace)
    if uid_path.startswith("@"):
        return RecordSpec(qualified, uid_path[1:], None)
    if namespace:
        uid_path = "/".join(_qualify(part, namespace) for part in uid_path.split("/"))
    return RecordSpec(qualified, None, uid_path)


_NO_PARENT = object()
"""`RecordHandler._container` before any record: never a parent, not even None."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _declarations(el: etree._Element, parent: etree._Element) -> bytes:
    """The namespace declarations a record inherits from its ancestors, as lxml's `tostring`
    writes them: the record's own namespace first, then the others in document order."""
    scope: dict[str | None, str] = dict(parent.nsmap)
    if not scope:
        return b""
    own = el.prefix
    order = [own] if own in scope else []
    order += [prefix for prefix in scope if prefix != own]
    return b"".join(
        b' xmlns%s="%s"' % (b":" + p.encode() if p else b"", _attr(scope[p])) for p in order
    )


def _attr(value: str) -> bytes:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").encode("utf-8")


def format_for_root(root: str) -> RecordFormat | None:
    """The record format whose root element has this local name."""
    for fmt in FORMATS.values():
        if fmt.root == root:
            return fmt
    return None


def guess_db(fmt: RecordFormat, system_url: str = "") -> str:
    """The database a format implies, when the caller did not say (inspect of a saved file)."""
    if fmt.key in _FORMAT_DB:
        return _FORMAT_DB[fmt.key]
    if fmt.key in _SEQUENCE_SETS:
        return "nuccore"
    match = _ESUMMARY_DTD.search(system_url)
    return match.group(1) if match else ""


def _seq_db(el: etree._Element, default: str) -> str:
    """GBSeq/TSeq records say themselves whether they are protein."""
    seqtype = el.find("TSeq_seqtype")
    if seqtype is not None:
        return "protein" if seqtype.get("value") == "protein" else "nuccore"
    moltype = el.findtext("GBSeq_moltype")
    if moltype is not None:
        return "protein" if moltype == "AA" else "nuccore"
    return default


def seqid_key(seqid: str) -> str:
    """The Entrez id in one of a sequence's seqids: `gi|N` gives N, `ref|NM_1.2|` NM_1.2, a
    plain id itself; a local one (`gnl|db|x`, `lcl|x`) none (FASTA-style seqids, as
    GBSeq_other-seqids and TSeq_sid write them)."""
    parts = seqid.strip().split("|")
    if len(parts) == 1:
        return parts[0]
    if parts[0] in _LOCAL_SEQIDS or (parts[0] != "gi" and parts[1].isdigit()):
        return ""  # a number that is not a gi (bbs|, bbm|, gim|) is no uid elink gives
    return parts[1]


_LOCAL_SEQIDS = frozenset(("gnl", "lcl"))


def _aliases(el: etree._Element, uid: str, paths: tuple[str, ...]) -> tuple[str, ...]:
    """A sequence record's ids other than its uid, in the record's order, each once."""
    found: list[str] = []
    for path in paths:
        for node in el.iterfind(path):
            key = seqid_key(node.text or "")
            if key and key != uid and key not in found:
                found.append(key)
    return tuple(found)


@functools.lru_cache(maxsize=64)
def _steps(path: str) -> tuple[str, ...]:
    return tuple(path.split("/"))


def _uid_text(el: etree._Element, path: str | None) -> str:
    """The uid at `path`, found by looking at first children where the DTD puts it
    (MedlineCitation/PMID, Entrezgene_track-info/...), else by a path search: the hot path."""
    if not path:
        return ""
    node = el
    for step in _steps(path):
        try:
            node = node[0]
        except IndexError:
            return ""
        if node.tag != step:
            return (el.findtext(path) or "").strip()
    return (node.text or "").strip()


class RecordHandler:
    """Yields a `Record` per top-level record element and an `ErrorResult` per top-level ERROR.

    A docsum's per-uid `<error>` arrives as its own end event just before its record's, so no
    record is searched for one (that search was a fifth of the esummary parse).
    """

    __slots__ = (
        "_alias_paths",
        "_by_tag",
        "_bytes",
        "_cleared",
        "_container",
        "_containers",
        "_db",
        "_error",
        "_inherit",
        "_per_record_db",
        "tags",
    )

    def __init__(self, fmt: RecordFormat, db: str, *, per_record_db: bool = False) -> None:
        specs = specs_for(fmt)
        self._by_tag = {spec.tag: spec for spec in specs}
        self._containers = {_qualify(fmt.root, fmt.namespace), "DocumentSummarySet"}
        self._db = db
        self._per_record_db = per_record_db and fmt.key in _SEQUENCE_SETS
        self._alias_paths = fmt.alias_paths
        self._error: tuple[etree._Element, str] | None = None
        self._cleared = 0
        self._bytes = RecordBytes(tuple({_local(spec.tag) for spec in specs}))
        self._container: object = _NO_PARENT
        """The records' parent, held so lxml hands out the same proxy for it (no tag read)."""
        self._inherit = b""
        """The namespace declarations its records inherit (`_declarations`)."""
        docsum = "DocumentSummary" in self._by_tag
        self.tags = (*self._by_tag, "ERROR", *(("error",) if docsum else ()))

    def on_events(self, events: Events) -> Iterator[Item]:
        """Hot path: per record a uid lookup, the yield, the clear; an in-band error otherwise."""
        by_tag, containers = self._by_tag, self._containers
        db, per_record_db, alias_paths = self._db, self._per_record_db, self._alias_paths
        for _event, el in events:
            spec = by_tag.get(el.tag)
            if spec is None:
                yield from self._error_element(el)
                continue
            parent = el.getparent()
            if parent is not self._container:  # kept alive, lxml hands out the same proxy
                if parent is None or parent.tag not in containers:
                    continue  # a nested element of the same name (Taxon in LineageEx)
                self._container, self._inherit = parent, _declarations(el, parent)
            if spec.uid_attr is not None:
                uid = el.get(spec.uid_attr) or ""
            else:
                uid = _uid_text(el, spec.uid_path)
            error = None
            if self._error is not None and self._error[0] is el:
                error = self._error[1] or None
                self._error = None
            aliases: tuple[str, ...] = ()
            if alias_paths:  # sequences only: the hot path of the others is untouched
                aliases = _aliases(el, uid, alias_paths)
                if not uid and aliases:  # a record without its accession.version
                    uid, aliases = aliases[0], aliases[1:]
            raw = self._raw(self._bytes.take(), uid)
            yield Record(
                _seq_db(el, db) if per_record_db else db, uid, el, None, error, aliases, raw
            )
            el.clear(keep_tail=False)
            self._cleared += 1
            if self._cleared >= BULK_DELETE:  # drop the emptied records before it in one slice
                del parent[: parent.index(el)]
                self._cleared = 0

    def see_bytes(self, chunk: bytes) -> None:
        """The chunk about to be parsed: its records' own bytes are found in it."""
        self._bytes.feed(chunk)

    def _raw(self, found: Span | None, uid: str) -> bytes | None:
        """The record's bytes as sent (`found`, the scan's next span), checked against the
        parsed record (its uid in them), with the namespace declarations it inherits; None when
        unsure (it is serialised instead)."""
        if found is None:
            return None
        span, cut, head = found
        if uid and span.find(uid.encode()) < 0:
            self._bytes.distrust()  # paired with another record: trust nothing after
            return None
        inherited = self._inherit
        if not inherited:
            return span
        if span.find(b"xmlns", 0, head) >= 0:
            return None  # declares namespaces of its own: lxml reconciles those
        return b"".join((span[:cut], inherited, span[cut:]))

    def _error_element(self, el: etree._Element) -> Iterator[Item]:
        """A docsum's `<error>` is kept for its record (whose end comes next); a top-level
        `<ERROR>` is an item."""
        if el.tag == "error":
            parent = el.getparent()
            if parent is not None and parent.tag == "DocumentSummary":
                self._error = (parent, (el.text or "").strip())
        else:
            yield from top_error(el)

    def finish(self, root: etree._Element) -> Iterator[Item]:
        """Nothing is left to report once the set closes; drop what remains."""
        root.clear()
        return iter(())
