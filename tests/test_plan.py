"""Fetch pages are split in one place (plan.py): the engine's pages, the store's request floor
and `harvester check`'s estimate count them alike."""

from __future__ import annotations

from harvester.workflow.plan import page_count, pages


def test_pages_cover_an_entry_once_each_at_most_a_page_long() -> None:
    assert list(pages(0, 500)) == []
    assert list(pages(1000, 500)) == [(0, 500), (500, 500)]
    assert list(pages(1001, 500)) == [(0, 500), (500, 500), (1000, 1)]
    for size in range(0, 40):
        for page_size in (1, 3, 7, 50):
            split = list(pages(size, page_size))
            assert len(split) == page_count(size, page_size)
            assert sum(ids for _, ids in split) == size
