"""Date limits of a `term:` source (esearch's mindate, maxdate, datetype, reldate): checked once
here, sent as esearch parameters, and read the same way by the emulator's esearch.

NCBI's E-utilities book: mindate and maxdate go together, each YYYY, YYYY/MM or YYYY/MM/DD;
reldate n keeps the last n days; datetype names the date they apply to (pdat, edat, mdat, ...,
which a database has varies); docs/NCBI_BEHAVIOUR.md has the details.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

__all__ = ["DATE_KEYS", "SearchDates", "date_span", "search_dates"]

DATE_KEYS = ("mindate", "maxdate", "datetype", "reldate")
_DATE = re.compile(r"(\d{4})(?:/(\d{1,2})(?:/(\d{1,2}))?)?")
_DATETYPE = re.compile(r"[a-z]{2,8}")
MAX_RELDATE = 365 * 1000
"""Days: anything longer is a typo."""


@dataclass(frozen=True, slots=True)
class SearchDates:
    """The date limits of one esearch, as NCBI takes them (dates in its YYYY[/MM[/DD]] form)."""

    mindate: str | None = None
    maxdate: str | None = None
    datetype: str | None = None
    reldate: int | None = None

    def params(self) -> dict[str, str]:
        """The esearch parameters that carry these limits."""
        given = {
            "mindate": self.mindate,
            "maxdate": self.maxdate,
            "datetype": self.datetype,
            "reldate": None if self.reldate is None else str(self.reldate),
        }
        return {k: v for k, v in given.items() if v is not None}


def date_span(text: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day a YYYY, YYYY/MM or YYYY/MM/DD date covers; ValueError says why
    a text is not one."""
    m = _DATE.fullmatch(text.strip())
    if m is None and _DATE.fullmatch(text.strip().replace("-", "/")):
        raise ValueError(f"{text!r} must use slashes: {text.strip().replace('-', '/')}")
    if m is None:
        raise ValueError(f"{text!r} is not a date of the form YYYY, YYYY/MM or YYYY/MM/DD")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        if day is None:
            last = calendar.monthrange(year, int(month))[1]
            return datetime.date(year, int(month), 1), datetime.date(year, int(month), last)
        one = datetime.date(year, int(month), int(day))
    except (ValueError, calendar.IllegalMonthError):
        raise ValueError(f"{text!r} is not a calendar date") from None
    return one, one


def search_dates(raw: dict[str, object]) -> SearchDates | None:
    """The limits given (None when none is); ValueError names the key and the problem."""
    if all(raw.get(k) is None for k in DATE_KEYS):
        return None
    texts: dict[str, str | None] = {}
    for key in ("mindate", "maxdate"):
        value = raw.get(key)
        if isinstance(value, datetime.date):
            shown = value.isoformat()
            raise ValueError(f"{key} {shown!r} must use slashes: {shown.replace('-', '/')}")
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            raise ValueError(f"{key} must be a date of the form YYYY, YYYY/MM or YYYY/MM/DD")
        if value is not None:
            try:
                date_span(str(value))
            except ValueError as exc:
                raise ValueError(f"{key} {exc}") from None
        texts[key] = None if value is None else str(value).strip()
    low, high = texts["mindate"], texts["maxdate"]
    if (low is None) != (high is None):
        given, absent = ("mindate", "maxdate") if low is not None else ("maxdate", "mindate")
        raise ValueError(f"{given} needs {absent} too (NCBI takes the two together)")
    if low is not None and high is not None and date_span(low)[0] > date_span(high)[1]:
        raise ValueError(f"mindate {low} is after maxdate {high}")
    reldate = raw.get("reldate")
    if reldate is not None:
        if isinstance(reldate, str) and reldate.strip().isdigit():
            reldate = int(reldate)
        if not isinstance(reldate, int) or isinstance(reldate, bool) or not reldate > 0:
            raise ValueError(f"reldate must be a positive number of days, got {reldate!r}")
        if reldate > MAX_RELDATE:
            raise ValueError(f"reldate must be at most {MAX_RELDATE} days, got {reldate}")
        if low is not None:
            raise ValueError("give either reldate or mindate/maxdate, not both")
    datetype = raw.get("datetype")
    if datetype is not None:
        if not isinstance(datetype, str) or not _DATETYPE.fullmatch(datetype.strip().lower()):
            raise ValueError(f"datetype {datetype!r} must be a date field such as pdat, edat, mdat")
        datetype = datetype.strip().lower()
        if low is None and reldate is None:
            raise ValueError("datetype needs mindate/maxdate or reldate (it says which date)")
    return SearchDates(low, high, datetype, reldate)
