"""Each record's own bytes, found in the chunks the parser is fed, so the store keeps what NCBI
sent instead of serialising every record again (`etree.tostring` cost more than the parse of a
1 KB record's fields).

lxml gives no byte offsets, so `RecordBytes` scans the same chunks for the record tags' start
and end at record depth (`bytes.find` in C: a few percent of the parse). Each span is checked
before it is used: it must be paired with a record the parser yielded and contain that record's
uid; the body must be UTF-8 and hold no comment, CDATA or processing instruction after its
prolog (where a tag-like text could hide: one `in` per chunk). Anything else, and the record
is serialised by lxml as before.
"""

from __future__ import annotations

import re
from collections import deque

__all__ = ["START_TAG", "RecordBytes", "Span"]

START_TAG = re.compile(rb"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")
"""The rest of a start tag after its name: attributes (whose quoted values may hold `>`)."""
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8 = frozenset((b"utf-8", b"utf8", b"us-ascii", b"ascii"))
_PROLOG = re.compile(rb"\s*(?:<\?xml[^>]*\?>)?\s*(?:<!DOCTYPE[^\[>]*>)?")
"""An XML declaration and an external DOCTYPE: the only `<?` and `<!` a body may hold."""
_FOLLOW = frozenset(b" \t\r\n/>")
_MARKS = (b"!", b"?")
_SLASH, _GT = ord("/"), ord(">")
Span = tuple[bytes, int, int]
"""A record's bytes, where its tag name ends in them, and where its start tag ends."""


