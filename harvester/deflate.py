"""Deflate (zlib and gzip streams) through zlib-ng where it is installed: the same formats and
levels as zlib, ~2x faster to inflate and 2-3x faster to deflate at level 1 (NCBI's gzipped
answers and the job store's kept blobs: benchmarks/WEIGHT.md). Plain zlib otherwise."""

from __future__ import annotations

import zlib
from types import ModuleType

__all__ = ["BACKEND", "compress", "decompress", "speed_up_http"]


def _backend() -> ModuleType:
    try:
        from zlib_ng import zlib_ng
    except ImportError:  # an install without the wheel: the standard library's, same bytes out
        return zlib
    return zlib_ng


BACKEND = _backend()
"""zlib_ng, or zlib."""


def compress(data: bytes, level: int) -> bytes:
    """`data` as one zlib stream at `level` (0: stored, as zlib's)."""
    packed: bytes = BACKEND.compress(data, level)
    return packed


def decompress(data: bytes) -> bytes:
    """A zlib stream's bytes (any deflate's: zlib and zlib-ng read each other's)."""
    plain: bytes = BACKEND.decompress(data)
    return plain


def speed_up_http() -> None:
    """aiohttp inflates answers (and the emulator deflates them) with BACKEND, where this
    aiohttp can be told (3.12 and later); once per process, harmless again."""
    import aiohttp

    setter = getattr(aiohttp, "set_zlib_backend", None)
    if setter is not None and BACKEND is not zlib:
        setter(BACKEND)
