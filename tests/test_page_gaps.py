"""Which ids a History page lacked, placed by the entry's own order (page_gaps.py)."""

from __future__ import annotations

from harvester.workflow.page_gaps import lacked

IDS = list(range(100, 1300, 1))  # 1,200 ids, ascending: pages of 500 at 0, 500, 1000


def test_ascending_order_places_the_page_and_names_its_gaps() -> None:
    window = IDS[500:1000]
    returned = [uid for uid in window if uid not in (612, 777)]
    assert lacked(IDS, 500, 500, returned) == [612, 777]


def test_descending_order_is_recognised_too() -> None:
    newest_first = IDS[::-1]
    window = newest_first[0:500]  # the page at retstart 0 holds the highest ids
    returned = [uid for uid in window if uid != 1250]
    assert lacked(IDS, 0, 500, returned) == [1250]


def test_the_short_last_page_covers_only_what_is_left() -> None:
    returned = [uid for uid in IDS[1000:] if uid != 1299]
    assert lacked(IDS, 1000, 500, returned) == [1299]


def test_a_page_that_fits_no_order_says_nothing() -> None:
    returned = IDS[250:750]  # straddles two pages of either order: the entry is stored otherwise
    assert lacked(IDS, 500, 500, returned) == []


def test_an_id_outside_the_entry_says_nothing() -> None:
    returned = [*IDS[1:500], 99]  # NCBI holds an id the index does not
    assert lacked(IDS, 0, 500, returned) == []


def test_a_page_returning_under_half_its_slice_says_nothing() -> None:
    assert lacked(IDS, 0, 500, IDS[:249]) == []
    assert lacked(IDS, 0, 500, IDS[:250]) == IDS[250:500]


def test_a_whole_page_has_no_gaps_and_a_page_past_the_end_none_either() -> None:
    assert lacked(IDS, 500, 500, IDS[500:1000]) == []
    assert lacked(IDS, 1500, 500, []) == []


def test_one_page_entry_fits_both_orders_alike() -> None:
    ids = [5, 9, 12, 40]
    assert lacked(ids, 0, 500, [40, 5, 9]) == [12]
