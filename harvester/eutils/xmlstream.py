"""The streaming XML engine every parser shares: a hardened pull parser fed chunk by chunk.

A `Handler` names the end-tags it cares about (lxml filters the rest in C) and turns each such
element into items, clearing what it has used; `XmlStream` feeds bytes and drains events, so
memory stays flat whatever the page size. No DTD is loaded, no entity expanded, no network used.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from harvester.errors import ParseError
from harvester.eutils._lxml import etree
from harvester.eutils.results import ErrorResult, Item

PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "dtd_validation": False,
}


class BadBody(ParseError):
    """A body that is not the document its endpoint promises; `reason` names the defect."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TooLarge(ParseError):
    """A body larger than the configured cap (`max_response_bytes`)."""


Events = Iterator[tuple[str, etree._Element]]
"""A batch of (event, element) pairs, as the pull parser's `read_events` gives them."""


class Handler(Protocol):
    """Turns the end events of `tags` into items, a fed chunk's batch at a time (a generator
    per element cost 3% of a gene esummary parse); `finish` sees the root at the end."""

    @property
    def tags(self) -> tuple[str, ...]: ...

    def on_events(self, events: Events) -> Iterator[Item]: ...

    def finish(self, root: etree._Element) -> Iterator[Item]: ...


class PerElement:
    """Base of the handlers that look at one end element at a time (`on_end`)."""

    __slots__ = ()

    def on_events(self, events: Events) -> Iterator[Item]:
        """Each element of the batch through `on_end`."""
        on_end = self.on_end
        for _event, el in events:
            yield from on_end(el)

    def on_end(self, el: etree._Element) -> Iterator[Item]:
        raise NotImplementedError


def make_parser(tags: Iterable[str] | None = None) -> etree.XMLPullParser:
    """A pull parser that never touches the network, loads no DTD and expands no entity."""
    return etree.XMLPullParser(events=("end",), tag=tuple(tags) if tags else None, **PARSER_OPTIONS)


class XmlStream:
    """Feeds bytes to one handler; items come out as soon as their elements end."""

    __slots__ = ("_handler", "_parser", "nbytes")

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._parser = make_parser(handler.tags)
        self.nbytes = 0

    def feed(self, chunk: bytes) -> Iterator[Item]:
        """Parse one chunk and yield the items it completes."""
        self.nbytes += len(chunk)
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise BadBody("malformed", f"malformed XML: {exc}") from exc
        yield from self._handler.on_events(self._parser.read_events())

    def close(self) -> Iterator[Item]:
        """End the document: a truncated body fails here."""
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise BadBody("truncated", f"incomplete or malformed XML: {exc}") from exc
        yield from self._handler.on_events(self._parser.read_events())
        yield from self._handler.finish(root)


def drop_previous(el: etree._Element) -> None:
    """Clear a processed element and delete its earlier siblings (lxml's flat-memory idiom)."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def is_top_error(el: etree._Element) -> bool:
    """An `<ERROR>` directly under the document root (not inside a LinkSet)."""
    parent = el.getparent()
    return parent is not None and parent.getparent() is None


def top_error(el: etree._Element) -> Iterator[Item]:
    """The in-band `<ERROR>` of a document as an item, if it sits at the top level and says
    something (ESpell answers carry an empty `<ERROR/>`)."""
    text = text_of(el)
    if text and is_top_error(el):
        yield ErrorResult(text, "ERROR")


def text_of(el: etree._Element) -> str:
    """All the text of an element, stripped: an unexpanded entity stays as written (`&x;`)
    and the text after it is kept (it is the entity node's tail, which `el.text` misses)."""
    return "".join(el.itertext()).strip()


# --- sniffing: which shape is this body? ---------------------------------------------------

_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.\-:]*)")
_SKIP = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)", re.S | re.I)
_SYSTEM = re.compile(rb"<!DOCTYPE\s+\S+\s+(?:PUBLIC\s+\"[^\"]*\"|SYSTEM)\s+\"([^\"]*)\"", re.I)
SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the first bytes of a body say: JSON or the XML root's local name, and the DTD URL."""

    kind: str  # "xml", "json", "html", "empty", "other"
    root: str = ""
    system_url: str = ""


def sniff(head: bytes) -> Sniffed:
    """Classify a body from its first few KB (enough for the prolog and the root tag)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return Sniffed("empty")
    if text[:1] in (b"{", b"["):
        return Sniffed("json")
    pos = 0
    while match := _SKIP.match(text, pos):
        if match.end() == pos:
            break
        pos = match.end()
    root = _ROOT.match(text, pos)
    if root is None:
        return Sniffed("other")
    name = root.group(1).decode("ascii", "replace").rpartition(":")[2]
    if name.lower() in ("html", "head", "body"):
        return Sniffed("html", name)
    system = _SYSTEM.search(text[:pos])
    return Sniffed("xml", name, system.group(1).decode("ascii", "replace") if system else "")


async def head_and_rest(
    chunks: AsyncIterable[bytes], need: int = SNIFF_BYTES
) -> tuple[bytes, AsyncIterator[bytes]]:
    """Read at least `need` bytes (or all) for sniffing; return them and the remaining chunks."""
    iterator = aiter(chunks)
    parts: list[bytes] = []
    size = 0
    async for chunk in iterator:
        parts.append(chunk)
        size += len(chunk)
        if size >= need:
            break
    return b"".join(parts), iterator
