"""Which ids a History page lacked, when the page itself shows where it sits in its entry.

A page asks for positions retstart.. of a History entry, and ids without a record are skipped,
so a short page does not say which ids it lacked. NCBI does not document the order inside an
entry (its elink lists are in descending UID; the emulator stores ascending), so both orders
of the entry's ids are tried. An order counts only when every id the page returned falls in
its slice; else nothing is inferred, and the ids are found once all the entry's pages are in.
An inference is only a reason to ask by id: the by-id answer decides what is missing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def lacked(ids: Sequence[int], retstart: int, size: int, returned: Collection[int]) -> list[int]:
    """The ids of `ids` (the entry's, ascending) the page at retstart/size should have held but
    did not return, or [] when no order fits or the page returned under half its slice."""
    count = len(ids)
    end = min(retstart + size, count)
    if retstart >= end or 2 * len(returned) < end - retstart:
        return []
    found = set(returned)
    fits = [
        window
        for window in (ids[retstart:end], ids[count - end : count - retstart])
        if found.issubset(window)
    ]
    if not fits or (len(fits) == 2 and set(fits[0]) != set(fits[1])):
        return []  # neither order, or both with different gaps
    return [uid for uid in fits[0] if uid not in found]
