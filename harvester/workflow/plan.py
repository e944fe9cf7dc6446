"""How work splits into requests: an entry's fetch pages and how many there are, in one place
for the engine (which sends them), the store's views (the request floor) and `harvester check`
(its estimate), so the three cannot count pages differently."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["page_count", "pages"]


def page_count(ids: int, page_size: int) -> int:
    """The fetch pages `ids` ids take, each at most `page_size` ids."""
    return -(-ids // page_size)


def pages(size: int, page_size: int) -> Iterator[tuple[int, int]]:
    """(retstart, ids in it) of each page of an entry holding `size` ids, in order."""
    for retstart in range(0, size, page_size):
        yield retstart, min(page_size, size - retstart)
