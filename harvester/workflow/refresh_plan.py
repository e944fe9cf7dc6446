"""`harvester plan JOB --refresh`: the requests a refresh needs, from the finished job's store,
before any is sent: the elink stage again over the refresh's own chunks (refresh_chunks.py),
one mdat esearch per History set, and pages of the records that are new or changed (unknown
until NCBI is asked: given as a range). The sets are those the previous run's links make in
those chunks (a link added or removed since may change a few)."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass

from harvester.config import JobConfig
from harvester.errors import InputError
from harvester.ncbi import RETMAX_CAP
from harvester.workflow import refresh
from harvester.workflow.plan import history_entry, page_count, request_floor
from harvester.workflow.refresh_chunks import listing_cap, refresh_chunks
from harvester.workflow.states import Posting
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME
from harvester.workflow.views import StoreView

__all__ = ["RefreshFloor", "refresh_floor", "refresh_lines"]


@dataclass(frozen=True, slots=True)
class RefreshFloor:
    """What a refresh asks at the least before its pages, as the previous run's links say."""

    chunks: int
    """Per-id elinks: the refresh's chunks."""
    neighbor_history: int
    """neighbor_history requests: chunks whose targets get sets of their own."""
    history_sets: int
    """Their sets, one per link name."""
    pooled: bool
    """Whether some targets are pooled into eposts (one at least, a set each)."""
    listing_pages: int
    """esearch requests listing the neighbor_history sets: one per RETMAX_CAP of a set's ids
    (PubMed's sets are kept listable by the refresh's chunks, refresh_chunks.py)."""

    @property
    def sets(self) -> int:
        """History sets asked the mdat question, the eposts counted once."""
        return self.history_sets + self.pooled

    @property
    def questions(self) -> int:
        """The esearch requests the questions take: the sets' listing pages, the eposts', and
        one asking whether NCBI applies date limits to a set at all (changed.dates_apply)."""
        return self.listing_pages + self.pooled + (self.sets > 0)


def refresh_floor(store: Store, job: JobConfig) -> RefreshFloor:
    """The floor of a refresh of the finished `store`: its sources in the refresh's chunks,
    each chunk's targets claimed and posted as store.commit_links decides for a fresh store
    (neighbor_history sets of its own, else pooled into eposts)."""
    sources = [uid for (uid,) in store.db.execute("SELECT uid FROM sources ORDER BY position")]
    bounds = list(refresh_chunks(store, sources, job.elink_batch, job.db))
    page = job.fetch.page_size
    chunked = list(_linked(store, bounds, job.db))
    linked = [(mode, sizes) for mode, sizes, _ in chunked]
    floor = request_floor(linked, page)
    pooled = any(mode != Posting.NONE and not history_entry(mode, n, page) for mode, n in linked)
    listing = sum(pages for (mode, sizes, pages) in chunked if history_entry(mode, sizes, page))
    return RefreshFloor(len(bounds), floor.history - pooled, floor.checks, pooled, listing)


def _linked(
    store: Store, bounds: list[tuple[int, int, int]], db: str
) -> Iterator[tuple[Posting, list[int], int]]:
    """Each chunk's mode and claimed targets per link name, as commit_links would say, and
    the esearch pages listing its neighbor_history sets (one per link name, every target of
    the chunk in it) would take."""
    claimed: set[int] = set()
    for _, first, last in bounds:
        rows = store.db.execute(
            "SELECT e.link, e.target FROM sources s JOIN edges e ON e.source=s.uid "
            "WHERE s.position BETWEEN ? AND ? ORDER BY s.position, e.link, e.rank",
            (first, last),
        )
        distinct: dict[int, int] = {}
        pairs: set[tuple[int, int]] = set()
        for link, target in rows:
            distinct.setdefault(target, link)
            pairs.add((link, target))
        new = {t: link for t, link in distinct.items() if t not in claimed}
        claimed.update(new)
        per_link = collections.Counter(new.values())
        in_sets = collections.Counter(link for link, _ in pairs).values()
        listing = sum(1 if db == "pubmed" else page_count(n, RETMAX_CAP) for n in in_sets)
        if not new:
            yield Posting.NONE, [], 0
        elif len(new) == len(distinct) == len(pairs):
            yield Posting.HISTORY, list(per_link.values()), listing
        else:
            yield Posting.POST, list(per_link.values()), 0


def refresh_lines(job: JobConfig, rate: float) -> list[str]:
    """The plan's lines for a refresh of `job` (InputError when there is nothing to refresh)."""
    under_way = (job.job_dir / refresh.PREVIOUS_NAME).exists()
    path = job.job_dir / (refresh.PREVIOUS_NAME if under_way else STORE_NAME)
    if not path.exists():
        raise InputError(
            f"nothing to refresh in {job.job_dir}: the job has not run yet; "
            "run it without --refresh first"
        )
    with Store(path, read_only=True) as store:
        why = refresh.unfinished(store)
        if why is not None:
            raise refresh.not_refreshable(job, why)
        targets = StoreView(store).counts()["targets"]
        floor = refresh_floor(store, job)
    chunks, sets, pooled = floor.chunks, floor.sets, int(floor.pooled)
    page = job.fetch.page_size
    fixed = chunks + floor.neighbor_history + pooled + floor.questions
    most = fixed + page_count(targets, page)
    return [
        f"refresh        of the run in {job.job_dir}"
        + (" (a refresh is under way: running the job resumes it)" if under_way else ""),
        f"elink          {chunks:,} per-id elinks (at most {job.elink_batch:,} sources each"
        + (
            f" and ~{cap:,} of the last run's targets, so {job.db} can list each set)"
            if (cap := listing_cap(job.db))
            else ")"
        )
        + ", "
        f"{floor.neighbor_history:,} neighbor_history and {pooled:,} epost of the pooled "
        "targets, or more when they are posted as they come (the links as of now, every source "
        "asked again; sources elink answers without links are asked once more, as in any run)",
        f"mdat           {floor.questions:,} esearch at most, one per History set ({sets:,}) "
        f"and {RETMAX_CAP:,} of its ids, and one asking whether NCBI applies date limits to a "
        "set at all: where it holds records the last "
        f"run fetched, term=#N, datetype=mdat, mindate=1800/01/01, maxdate before the last "
        f"run's day (the held {job.db} records NCBI still has unchanged; each other one is "
        f"fetched by id), if NCBI dates {job.db} by mdat; else its size check; one more per "
        "extra epost",
        f"fetch          ceil((new + changed) / {page}) {job.fetch.via} pages by id, + 1 when "
        f"NCBI withdrew some: 0 when nothing changed, {page_count(targets, page):,} were every "
        f"one of the {targets:,} targets new or changed (or {job.db} not dated by mdat)",
        f"requests       {fixed:,} + those pages: {fixed:,} to {most:,} "
        f"({most / rate if rate else 0:,.1f} s at most at {rate:g} per s)",
    ]
