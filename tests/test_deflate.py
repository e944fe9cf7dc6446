"""Deflate through zlib-ng where installed (harvester/deflate.py): the same zlib format either
way, so a store written with one is read with the other, and an install without the wheel
falls back to the standard library."""

from __future__ import annotations

import sys
import zlib

import pytest

from harvester import deflate

RECORDS = b"".join(
    b"<DocumentSummary uid='%d'><SNP_ID>%d</SNP_ID></DocumentSummary>" % (i, i) for i in range(2000)
)


def test_blobs_of_either_library_are_read_by_the_other() -> None:
    for level in (0, 1, 6):
        assert zlib.decompress(deflate.compress(RECORDS, level)) == RECORDS
        assert deflate.decompress(zlib.compress(RECORDS, level)) == RECORDS


def test_without_zlib_ng_the_standard_library_deflates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zlib_ng", None)  # `import zlib_ng` raises ImportError
    assert deflate._backend() is zlib


def test_answers_are_inflated_by_the_faster_library_where_aiohttp_takes_one() -> None:
    import aiohttp
    from aiohttp.compression_utils import ZLibBackend

    deflate.speed_up_http()
    if deflate.BACKEND is zlib or not hasattr(aiohttp, "set_zlib_backend"):
        pytest.skip("zlib-ng not installed, or an aiohttp that takes no backend")
    assert ZLibBackend._zlib_backend is deflate.BACKEND
