"""The streaming XML engine every parser shares: a hardened pull parser fed chunk by chunk.

A `Handler` names the end-tags it cares about (lxml filters the rest in C) and turns each such
element into items, clearing what it has used; `XmlStream` feeds bytes and drains events, so
memory stays flat whatever the page size. No DTD is loaded, no entity expanded, no network used.
`huge_tree` is on, so a chromosome's sequence (a text node past libxml2's 10 MB limit) parses;
our own bound, `max_record_bytes` counted since the last record ended, limits what one record
may cost instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from harvester.errors import ParseError
from harvester.eutils._lxml import etree
from harvester.eutils.results import ErrorResult, Item, Record
from harvester.eutils.retry_reasons import RetryReason

DEFAULT_MAX_RECORD_BYTES = 256_000_000
"""Bytes one record may span (256 MB): the sequence of most chromosomes fits (human chromosome 1
holds ~249 MB, so its GBSeq needs more); a record costs a few times its size in memory while it
is parsed, kept and joined, so the default stays well below what a laptop holds."""
MAX_RECORD_CEILING = 900_000_000
"""The highest `max_record_bytes`: below libxml2's own huge-mode limit on one text node (10**9
bytes), so a record too big for us is always our refusal, never libxml2's "malformed"."""
PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": True,
    "dtd_validation": False,
}


class BadBody(ParseError):
    """A body that is not the document its endpoint promises; `reason` names the defect."""

    def __init__(self, reason: RetryReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TooLarge(ParseError):
    """A body larger than the configured cap (`max_response_bytes`), or one record of it larger
    than `max_record_bytes`: our own limit, so it is not retried."""


class RecordTooLarge(TooLarge):
    """One record (or other item) went on past `max_record_bytes` without ending."""

    def __init__(self, limit: int, after: Item | None, complete: int) -> None:
        where = f"after uid {after.uid}" if isinstance(after, Record) and after.uid else "first"
        super().__init__(
            f"record {complete + 1} of the response ({where}) is larger than max_record_bytes "
            f"({limit} bytes); raise it (fetch.max_record_mb in a job file) to harvest it"
        )
        self.limit = limit


Events = Iterator[tuple[str, etree._Element]]
"""A batch of (event, element) pairs, as the pull parser's `read_events` gives them."""
Digest = Callable[[Record], Record]
"""What a caller makes of each record while its element is alive (fields, whole bytes), so
the records can leave the thread that parsed them."""


def digested(items: Iterator[Item], digest: Digest | None) -> Iterator[Item]:
    """Items with each record digested while its element is alive (when a digest is given)."""
    if digest is None:
        return items
    return (digest(item) if isinstance(item, Record) else item for item in items)


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
    """Feeds bytes to one handler; items come out as soon as their elements end.

    Bytes fed since the last item came out are counted: a chunk that would take them past
    `max_record_bytes` is refused before libxml2 sees it, so the tree one unfinished record
    builds stays bounded (to within the chunk in which the last record ended)."""

    __slots__ = (
        "_handler",
        "_last",
        "_parser",
        "_see",
        "_since",
        "items",
        "max_record_bytes",
        "nbytes",
    )

    def __init__(self, handler: Handler, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        self._handler = handler
        self._parser = make_parser(handler.tags)
        self.max_record_bytes = max_record_bytes
        self.nbytes = 0
        self.items = 0
        self._since = 0
        self._last: Item | None = None
        self._see: Callable[[bytes], None] | None = getattr(handler, "see_bytes", None)
        """A handler that keeps each record's own bytes sees every chunk first."""

    def feed(self, chunk: bytes) -> Iterator[Item]:
        """Parse one chunk and yield the items it completes."""
        yield from self._counted(self._handler.on_events(self._fed(chunk)))

    def feed_into(self, chunk: bytes, items: list[Item], digest: Digest | None) -> None:
        """`feed`, its items appended to `items`, each record digested while its element is
        alive: the parse step's path, one generator a record where `feed` and its callers
        stacked four (~2% of the CPU per MB at ~1 KB records)."""
        self._collect(self._handler.on_events(self._fed(chunk)), items, digest)

    def _fed(self, chunk: bytes) -> Events:
        """The chunk counted, shown to the handler, parsed: the events it completes."""
        self._since += len(chunk)
        if self._since > self.max_record_bytes:
            raise RecordTooLarge(self.max_record_bytes, self._last, self.items)
        self.nbytes += len(chunk)
        if self._see is not None:
            self._see(chunk)
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise BadBody(RetryReason.MALFORMED, f"malformed XML: {exc}") from exc
        events: Events = self._parser.read_events()
        return events

    def _collect(self, made: Iterator[Item], items: list[Item], digest: Digest | None) -> None:
        """`made` onto `items` (records digested); any item ends the span `_counted` counts."""
        before = len(items)
        items.extend(digested(made, digest))
        if len(items) > before:
            self._ended(len(items) - before, items[-1])

    def _counted(self, items: Iterator[Item]) -> Iterator[Item]:
        """Pass items on; any item ends the span counted against `max_record_bytes`."""
        last: Item | None = None
        count = 0
        for item in items:
            count += 1
            last = item
            yield item
        if count:
            self._ended(count, last)

    def _ended(self, count: int, last: Item | None) -> None:
        """`count` more items came out, `last` the last: the span counted starts again."""
        self.items += count
        self._last = last
        self._since = 0

    def close(self) -> Iterator[Item]:
        """End the document: a truncated body fails here."""
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise BadBody(RetryReason.TRUNCATED, f"incomplete or malformed XML: {exc}") from exc
        yield from self._handler.on_events(self._parser.read_events())
        yield from self._handler.finish(root)

    def close_into(self, items: list[Item], digest: Digest | None) -> None:
        """`close`, its items appended to `items` as `feed_into` appends."""
        self._collect(self.close(), items, digest)


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
