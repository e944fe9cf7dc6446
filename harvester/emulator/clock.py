"""The emulator's clock: when each generated record appeared, when it was revised, and when each
link was added or removed, so a dataset can be served as it was on any day (`--as-of`).

Everything is a pure function of (dataset seed, db, index or link pair, day), so a dataset as of
a day is as deterministic as the dataset itself. The dataset without an as-of date is the dataset
as of `REFERENCE`: every generated record was born on or before it, every link added by it and
every removed link removed before it, so serving "as of REFERENCE" changes no record or link,
only adds the dates to the records. A record's content is a function of its revision: the parts
of it drawn from links (a SNP's genes, an article's references, a gene's GeneRIF citations) are
the links as of its modification date, so its content changes exactly when its mdat moves.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from harvester.emulator.graph import mix, salt_of

REFERENCE = datetime.date(2026, 12, 31)
"""The day the dataset without `--as-of` is: the last day `--as-of` can name."""
EARLIEST = datetime.date(1990, 1, 1)
SEED_DAY = datetime.date(2007, 1, 1).toordinal()
"""The seed documents' examples were created and last modified on this day, and never change."""
RELEASE_EPOCH = datetime.date(2026, 1, 1).toordinal()
"""dbSNP-like releases fall on this day plus multiples of the db's `release_days`."""
LINK_LAG_DAYS = 730
"""A link added late is added within this many days after both of its records existed."""
REMOVED_WITHIN_DAYS = 365
"""A removed link went away within this many days before REFERENCE."""
_UNIT = float(1 << 64)


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast one database changes (estimates; docs/NCBI_BEHAVIOUR.md gives the reasoning)."""

    growth_per_year: float
    """New records a year, as a share of the records the db holds."""
    revised_per_month: float
    """Share of the db's records revised (mdat moved) in a month."""
    release_days: int = 1
    """Records appear and are revised only on release days this far apart (1: any day)."""
    late_links_per_mille: int = 50
    """Links (per thousand) added after both of their records existed."""
    removed_per_mille: int = 0
    """Sources (per thousand) with one link that existed once and was removed since."""


PACES: dict[str, Pace] = {
    "pubmed": Pace(0.04, 0.01),
    "gene": Pace(0.01, 0.05, removed_per_mille=60),
    "snp": Pace(0.10, 0.005, release_days=91),
    "protein": Pace(0.08, 0.02),
    "nuccore": Pace(0.08, 0.02),
}
"""Dbs with generated records; any other db's records never change (the seed examples)."""
LATE_LINKS_PER_MILLE = {frozenset({"gene", "pubmed"}): 250}
"""Db pairs whose links are often added long after both records exist (GeneRIFs, curation)."""


def parse_day(text: str) -> datetime.date:
    """An as-of date (`YYYY-MM-DD` or `YYYY/MM/DD`), within the dataset's history; ValueError
    says why not in one sentence."""
    try:
        day = datetime.date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise ValueError(f"as-of date {text!r} is not a date of the form YYYY-MM-DD") from None
    if not EARLIEST <= day <= REFERENCE:
        raise ValueError(
            f"as-of date {day} is outside the emulator's history ({EARLIEST} to {REFERENCE}, "
            "the day the dataset is without --as-of)"
        )
    return day


def _unit(*parts: int) -> float:
    return mix(*parts) / _UNIT


def _floor_release(pace: Pace, day: int) -> int:
    step = pace.release_days
    return day if step <= 1 else RELEASE_EPOCH + (day - RELEASE_EPOCH) // step * step


def _ceil_release(pace: Pace, day: int) -> int:
    step = pace.release_days
    return day if step <= 1 else RELEASE_EPOCH - (RELEASE_EPOCH - day) // step * step


