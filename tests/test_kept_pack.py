"""Kept records are compressed when that pays (NCBI's XML shrinks 7-15x) and stored when it does
not (random text), read back alike either way."""

from __future__ import annotations

import random

from harvester.workflow import kept


def _records(body: bytes, count: int) -> list[tuple[int, bytes]]:
    return [(uid, body) for uid in range(1, count + 1)]


def test_records_that_compress_well_are_compressed() -> None:
    body = b"<DocumentSummary><SNP_ID>1</SNP_ID>" + b"<MAF><STUDY>ALFA</STUDY></MAF>" * 100
    records = _records(body, 100)
    blob = kept.pack(records)
    assert len(blob) * kept.WORTH < sum(len(b) for _, b in records)
    assert list(kept.unpack(blob)) == records


def test_records_of_random_text_are_stored_and_read_back_alike() -> None:
    """Compressing them would cost a core's time for little: the blob is the records' size."""
    rng = random.Random(5)
    letters = b"ACGTNacgtn:>,.;=/0123456789"
    records = [(uid, bytes(rng.choices(letters, k=21_000))) for uid in range(1, 30)]
    blob = kept.pack(records)
    assert len(blob) > sum(len(b) for _, b in records)  # stored: the records and their heads
    assert list(kept.unpack(blob)) == records


def test_a_packer_samples_the_first_blob_and_again_every_few() -> None:
    """A job's records are alike: the verdict of one sample holds for the next blobs, and a
    change in the records is seen at the next sample."""
    rng = random.Random(7)
    letters = b"ACGTNacgtn:>,.;=/0123456789"
    noise = [(uid, bytes(rng.choices(letters, k=21_000))) for uid in range(1, 5)]
    alike = _records(b"<MAF><STUDY>ALFA</STUDY></MAF>" * 700, 4)
    size = sum(len(b) for _, b in alike)
    packer = kept.Packer()
    assert len(packer.pack(noise)) > sum(len(b) for _, b in noise)  # sampled: stored
    blobs = [packer.pack(alike) for _ in range(kept.Packer.RESAMPLE)]
    assert all(len(blob) > size for blob in blobs[:-1])  # the first verdict held
    assert len(blobs[-1]) * kept.WORTH < size  # sampled again: compressed
    assert all(list(kept.unpack(blob)) == alike for blob in blobs)
