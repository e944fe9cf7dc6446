"""Bytes in, typed items out: picks the parser for a body from its first bytes, then streams.

`aparse` takes an async iterator of chunks (aiohttp's `iter_chunked`), `parse_chunks` a sync
one (saved files) and `parse_bytes` a whole body. All sniff JSON vs XML and the XML root, so an
`<eFetchResult>` error document is recognised where records were expected, and HTML or empty
bodies raise ParseError.
"""

from __future__ import annotations

import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from harvester.eutils._lxml import etree
from harvester.eutils.parse_json import parse_json
from harvester.eutils.parse_links import LinkHandler
from harvester.eutils.parse_other import OtherDocHandler
from harvester.eutils.parse_records import RecordHandler, format_for_root, guess_db
from harvester.eutils.parse_search import InfoHandler, PostHandler, SearchHandler
from harvester.eutils.results import ErrorResult, Item
from harvester.eutils.retry_reasons import RetryReason
from harvester.eutils.xmlstream import (
    DEFAULT_MAX_RECORD_BYTES,
    SNIFF_BYTES,
    BadBody,
    Digest,
    Handler,
    PerElement,
    Sniffed,
    XmlStream,
    digested,
    head_and_rest,
    sniff,
    text_of,
)
from harvester.ncbi import RESULT_ROOTS, RecordFormat

__all__ = [
    "CHUNK_SIZE",
    "Digest",
    "Expected",
    "Grouped",
    "Offload",
    "aparse",
    "handler_for",
    "parse_bytes",
    "parse_chunks",
    "sniff",
]

_T = TypeVar("_T")
CHUNK_SIZE = 32 * 1024  # what lxml's own iterparse reads at a time

_FIXED: dict[str, Callable[[], Handler]] = {
    "eLinkResult": LinkHandler,
    "ePostResult": PostHandler,
    "eSearchResult": SearchHandler,
    "eInfoResult": InfoHandler,
}


def handler_for(
    sniffed: Sniffed,
    *,
    db: str | None = None,
    fmt: RecordFormat | None = None,
    expect: Expected | None = None,
) -> Handler:
    """The handler for an XML body with this root; `fmt`/`db` say what the caller asked for,
    `expect` which roots its answer may have (any other is a failed attempt, never "empty")."""
    if sniffed.kind != "xml":
        raise BadBody(*not_xml(sniffed))
    if expect is not None and sniffed.root not in expect.roots:
        raise BadBody(
            RetryReason.WRONG_ROOT,
            f"{expect.endpoint} answered a <{sniffed.root}> document where "
            f"<{'> or <'.join(sorted(expect.roots - {'ERROR'}))}> was expected",
        )
    if sniffed.root == "ERROR":
        return ErrorRootHandler()
    fixed = _FIXED.get(sniffed.root)
    if fixed is not None:
        return fixed()
    found = fmt if fmt is not None and fmt.root == sniffed.root else format_for_root(sniffed.root)
    if found is None:
        return OtherDocHandler(sniffed.root, db)
    guessed = db if db is not None else guess_db(found, sniffed.system_url)
    return RecordHandler(found, guessed, per_record_db=db is None)


def not_xml(sniffed: Sniffed) -> tuple[RetryReason, str]:
    """The retry reason and message of a body that is no XML (empty, HTML, other)."""
    if sniffed.kind == "empty":
        return RetryReason.EMPTY, "empty response body"
    if sniffed.kind == "html":
        return RetryReason.NOT_XML, "HTML page where XML was expected"
    return RetryReason.NOT_XML, "response is not XML"


@dataclass(frozen=True, slots=True)
class Expected:
    """The roots an answer of `endpoint` may have: its own result root (where in-band errors
    come), the record set asked for, and a bare `<ERROR>` document."""

    endpoint: str
    roots: frozenset[str]

    @classmethod
    def of(cls, endpoint: str, fmt: RecordFormat | None = None) -> Expected | None:
        """What `endpoint` answers; None when anything goes (an efetch in a format no table
        describes)."""
        own = RESULT_ROOTS.get(endpoint)
        if own is None or (endpoint == "efetch" and fmt is None):
            return None
        roots = {own, "ERROR"} | ({fmt.root} if fmt is not None else set())
        return cls(endpoint, frozenset(roots))


