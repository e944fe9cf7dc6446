"""Real NCBI answers from ../shared/ncbi-samples, cut where a replay needs only part of one.

A capture's records are kept as NCBI's own bytes: a subset of them is the capture's prologue,
the chosen records with the capture's separator between them, and its epilogue. Headers come
from the capture's `.headers.json` (status and every response header NCBI sent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import orjson

FRAMING = {"transfer-encoding", "content-encoding", "content-length", "connection"}
"""Headers the replay server sets itself: it chunks and gzips as the capture says, per request."""


@dataclass(frozen=True, slots=True)
class Capture:
    """One captured answer: its body, its status and headers (framing ones kept apart)."""

    body: bytes
    status: int
    headers: tuple[tuple[str, str], ...]
    gzip: bool
    chunked: bool


def load_capture(path: Path, headers_of: Path | None = None) -> Capture:
    """The body at `path`, with the headers captured beside it (or beside `headers_of`, for
    a body captured without its headers: NCBI sends the same set on every answer)."""
    meta = orjson.loads(
        (headers_of or path).with_name((headers_of or path).name + ".headers.json").read_bytes()
    )
    raw = {name.lower(): values for name, values in meta["headers"].items()}
    headers = tuple(
        (name, value)
        for name, values in meta["headers"].items()
        if name.lower() not in FRAMING
        for value in values
    )
    return Capture(
        body=path.read_bytes(),
        status=int(meta["status"]["code"]),
        headers=headers,
        gzip="gzip" in raw.get("content-encoding", []),
        chunked="chunked" in raw.get("transfer-encoding", []),
    )


@dataclass(frozen=True, slots=True)
class RecordShape:
    """How one record format's records are found in a capture's bytes, and their UID."""

    record: re.Pattern[bytes]
    uid: re.Pattern[bytes]


SHAPES = {
    "snp": RecordShape(
        re.compile(rb"<DocumentSummary uid=.*?</DocumentSummary>", re.S),
        re.compile(rb'<DocumentSummary uid="(\d+)"'),
    ),
    "gene": RecordShape(
        re.compile(rb"<Entrezgene>.*?</Entrezgene>", re.S),
        re.compile(rb"<Gene-track_geneid>(\d+)</Gene-track_geneid>"),
    ),
    "pubmed": RecordShape(
        re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.S),
        re.compile(rb"<MedlineCitation[^>]*>\s*<PMID[^>]*>(\d+)</PMID>"),
    ),
    "gbseq": RecordShape(
        re.compile(rb"<GBSeq>.*?</GBSeq>", re.S), re.compile(rb"<GBSeqid>gi\|(\d+)</GBSeqid>")
    ),
    "tseq": RecordShape(
        re.compile(rb"<TSeq>.*?</TSeq>", re.S), re.compile(rb"<TSeq_accver>([^<]+)</TSeq_accver>")
    ),
}


@dataclass(frozen=True, slots=True)
class RecordSet:
    """One efetch capture split into its records, keyed by the id elink gives for them."""

    capture: Capture
    prologue: bytes
    separator: bytes
    epilogue: bytes
    records: dict[int, bytes]

    def answer(self, ids: list[int]) -> bytes:
        """NCBI's bytes for these of its records, in the order asked (the capture whole when
        that is what is asked); ids it lacks are left out, as NCBI leaves out a PMID it has no
        record for (docs/NCBI_BEHAVIOUR.md)."""
        if ids == list(self.records):
            return self.capture.body
        chosen = [self.records[i] for i in ids if i in self.records]
        return self.prologue + self.separator.join(chosen) + self.epilogue


def split_records(
    capture: Capture, shape: RecordShape, ids: dict[str, int] | None = None
) -> RecordSet:
    """`capture`'s records by uid (or by `ids`, for records that name themselves otherwise:
    a TinySeq carries no gi)."""
    found = list(shape.record.finditer(capture.body))
    records: dict[int, bytes] = {}
    for match in found:
        named = shape.uid.search(match.group())
        assert named is not None, f"a record without its id: {match.group()[:80]!r}"
        key = named.group(1).decode()
        if ids is None:
            records[int(key)] = match.group()
        elif key in ids:
            records[ids[key]] = match.group()
    body = capture.body
    separator = body[found[0].end() : found[1].start()] if len(found) > 1 else b"\n"
    return RecordSet(capture, body[: found[0].start()], separator, body[found[-1].end() :], records)


def cut_linksets(body: bytes, linkname: str) -> bytes:
    """An elink capture with only `linkname`'s LinkSetDb kept, as NCBI answers `linkname=`."""
    blocks = re.compile(rb"\s*<LinkSetDb>.*?</LinkSetDb>", re.S)
    wanted = f"<LinkName>{linkname}</LinkName>".encode()
    return blocks.sub(lambda m: m.group() if wanted in m.group() else b"", body)


def capture_links(body: bytes) -> dict[str, list[int]]:
    """An elink capture's links of its one source, by link name, in NCBI's order."""
    out: dict[str, list[int]] = {}
    for block in re.finditer(rb"<LinkSetDb>(.*?)</LinkSetDb>", body, re.S):
        name = re.search(rb"<LinkName>([^<]+)</LinkName>", block.group(1))
        assert name is not None
        ids = re.findall(rb"<Id>(\d+)</Id>", block.group(1))
        out[name.group(1).decode()] = [int(i) for i in ids]
    return out
