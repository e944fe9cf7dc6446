"""Each record's own bytes, found in the chunks the parser is fed, so the store keeps what NCBI
sent instead of serialising every record again (`etree.tostring` cost more than the parse of a
1 KB record's fields).

lxml gives no byte offsets, so `RecordBytes` scans the same chunks for the record tags' start
and end at record depth (`bytes.find` in C: a few percent of the parse). Each span is checked
before it is used: it must be paired with a record the parser yielded, contain that record's
uid, hold no comment, CDATA or processing instruction (where a tag-like text could hide), and
the document must be UTF-8. Anything else, and the record is serialised by lxml as before.
"""

from __future__ import annotations

import re
from collections import deque

__all__ = ["START_TAG", "RecordBytes"]

START_TAG = re.compile(rb"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")
"""The rest of a start tag after its name: attributes (whose quoted values may hold `>`)."""
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8 = frozenset((b"utf-8", b"utf8", b"us-ascii", b"ascii"))
_FOLLOW = frozenset(b" \t\r\n/>")


class RecordBytes:
    """Finds the byte span of each record whose tag is one of `names` (local names, no prefix)
    at record depth, as chunks are fed; `take()` hands them out in document order."""

    __slots__ = (
        "_buf",
        "_close",
        "_depth",
        "_first",
        "_inner",
        "_opens",
        "_pos",
        "_seen_prolog",
        "_spans",
        "_start",
        "broken",
    )

    def __init__(self, names: tuple[str, ...]) -> None:
        self._opens = tuple(b"<" + name.encode() for name in names)
        self._buf = bytearray()
        self._pos = 0
        """Where the next scan starts in `_buf`."""
        self._depth = 0
        self._start = 0
        self._close = -1
        self._inner: tuple[bytes, bytes] = (b"", b"")
        """Inside a record: its (open, close) patterns, to count nested same-name elements."""
        self._first = True
        self._seen_prolog = False
        self._spans: deque[bytes | None] = deque()
        self.broken = False
        """Set once the bytes can no longer be trusted: every later record is serialised."""

    def feed(self, chunk: bytes) -> None:
        """Scan one more chunk; completed records queue up for `take`."""
        if self.broken:
            return
        if not self._seen_prolog and not self._buf:
            match = _ENCODING.match(chunk)
            if match is not None and match.group(1).lower() not in _UTF8:
                self.broken = True
                return
        self._buf += chunk
        while not self.broken and (self._scan_inside() if self._depth else self._scan_outside()):
            pass
        self._compact()

    def take(self) -> bytes | None:
        """The next record's bytes, or None when they are unknown (the record is serialised)."""
        if self._spans:
            return self._spans.popleft()
        self.broken = True  # the parser found a record the scan did not: trust nothing after
        self._buf.clear()
        self._pos = self._start = self._depth = 0
        return None

    def _scan_outside(self) -> bool:
        """Look for the next record's start; True when one was entered (or passed whole)."""
        buf = self._buf
        found, pattern = -1, b""
        for opening in self._opens:
            at, size = buf.find(opening, self._pos), len(opening)
            while at >= 0 and at + size < len(buf) and buf[at + size] not in _FOLLOW:
                at = buf.find(opening, at + 1)
            if at >= 0 and (found < 0 or at < found):
                found, pattern = at, opening
        if found < 0:
            self._skip(max(0, len(buf) - max(len(o) for o in self._opens)))
            return False
        end = self._start_tag_end(found + len(pattern)) if found + len(pattern) < len(buf) else -1
        self._skip(found)  # what lies before the record
        if end < 0 or self.broken:
            return False  # its start tag has not all come yet
        self._first = False
        self._start = found
        if buf[end - 2 : end] == b"/>":
            self._emit(end)
            return True
        self._inner = (pattern, b"</" + pattern[1:])
        self._depth, self._pos, self._close = 1, end, -1
        return True

    def _scan_inside(self) -> bool:
        """Follow a record to its end tag; True when it ended."""
        buf = self._buf
        opening, closing = self._inner
        while True:
            if self._close < self._pos:
                self._close = buf.find(closing, self._pos)
            close = self._close
            nested = buf.find(opening, self._pos, close if close >= 0 else len(buf))
            if nested >= 0:
                after = nested + len(opening)
                if after >= len(buf):
                    self._pos = nested
                    return False
                self._pos = after
                if buf[after] in _FOLLOW:
                    end = self._start_tag_end(after)
                    if end < 0:
                        self._pos = nested
                        return False
                    self._pos = end
                    if buf[end - 2 : end] != b"/>":
                        self._depth += 1
                continue
            if close < 0:
                self._pos = max(self._pos, len(buf) - len(closing) - 1)
                return False
            gt = buf.find(b">", close + len(closing))
            if gt < 0:
                self._pos = close
                self._close = -1
                return False
            self._pos = close + len(closing)
            if buf[close + len(closing) : gt].strip():
                continue  # `</DocSumX>`: another element
            self._pos = gt + 1
            self._depth -= 1
            if not self._depth:
                self._emit(gt + 1)
                return True

    def _start_tag_end(self, after_name: int) -> int:
        """The offset just past the start tag whose name ends at `after_name`, or -1 if it has
        not all come yet."""
        match = START_TAG.match(self._buf, after_name)
        return match.end() if match is not None else -1

    def _skip(self, upto: int) -> None:
        """Pass the bytes between records up to `upto`, once they are seen to hide no comment,
        CDATA or processing instruction (one more byte is looked at: a `<!` may straddle).
        Before the first record the prolog may hold the XML declaration and an external
        DOCTYPE, but nothing else special."""
        gap = bytes(self._buf[self._pos : upto + 1])
        if self._first and not self._seen_prolog:
            self._seen_prolog = True
            if gap.lstrip().startswith(b"<?xml"):
                gap = gap[gap.find(b"?>") + 2 :]
            special = b"<!--" in gap or b"<![" in gap or b"<?" in gap or b"[" in gap
        else:
            special = b"<!" in gap or b"<?" in gap
        if special:
            self.broken = True
            self._buf.clear()
            self._pos = self._start = self._depth = 0
            return
        self._pos = upto

    def _emit(self, end: int) -> None:
        span = bytes(self._buf[self._start : end])
        self._spans.append(None if b"<!" in span or b"<?" in span else span)
        self._pos = end

    def _compact(self) -> None:
        """Forget the bytes no open record needs (once per chunk: not per record)."""
        cut = self._start if self._depth else self._pos
        if cut <= 0:
            return
        del self._buf[:cut]
        self._pos -= cut
        self._start -= cut
        if self._close >= 0:
            self._close -= cut