class ErrorRootHandler(PerElement):
    """A document that is one `<ERROR>`: an in-band error, whatever utility sent it."""

    __slots__ = ()
    tags: tuple[str, ...] = ()

    def on_end(self, el: etree._Element) -> Iterator[Item]:
        return iter(())

    def finish(self, root: etree._Element) -> Iterator[Item]:
        text = text_of(root)
        yield ErrorResult(text or "an empty ERROR document", "ERROR")


def parse_bytes(
    data: bytes,
    *,
    db: str | None = None,
    fmt: RecordFormat | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[Item]:
    """Parse a whole body, still streaming it through the pull parser in chunks."""
    chunks = (data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE))
    return parse_chunks(chunks, db=db, fmt=fmt, max_record_bytes=max_record_bytes)


def parse_chunks(
    chunks: Iterable[bytes],
    *,
    db: str | None = None,
    fmt: RecordFormat | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[Item]:
    """The synchronous twin of `aparse` (saved files): chunks in, items out as they complete."""
    iterator = iter(chunks)
    parts: list[bytes] = []
    size = 0
    for chunk in iterator:
        parts.append(chunk)
        size += len(chunk)
        if size >= SNIFF_BYTES:
            break
    head = b"".join(parts)
    sniffed = sniff(head)
    if sniffed.kind == "json":
        yield from parse_json(head + b"".join(iterator), db or "")
        return
    stream = XmlStream(handler_for(sniffed, db=db, fmt=fmt), max_record_bytes)
    yield from stream.feed(head)
    for chunk in iterator:
        yield from stream.feed(chunk)
    yield from stream.close()


Offload = Callable[[Callable[[], list[Item]]], Awaitable[list[Item]]]
"""Runs a parse step somewhere other than the event loop (a worker thread) and awaits it."""


class Grouped(Generic[_T]):
    """An answer's items one by one (`async for`, `anext`), or in the groups they were parsed in
    (`groups`): a parse step's off the loop (a consumer of thousands of records then takes no
    async step per record, which cost the loop ~5 us a record through the client's layers),
    one at a time on the loop (each record's element lives until the next group is pulled).
    It keeps its place: iterated again after a `break`, it goes on where it stopped."""

    __slots__ = ("_groups", "_left")

    def __init__(self, groups: AsyncIterator[list[_T]]) -> None:
        self._groups = groups
        self._left: list[_T] = []
        """What is left of the group in hand, last item first."""

    @property
    def groups(self) -> AsyncIterator[list[_T]]:
        """The groups not yet handed out (what is left of the one in hand first)."""
        return self._rest()

    async def _rest(self) -> AsyncIterator[list[_T]]:
        if self._left:
            left, self._left = self._left[::-1], []
            yield left
            del left
        async for group in self._groups:
            yield group
            del group  # gone with the consumer (budget.STREAM_BYTES)

    def __aiter__(self) -> Grouped[_T]:
        return self

    async def __anext__(self) -> _T:
        while not self._left:
            group = await anext(self._groups)  # StopAsyncIteration at the end
            group.reverse()
            self._left = group
        return self._left.pop()

    async def aclose(self) -> None:
        """Stop reading the answer now (its connection goes back to the pool), not when the
        garbage collector finds it."""
        self._left = []
        close = getattr(self._groups, "aclose", None)
        if close is not None:
            await close()


def aparse(
    chunks: AsyncIterable[bytes],
    *,
    db: str | None = None,
    fmt: RecordFormat | None = None,
    expect: Expected | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    digest: Digest | None = None,
    offload: Offload | None = None,
) -> Grouped[Item]:
    """Parse a body as its chunks arrive; items come out as soon as their elements end.

    With `offload`, each step of reads is parsed (and its records digested) off the event
    loop, so the loop only moves bytes; records whose elements the caller still needs (no
    `digest`) are parsed on the loop, each valid until the next is pulled."""
    return Grouped(_groups(chunks, db, fmt, expect, max_record_bytes, digest, offload))


async def _groups(
    chunks: AsyncIterable[bytes],
    db: str | None,
    fmt: RecordFormat | None,
    expect: Expected | None,
    max_record_bytes: int,
    digest: Digest | None,
    offload: Offload | None,
) -> AsyncIterator[list[Item]]:
    """`aparse`'s groups."""
    head, rest = await head_and_rest(chunks)
    sniffed = sniff(head)
    if sniffed.kind == "json":
        parts = [head]
        async for chunk in rest:
            parts.append(chunk)
        yield list(digested(parse_json(b"".join(parts), db or ""), digest))
        return
    handler = handler_for(sniffed, db=db, fmt=fmt, expect=expect)
    stream = XmlStream(handler, max_record_bytes)
    if offload is None or (digest is None and isinstance(handler, RecordHandler)):
        for item in digested(stream.feed(head), digest):
            yield [item]
        async for chunk in rest:
            for item in digested(stream.feed(chunk), digest):
                yield [item]
        for item in digested(stream.close(), digest):
            yield [item]
        return
    stop = threading.Event()
    failed: list[Exception] = []
    read_failed: list[Exception] = []
    try:
        async for reads, last in _steps(head, rest, read_failed):
            items = await offload(partial(_step, stream, reads, digest, stop, last, failed))
            if items:
                yield items
            del items  # a step's records leave with the consumer, not while the next is read
            if failed:  # after the records parsed before it; a failed read says why first
                raise read_failed[0] if read_failed else failed[0]
    finally:
        stop.set()  # a consumer gone (a hedged copy cancelled): its step ends at its next read


async def _steps(
    head: bytes, rest: AsyncIterator[bytes], read_failed: list[Exception]
) -> AsyncIterator[tuple[list[bytes], bool]]:
    """The body's reads in parse steps of at least `STEP_BYTES`, the head first, and whether
    the step is the last (it also ends the document): a step is handed out once the read after
    it has come, so the body's end never costs a hand-off of its own (each costs ~0.1-0.3 ms
    of CPU, benchmarks/PARSE.md). A read that fails goes into `read_failed` before the reads
    held are handed out: the answer failed for that, whatever their parse says."""
    reads, size = [head], len(head)
    try:
        async for chunk in rest:
            if size >= STEP_BYTES:
                yield reads, False  # `_step` empties it as it feeds
                reads, size = [], 0
            reads.append(chunk)
            size += len(chunk)
    except Exception as exc:
        read_failed.append(exc)
        if reads:  # a read failed: what came before it is parsed first, then the failure
            yield reads, False
        raise
    yield reads, True


def _step(
    stream: XmlStream,
    reads: list[bytes],
    digest: Digest | None,
    stop: threading.Event,
    last: bool,
    failed: list[Exception],
) -> list[Item]:
    """Reads parsed (and, for the `last`, the document ended) and their records digested: what
    a worker hands back to the loop. Each read is let go once fed, and the rest skipped once
    `stop` is set. A failure (a malformed or truncated body) goes into `failed`, and the
    records parsed before it still come back. It takes its turn (`CPU_TURNS`) with the store's
    transactions on the loop."""
    with CPU_TURNS:
        items: list[Item] = []
        reads.reverse()
        try:
            while reads and not stop.is_set():
                stream.feed_into(reads.pop(), items, digest)
            if last and not stop.is_set():
                stream.close_into(items, digest)
        except Exception as exc:
            failed.append(exc)
        reads.clear()
        return items


STEP_BYTES = 256 * 1024
"""Bytes parsed in one step off the loop. Each step is a hand-off to the parse thread and back,
which cost ~0.25 ms of CPU on this project's 2-core VM: at 64 KiB steps (one read) that was a
fifth of the client's CPU per MB at ~1 KB records (benchmarks/PARSE.md). A step holds its
reads (up to this and one more), not a copy of them joined, and its records until they are
the fetcher's: with the aiohttp buffers, under `budget.STREAM_BYTES` (1 MiB)."""
CPU_TURNS = threading.Lock()
"""Held by each parse step off the loop and by each store transaction on it. One GIL serves
both threads, and SQLite lets it go at every row it steps (an `executemany` of 500 rows, 500
times); each time, a busy parse thread keeps it for up to the switch interval (5 ms), so a
2 ms commit took 20-250 ms with pages parsing beside it (the convoy effect). Taking turns, a
commit waits for at most one step (`STEP_BYTES`, ~5 ms at ~1 KB records) and then runs
alone. A harvest's own writes run on the parse thread itself (workflow/store_writer.py)."""