def release_days(db: str, first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The days between `first` and `last` (inclusive) on which `db` can change."""
    pace = PACES.get(db)
    if pace is None:
        return []
    day = _ceil_release(pace, first.toordinal())
    out = []
    while day <= last.toordinal():
        out.append(datetime.date.fromordinal(day))
        day += max(1, pace.release_days)
    return out


class Clock:
    """Births, revisions and link days of one dataset's generated records (days are ordinals)."""

    def __init__(self, seed: int, as_of: datetime.date = REFERENCE) -> None:
        self.seed = seed
        self.day = as_of.toordinal()
        self.reference = REFERENCE.toordinal()

    # -- records ---------------------------------------------------------------------------
    def _raw_birth(self, db: str, index: int) -> int:
        pace = PACES[db]
        age_years = _unit(self.seed, 71, salt_of(db), index) / pace.growth_per_year
        return self.reference - int(age_years * 365.25)

    def birth(self, db: str, index: int | None) -> int:
        """The day a record appeared (seed records and other dbs: long ago)."""
        if index is None or db not in PACES:
            return SEED_DAY
        return _floor_release(PACES[db], self._raw_birth(db, index))

    def born(self, db: str, index: int | None, day: int | None = None) -> bool:
        return self.birth(db, index) <= (self.day if day is None else day)

    def _schedule(self, db: str, index: int) -> tuple[int, int]:
        """(first revision's raw day, days between revisions) of one record."""
        pace = PACES[db]
        scale = 30 * math.log(3) / pace.revised_per_month
        period = max(1, int(scale * (0.5 + _unit(self.seed, 73, salt_of(db), index))))
        phase = 1 + int(period * _unit(self.seed, 79, salt_of(db), index))
        return self._raw_birth(db, index) + phase, period

    def revision(self, db: str, index: int | None, day: int | None = None) -> int:
        """How many times a record was revised by `day` (default: the clock's day)."""
        if index is None or db not in PACES:
            return 0
        pace = PACES[db]
        first, period = self._schedule(db, index)
        last_release = _floor_release(pace, self.day if day is None else day)
        return 0 if last_release < first else (last_release - first) // period + 1

    def mdat(self, db: str, index: int | None, day: int | None = None) -> int:
        """The record's modification date as of `day`: its last revision, else its birth."""
        count = self.revision(db, index, day)
        if index is None or db not in PACES or count == 0:
            return self.birth(db, index)
        first, period = self._schedule(db, index)
        return _ceil_release(PACES[db], first + (count - 1) * period)

    # -- links -----------------------------------------------------------------------------
    def link_day(self, dbs: tuple[str, str], births: tuple[int, int], uids: tuple[int, int]) -> int:
        """The day a link between two records was added (both records' dbs, births, uids)."""
        base = max(births)
        pair = frozenset(dbs)
        per_mille = LATE_LINKS_PER_MILLE.get(pair)
        if per_mille is None:
            per_mille = max((PACES[d].late_links_per_mille for d in dbs if d in PACES), default=0)
        a, b = sorted(uids) if dbs[0] == dbs[1] else (uids if dbs[0] <= dbs[1] else uids[::-1])
        h = mix(self.seed, 83, salt_of("|".join(sorted(dbs))), a, b)
        if h % 1000 >= per_mille:
            return base
        day = base + 1 + (h >> 10) % LINK_LAG_DAYS
        for db in dbs:
            if db in PACES:
                day = max(day, _ceil_release(PACES[db], day))
        return day if day <= self.reference else base

    def removal_day(self, source_db: str, source_index: int) -> int | None:
        """The day a source's removed link went away, or None when it had none."""
        pace = PACES.get(source_db)
        if pace is None or not pace.removed_per_mille:
            return None
        h = mix(self.seed, 89, salt_of(source_db), source_index)
        if h % 1000 >= pace.removed_per_mille:
            return None
        return self.reference - 1 - (h >> 10) % REMOVED_WITHIN_DAYS


def day_text(day: int, sep: str = "/") -> str:
    return datetime.date.fromordinal(day).strftime(f"%Y{sep}%m{sep}%d")
