"""Hostile XML on purpose, to prove a client survives it: `EmulatorConfig(hostile="xxe")` or
`harvester serve --hostile xxe` makes every XML efetch and elink answer carry one attack.

The real answer is rewritten, so a client that resists the attack still gets correct data:

    xxe[:PATH]      an external entity naming a local file (default /etc/passwd), referenced
                    at the end of every text value: a parser that resolves it leaks the file
    bomb            a billion-laughs entity (10**9 copies of "lol") referenced the same way
    netdtd[:URL]    the DOCTYPE names a DTD on the network (default a dead local port) and
                    values reference an entity only that DTD could define: never fetch it
    huge[:BYTES]    efetch pages repeat their records until the body passes BYTES (default
                    1 GiB + 1): a client must stream it, or stop at its size cap
    deep[:DEPTH]    elements nested DEPTH deep (default 100,000) inside the first record
    badutf8         bytes that are not UTF-8 inside the first text value
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web

from harvester.errors import ConfigError

__all__ = ["ENDPOINTS", "KINDS", "Hostile", "parse", "respond"]

KINDS = ("xxe", "bomb", "netdtd", "huge", "deep", "badutf8")
ENDPOINTS = frozenset({"efetch", "elink"})
DEFAULTS = {
    "xxe": "/etc/passwd",
    "netdtd": "http://127.0.0.1:9/eutils/dtd/hostile.dtd",
    "huge": str((1 << 30) + 1),
    "deep": "100000",
}
_DECL = re.compile(r"\s*<\?xml[^>]*\?>\s*")
_DOCTYPE = re.compile(r"\s*<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>\s*")
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_TEXT_END = re.compile(r"(?<=[^\s<>/])</")
"""The end of a non-empty text value: where an entity reference goes."""
_RECORD = re.compile(r"<(?:DocumentSummary|Entrezgene|PubmedArticle|GBSeq|TSeq|Taxon)[\s>]")


@dataclass(frozen=True, slots=True)
class Hostile:
    """One attack and its argument (a path, URL, byte count or depth)."""

    kind: str
    arg: str = ""

    @property
    def entity(self) -> str:
        """The entity reference appended to text values, '' for kinds that add none."""
        return {"xxe": "&xxe;", "bomb": "&lol9;", "netdtd": "&ncbi;"}.get(self.kind, "")

    def doctype(self, root: str) -> str:
        if self.kind == "xxe":
            return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{self.arg}">]>\n'
        if self.kind == "bomb":
            laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
            return f'<!DOCTYPE {root} [<!ENTITY lol0 "lol">{laughs}]>\n'
        if self.kind == "netdtd":
            return f'<!DOCTYPE {root} SYSTEM "{self.arg}">\n'
        return ""


@functools.lru_cache(maxsize=16)
def parse(text: str | None) -> Hostile | None:
    """`KIND` or `KIND:ARG` -> Hostile; None or '' -> None; anything else is a ConfigError."""
    if not text:
        return None
    kind, _, arg = text.partition(":")
    if kind not in KINDS:
        raise ConfigError(f"unknown hostile kind '{kind}' (known: {', '.join(KINDS)})")
    arg = arg or DEFAULTS.get(kind, "")
    if kind in ("huge", "deep") and not arg.isdigit():
        raise ConfigError(f"hostile '{text}': {kind} takes a whole number")
    return Hostile(kind, arg)


def rewrite(hostile: Hostile, chunks: Iterator[str]) -> Iterator[str]:
    """The chunks of a real XML answer with the attack worked in (still streamed)."""
    first = next(chunks, "")
    decl = _DECL.match(first)
    head, rest = (decl.group(0), first[decl.end() :]) if decl else ("", first)
    doctype = _DOCTYPE.match(rest)
    if doctype and hostile.doctype("x"):
        rest = rest[doctype.end() :]
    root = _ROOT.search(rest)
    head += hostile.doctype(root.group(1) if root else "x")
    body: Iterator[str] = itertools.chain((rest,), chunks)
    if hostile.entity:
        body = (_TEXT_END.sub(hostile.entity + "</", c) for c in body)
    elif hostile.kind == "huge":
        body = _padded(body, int(hostile.arg) - len(head))
    elif hostile.kind in ("deep", "badutf8"):
        body = _spoil_first(body, hostile)
    yield head
    yield from body


def _spoil_first(chunks: Iterator[str], hostile: Hostile) -> Iterator[str]:
    """Nest DEPTH elements, or put non-UTF-8 bytes, into the first text value."""
    done = False
    for chunk in chunks:
        match = None if done else _TEXT_END.search(chunk)
        if match is not None:
            if hostile.kind == "deep":
                depth = int(hostile.arg)
                spoil = "<x>" * depth + "</x>" * depth
            else:
                spoil = (
                    "\udcff\udcfe\udcc0"  # lone 0xFF 0xFE 0xC0 once encoded with surrogateescape
                )
            chunk = chunk[: match.start()] + spoil + chunk[match.start() :]
            done = True
        yield chunk


def _padded(chunks: Iterator[str], size: int) -> Iterator[str]:
    """Repeat the record-bearing chunks until `size` characters have gone out, then finish."""
    parts = list(chunks)
    records = [c for c in parts if _RECORD.search(c)]
    sent = 0
    for chunk in parts:
        if records and chunk is records[-1]:
            yield chunk
            sent += len(chunk)
            for again in itertools.cycle(records):
                if sent >= size:
                    break
                yield again
                sent += len(again)
            continue
        yield chunk
        sent += len(chunk)


def applies(hostile: Hostile | None, endpoint: str, as_json: bool) -> bool:
    """Whether this answer should be hostile: XML from efetch or elink, huge for efetch only."""
    if hostile is None or as_json or endpoint not in ENDPOINTS:
        return False
    return hostile.kind != "huge" or endpoint == "efetch"


async def respond(
    request: web.Request, hostile: Hostile, chunks: Iterator[str], content_type: str
) -> web.StreamResponse:
    """Stream the rewritten answer; surrogate escapes become the raw bytes they stand for."""
    response = web.StreamResponse(headers={"Content-Type": f"{content_type}; charset=UTF-8"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    pending: list[bytes] = []
    size = 0
    for chunk in rewrite(hostile, chunks):
        data = chunk.encode("utf-8", "surrogateescape")
        pending.append(data)
        size += len(data)
        if size >= 1 << 16:
            await response.write(b"".join(pending))
            pending, size = [], 0
    if pending:
        await response.write(b"".join(pending))
    await response.write_eof()
    return response
