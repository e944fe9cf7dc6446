"""Which records of a stored set NCBI modified within a range of days: one esearch per set, so
a refresh (or the record cache) fetches only what changed instead of every record again.

The request is NCBI's documented form (docs/NCBI_BEHAVIOUR.md, "Records modified since a
date"): `term=#N` with the set's `WebEnv` and `usehistory=y` (without it esearch reads no
query key in `term`), `datetype=mdat`, `mindate` and `maxdate` (`YYYY/MM/DD`, the two go
together, both inclusive, a day's grain). `unchanged_before` lists the set's records modified
on or before a day: held, unchanged since and still there (a withdrawn record has no mdat), in
one question. Whether a database keeps mdat is a per-database fact the caller checks first.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from harvester.errors import ParseError
from harvester.eutils.client import EutilsClient
from harvester.ncbi import RETMAX_CAP

__all__ = [
    "EVER",
    "MAXDATE",
    "PUBMED_LISTABLE",
    "ChangedSince",
    "changed_since",
    "dates_apply",
    "unchanged_before",
]

MAXDATE = "3000"
"""The open end of the range: mindate needs a maxdate, and no record is modified after it."""
EVER = "1800/01/01"
"""A mindate before any record's modification date: the question over every date."""
PUBMED_LISTABLE = 9_999
"""PubMed's esearch lists only the first 9,999 uids of a result (NCBI_NOTES §4)."""


@dataclass(frozen=True, slots=True)
class ChangedSince:
    """The answer: the modified uids, and where NCBI now keeps them as a set of their own."""

    uids: frozenset[int] | None
    """The uids modified within the range; None when there are more than esearch can list
    (PubMed past 9,999): then fetch the set at `webenv`/`query_key`, which holds exactly them."""
    count: int
    """How many NCBI counts, listed or not."""
    webenv: str | None
    query_key: str | None
    requests: int
    """The requests it took: one per set while it fits one page."""


def mindate(since: datetime.date) -> str:
    """A date as esearch takes it."""
    return f"{since.year:04d}/{since.month:02d}/{since.day:02d}"


async def changed_since(
    client: EutilsClient, db: str, since: datetime.date, *, webenv: str, query_key: str
) -> ChangedSince:
    """The uids of History set `query_key` (in `webenv`) that `db` modified on or after `since`."""
    return await _dated(client, db, mindate(since), MAXDATE, webenv=webenv, query_key=query_key)


async def unchanged_before(
    client: EutilsClient, db: str, last: datetime.date, *, webenv: str, query_key: str
) -> ChangedSince:
    """The uids of History set `query_key` that `db` holds a record for last modified on or
    before `last` (mdat from 1800 to `last`, both inclusive): a record modified after it, or
    withdrawn (no record, so no mdat), or not in the set, is not listed."""
    return await _dated(client, db, EVER, mindate(last), webenv=webenv, query_key=query_key)


async def dates_apply(client: EutilsClient, db: str, *, webenv: str, query_key: str) -> bool:
    """Whether esearch applies mdat limits to `#query_key` at all: the set's members modified
    on 1800/01/01, a day no record is dated, must count none. Were the limits ignored, a
    listing of the unchanged would name every member, the modified too: served stale."""
    extra = {"datetype": "mdat", "mindate": EVER, "maxdate": EVER}
    found = await client.esearch(
        db, f"#{query_key}", usehistory=True, webenv=webenv, retmax=0, extra=extra
    )
    return found.count == 0


async def _dated(
    client: EutilsClient, db: str, since: str, until: str, *, webenv: str, query_key: str
) -> ChangedSince:
    """esearch `#query_key` limited to mdat from `since` to `until`, every page of it. Each
    page asks the query again, so an answer that moved between pages (a count that differs,
    an id twice, fewer ids than counted) cannot be read: a ParseError, retried, never a miss."""
    extra = {"datetype": "mdat", "mindate": since, "maxdate": until}
    term = f"#{query_key}"
    first = await client.esearch(
        db, term, usehistory=True, webenv=webenv, retmax=RETMAX_CAP, extra=extra
    )
    requests, found = 1, [*first.ids]
    if db == "pubmed" and first.count > PUBMED_LISTABLE:
        return ChangedSince(None, first.count, first.webenv, first.query_key, requests)
    while len(found) < first.count:
        page = await client.esearch(
            db,
            term,
            usehistory=True,
            webenv=webenv,
            retstart=len(found),
            retmax=RETMAX_CAP,
            extra=extra,
        )
        requests += 1
        if not page.ids or page.count != first.count:
            raise ParseError(
                f"esearch counted {first.count} {db} records modified {since}-{until} "
                f"but its page at {len(found)} counted {page.count} and listed {len(page.ids)}"
            )
        found.extend(page.ids)
    uids = _uids(found, db)
    if len(uids) != first.count:
        raise ParseError(
            f"esearch counted {first.count} {db} records modified {since}-{until} "
            f"but listed {len(uids)} distinct ones"
        )
    return ChangedSince(uids, first.count, first.webenv, first.query_key, requests)


def _uids(ids: Sequence[str], db: str) -> frozenset[int]:
    """esearch's ids as uids; anything else is an answer that cannot be read, never skipped."""
    bad = [i for i in ids if not i.isdigit()]
    if bad:
        raise ParseError(f"esearch answered {db} ids that are not uids: {', '.join(bad[:3])}")
    return frozenset(int(i) for i in ids)
