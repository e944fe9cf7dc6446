"""esearch's date limits (mindate/maxdate, reldate, datetype) over the dates a dataset has.

PubMed articles are dated by publication year (`pdat`, the default here): an article matches
when its year overlaps the range (mindate's year .. maxdate's year), or, with reldate n, when
its year reaches the day n days before today. Every generated record has a modification date
(`mdat`, emulator/clock.py), matched by day, as of the dataset's day (reldate counts back from
it). Other dbs and datetypes it has no dates for are refused, never ignored: a limit silently
dropped would answer more records than the question asked for.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from harvester.emulator.catalog import Catalog
from harvester.emulator.clock import PACES
from harvester.emulator.params import ParamError, Params
from harvester.search_dates import date_span

MDAT_DBS = frozenset(PACES)
"""The dbs whose records carry a modification date (docs/NCBI_BEHAVIOUR.md: which NCBI dbs do)."""
DATED = {("pubmed", "pdat")} | {(db, "mdat") for db in MDAT_DBS}
"""(db, datetype) pairs whose dates the datasets hold."""
DEFAULT_DATETYPE = "pdat"


def date_test(catalog: Catalog, db: str, p: Params) -> Callable[[int], bool] | None:
    """A test for uids within the request's date limits, or None when it sets none."""
    low, high, reldate = p.get("mindate"), p.get("maxdate"), p.get("reldate")
    if not (low or high or reldate):
        return None
    datetype = (p.get("datetype") or DEFAULT_DATETYPE).lower()
    if (db, datetype) not in DATED:
        raise ParamError(
            f"the emulator has no {datetype} dates for db={db} (it dates pubmed by pdat, "
            f"and {', '.join(sorted(MDAT_DBS))} by mdat)"
        )
    if datetype == "mdat":
        today = datetime.date.fromordinal(catalog.ds.clock.day)
        first, last = _range(low, high, p.int("reldate", 0) if reldate else None, today)
        return mdat_test(catalog, db, first, last)
    first, last = _range(low, high, p.int("reldate", 0) if reldate else None)

    def within(uid: int) -> bool:
        article = catalog.records.article(uid)
        return article is not None and first.year <= article.year <= last.year

    return within


def mdat_test(
    catalog: Catalog, db: str, first: datetime.date, last: datetime.date
) -> Callable[[int], bool]:
    """A test for uids whose modification date lies within first..last (whole days); a record
    not there as of the day (withdrawn, not yet born) has none, as in NCBI's index."""
    ds, low, high = catalog.ds, first.toordinal(), last.toordinal()
    return lambda uid: ds.exists(db, uid) and low <= ds.mdat(db, uid) <= high


def _range(
    low: str | None,
    high: str | None,
    reldate: int | None,
    today: datetime.date | None = None,
) -> tuple[datetime.date, datetime.date]:
    if reldate is not None:
        today = today or datetime.date.today()
        return today - datetime.timedelta(days=reldate), today
    if not (low and high):
        raise ParamError("mindate and maxdate must be given together")
    try:
        return date_span(low)[0], date_span(high)[1]
    except ValueError as exc:
        raise ParamError(f"Invalid date: {exc}") from None
