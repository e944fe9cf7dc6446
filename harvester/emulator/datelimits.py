"""esearch's date limits (mindate/maxdate, reldate, datetype) over the dates a dataset has.

The datasets date PubMed articles by publication year only, so `pdat` (the default here) on
pubmed is what the emulator can honour: an article matches when its year overlaps the range
(mindate's year .. maxdate's year), or, with reldate n, when its year reaches the day n days
before today. Other dbs and datetypes it has no dates for are refused, never ignored: a limit
silently dropped would answer more records than the question asked for.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from harvester.emulator.catalog import Catalog
from harvester.emulator.params import ParamError, Params
from harvester.search_dates import date_span

DATED = {("pubmed", "pdat")}
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
            f"the emulator has no {datetype} dates for db={db} (it dates pubmed by pdat only)"
        )
    first, last = _range(low, high, p.int("reldate", 0) if reldate else None)

    def within(uid: int) -> bool:
        article = catalog.records.article(uid)
        return article is not None and first.year <= article.year <= last.year

    return within


def _range(
    low: str | None, high: str | None, reldate: int | None
) -> tuple[datetime.date, datetime.date]:
    if reldate is not None:
        today = datetime.date.today()
        return today - datetime.timedelta(days=reldate), today
    if not (low and high):
        raise ParamError("mindate and maxdate must be given together")
    try:
        return date_span(low)[0], date_span(high)[1]
    except ValueError as exc:
        raise ParamError(f"Invalid date: {exc}") from None
