"""Answers of kinds the parsers were not taught: records when they look like a record set, else
one `OtherResult`; an error only when they hold a non-empty `<ERROR>`.

A PMC, BioSample or NLM Catalog efetch is a valid set of records in a shape no table here
describes; an ESpell answer is a valid result with an empty `<ERROR/>`. Reporting either as an
error would make the client re-request good answers, so only an `<ERROR>` that says something is
one (each of them kept).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from harvester.eutils._lxml import etree
from harvester.eutils.parse_search import top_errors
from harvester.eutils.results import Item, OtherResult, Record
from harvester.eutils.xmlstream import PerElement, top_error

__all__ = ["OtherDocHandler"]

_SET_ROOT = re.compile(r"[-_]?set$", re.I)
"""Roots named like a record set (pmc-articleset, BioSampleSet, ClinVarResult-Set, INSDSet)."""
_UID_ATTRS = ("uid", "id", "accession")


class OtherDocHandler(PerElement):
    """Streams the children of a set-like root as records; reads any other root whole."""

    __slots__ = ("_db", "_set", "tags")

    def __init__(self, root: str, db: str | None) -> None:
        self._db = db or ""
        self._set = bool(_SET_ROOT.search(root))
        self.tags: tuple[str, ...] = ()  # every end event: the record tag is not known

    def on_end(self, el: etree._Element) -> Iterator[Item]:
        """A direct child of a set-like root is a record (or an ERROR); others wait for it."""
        if not self._set:
            return
        parent = el.getparent()
        if parent is None or parent.getparent() is not None:
            return
        if el.tag == "ERROR":
            yield from top_error(el)
            return
        if isinstance(el.tag, str):
            yield Record(self._db, _uid(el), el)
        el.clear(keep_tail=False)

    def finish(self, root: etree._Element) -> Iterator[Item]:
        """A whole non-set answer: its non-empty ERRORs, or one result naming its root."""
        if self._set:
            root.clear()
            return
        errors = top_errors(root)
        if errors:
            yield from errors
        else:
            yield OtherResult(str(etree.QName(root).localname))


def _uid(el: etree._Element) -> str:
    """The record's id when it carries one as an attribute; "" when its shape hides it."""
    for name in _UID_ATTRS:
        value = el.get(name)
        if value:
            return str(value).strip()
    return ""