class RecordBytes:
    """Finds the byte span of each record whose tag is one of `names` (local names, no prefix)
    at record depth, as chunks are fed (the first holding the whole prolog, as the parsers'
    sniffed head does); `take()` hands them out in document order."""

    __slots__ = (
        "_buf",
        "_close",
        "_closings",
        "_depth",
        "_head",
        "_inner",
        "_longest",
        "_next_start",
        "_opens",
        "_pos",
        "_prolog",
        "_spans",
        "_start",
        "_tail",
        "broken",
    )

    def __init__(self, names: tuple[str, ...]) -> None:
        self._opens = tuple(b"<" + name.encode() for name in names)
        self._closings = {opening: b"</" + opening[1:] for opening in self._opens}
        self._longest = max(map(len, self._opens))
        self._next_start = re.compile(
            b"<("
            + b"|".join(re.escape(name.encode()) for name in names)
            + b")(?=[ \t\r\n/>])"
            + START_TAG.pattern
        ).search
        """The next whole start tag of a record (the common case, one search in C)."""
        self._buf = bytearray()
        self._pos = 0
        """Where the next scan starts in `_buf`."""
        self._depth = 0
        self._start = self._head = 0
        self._close = -1
        self._inner: tuple[bytes, bytes] = (b"", b"")
        """Inside a record: its (open, close) patterns, to count nested same-name elements."""
        self._prolog = True
        self._tail = b""
        self._spans: deque[Span] = deque()
        self.broken = False
        """Set once the bytes can no longer be trusted: every later record is serialised."""

    def feed(self, chunk: bytes) -> None:
        """Scan one more chunk; completed records queue up for `take`."""
        if self.broken:
            return
        if self._prolog:
            self._prolog = False
            match = _ENCODING.match(chunk)
            if match is not None and match.group(1).lower() not in _UTF8:
                self.distrust()
                return
            seen = chunk[len(_PROLOG.match(chunk)[0]) :]  # type: ignore[index]
        elif self._tail == b"<" and chunk[:1] in _MARKS:  # a `<!` straddling two chunks
            self.distrust()
            return
        else:
            seen = chunk  # not joined to the tail: a copy of every chunk
        if (b"!" in seen and b"<!" in seen) or (b"?" in seen and b"<?" in seen):  # memchr first
            self.distrust()
            return
        if chunk:  # an empty read keeps the last byte seen
            self._tail = chunk[-1:]
        self._buf += chunk
        self._scan()
        cut = self._start if self._depth else self._pos
        if cut > 0:  # forget what no open record needs, once per chunk
            del self._buf[:cut]
            self._pos -= cut
            self._start -= cut
            if self._close >= 0:
                self._close -= cut

    def take(self) -> Span | None:
        """The next record's span, or None when it is unknown (the record is serialised)."""
        if self._spans:
            return self._spans.popleft()
        self.distrust()  # the parser found a record the scan did not: trust nothing after
        return None

    def distrust(self) -> None:
        """Serialise every later record: the bytes no longer match the parse."""
        self.broken = True
        self._buf.clear()
        self._spans.clear()
        self._pos = self._start = self._depth = 0

    def _scan(self) -> None:
        """Find every record that ends in the buffer (one loop: this runs per record, so its
        state lives in locals until the buffer is used up)."""
        buf, size, spans, opens = self._buf, len(self._buf), self._spans, self._opens
        closings, longest = self._closings, self._longest
        next_start = self._next_start
        pos, depth, start, head, close = (
            self._pos,
            self._depth,
            self._start,
            self._head,
            self._close,
        )
        opening, closing = self._inner
        while True:
            if not depth and (match := next_start(buf, pos)) is not None:
                found, end = match.span()  # between records: the next one's whole start tag
                opening = b"<" + match.group(1)
                start, head, pos = found, end - found, end
                if buf[end - 2] == _SLASH:
                    spans.append((_copy(buf, start, end), len(opening), head))
                    continue
                closing, depth, close = closings[opening], 1, -1
            elif not depth:  # its start tag not all come yet, or none
                found = -1
                for candidate in opens:
                    at, width = buf.find(candidate, pos), len(candidate)
                    while at >= 0 and at + width < size and buf[at + width] not in _FOLLOW:
                        at = buf.find(candidate, at + 1)
                    if at >= 0 and (found < 0 or at < found):
                        found, opening = at, candidate
                if found < 0:
                    pos = max(pos, size - longest)
                    break
                width = len(opening)
                match = START_TAG.match(buf, found + width) if found + width < size else None
                pos = found
                if match is None:
                    break  # its start tag has not all come yet
                end = match.end()
                start, head, pos = found, end - found, end
                if buf[end - 2] == _SLASH:
                    spans.append((_copy(buf, start, end), width, head))
                    continue
                closing, depth, close = closings[opening], 1, -1
            if close < pos:  # inside a record: its end tag, past nested namesakes
                close = buf.find(closing, pos)
            nested = buf.find(opening, pos, close if close >= 0 else size)
            if nested >= 0:
                after = nested + len(opening)
                if after >= size:
                    pos = nested
                    break
                pos = after
                if buf[after] in _FOLLOW:
                    match = START_TAG.match(buf, after)
                    if match is None:
                        pos = nested
                        break
                    pos = match.end()
                    if buf[pos - 2] != _SLASH:
                        depth += 1
                continue
            if close < 0:
                pos = max(pos, size - len(closing) - 1)
                break
            pos = close + len(closing)
            if pos < size and buf[pos] == _GT:  # `</DocSum>`: no blanks before its `>`
                gt = pos
            else:
                gt = buf.find(b">", pos)
                if gt < 0:
                    pos, close = close, -1
                    break
                if gt > pos and buf[pos:gt].strip():
                    continue  # `</DocSumX>`: another element
            pos, depth = gt + 1, depth - 1
            if not depth:
                spans.append((_copy(buf, start, pos), len(opening), head))
        self._pos, self._depth, self._start, self._head, self._close = (
            pos,
            depth,
            start,
            head,
            close,
        )
        self._inner = (opening, closing)


def _copy(buf: bytearray, start: int, end: int) -> bytes:
    """`buf[start:end]` as bytes: in one copy when it is large (a bytearray slice would copy
    twice: a chromosome's GBSeq is hundreds of MB), by a slice otherwise (the memoryview costs
    more than a second copy of a few KB)."""
    if end - start < _ONE_COPY:
        return bytes(buf[start:end])
    with memoryview(buf) as view:
        return bytes(view[start:end])


_ONE_COPY = 1 << 16
