"""Whole records kept in the job store, so changing `fields` or the output format re-derives
the output from the store instead of downloading everything again.

Each commit of fetched records keeps them as one zlib blob: `uid US record` joined by RS.
Neither separator can occur in XML 1.0 text or in orjson's output (both escape or forbid
control characters), and similar records compressed together cost a few dozen bytes each
(see benchmarks/SCALE.md). Records that compress poorly are stored in the same format
uncompressed (zlib level 0), where compressing them would cost more CPU than it saves disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import orjson

from harvester.deflate import compress, decompress
from harvester.eutils._lxml import etree
from harvester.eutils.results import Record
from harvester.eutils.xmlstream import PARSER_OPTIONS

RS, US = b"\x1e", b"\x1f"
LEVEL = 1
"""zlib level: records of one page are alike, so the fastest level already packs them ~20x."""
SAMPLE = 64 * 1024
"""Bytes of a blob compressed first to see whether the rest is worth it (two deflate windows)."""
WORTH = 4.0
"""A blob is compressed only when its sample shrinks at least this much. NCBI's XML does 7-15x
at level 1, ~220 MB/s (the shared captures: Entrezgene 15x, protein 7x); the emulator's records
padded with random text (`--record-bytes`) 2.8x at ~125 MB/s, which cost ~24 s of the client's
one core in the 21 KB gene -> SNP run, a third of its CPU (benchmarks/WEIGHT.md): stored, they
cost a copy."""
_PARSER = etree.XMLParser(**PARSER_OPTIONS)


def raw(record: Record) -> bytes:
    """The record as fetched: the bytes NCBI sent when they are known, else its XML serialised,
    or its JSON for a JSON esummary."""
    if record.raw is not None:
        return record.raw
    if record.element is not None:
        return bytes(etree.tostring(record.element, encoding="utf-8", with_tail=False))
    return orjson.dumps(record.doc or {})


class Packed(list[tuple[int, tuple[bytes, bytes]]]):
    """Fetched records, (uid, (output value, whole record)), with their `blob` already packed
    off the event loop: the store commits it as it is."""

    def __init__(self, records: Iterable[tuple[int, tuple[bytes, bytes]]], blob: bytes) -> None:
        super().__init__(records)
        self.blob = blob


def pack(records: Sequence[tuple[int, bytes]]) -> bytes:
    """One blob of (uid, raw record) pairs: compressed at LEVEL when a sample says it is worth
    it (WORTH), else stored."""
    return Packer().pack(records)


class Packer:
    """Packs blobs of one job's records, which are alike: whether compressing pays is sampled
    on the first blob and again every RESAMPLE blobs, not on each (a sample costs an eighth of
    compressing a 512 KiB batch). Used by one thread at a time."""

    RESAMPLE = 16

    def __init__(self) -> None:
        self._worth = True
        self._packed = 0

    def pack(self, records: Sequence[tuple[int, bytes]]) -> bytes:
        """One blob of (uid, raw record) pairs, compressed or stored as the sample said."""
        data = RS.join(b"%d%b%b" % (uid, US, body) for uid, body in records)
        if len(data) <= SAMPLE:
            return compress(data, LEVEL if self._worth else 0)
        if self._packed % self.RESAMPLE == 0:
            sample = data[:SAMPLE]
            self._worth = len(compress(sample, LEVEL)) * WORTH <= len(sample)
        self._packed += 1
        return compress(data, LEVEL if self._worth else 0)


def unpack(blob: bytes) -> Iterator[tuple[int, bytes]]:
    """The (uid, raw record) pairs of a blob, in the order they were kept."""
    for item in decompress(blob).split(RS):
        uid, _, body = item.partition(US)
        yield int(uid), body


def parsed(db: str, uid: int, body: bytes) -> Record:
    """A kept record parsed again (network off, no entities), for field extraction."""
    if body[:1] == b"{":
        return Record(db, str(uid), doc=orjson.loads(body))
    return Record(db, str(uid), element=etree.fromstring(body, _PARSER))
