"""`harvester plan JOB --refresh`: the requests a refresh needs, from the finished job's store,
before any is sent: the elink stage again, one mdat question per History set and one listing
of which of its members NCBI still has, and pages of the records that are new or changed (unknown
until NCBI is asked: given as a range)."""

from __future__ import annotations

from harvester.config import JobConfig
from harvester.errors import InputError
from harvester.workflow import refresh
from harvester.workflow.plan import page_count
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME
from harvester.workflow.views import StoreView

__all__ = ["refresh_lines"]


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
        counts = StoreView(store).counts()
    chunks, targets = counts["chunks"], counts["targets"]
    sets = counts["entries"] - counts["entries_rebuilt"]
    page = job.fetch.page_size
    fixed = 2 * chunks + 2 * sets
    most = fixed + page_count(targets, page)
    lines = [
        f"refresh        of the run in {job.job_dir}"
        + (" (a refresh is under way: running the job resumes it)" if under_way else ""),
        f"elink          {chunks:,} per-id elinks and up to {chunks:,} neighbor_history or "
        "epost requests (the links as of now, every source asked again; sources elink answers "
        "without links are asked once more, as in any run)",
        f"mdat           about {sets:,} esearch, one per History set holding records the last "
        f"run fetched (term=#N, datetype=mdat, since its day), if NCBI dates {job.db} by mdat, "
        f"and as many listing which of the set's records NCBI still has (mdat since 1800: a "
        "held record withdrawn since, or absent from the set, is fetched by id)",
        f"fetch          ceil((new + changed) / {page}) {job.fetch.via} pages by id, + 1 when "
        f"NCBI withdrew some: 0 when nothing changed, {page_count(targets, page):,} were every "
        f"one of the {targets:,} targets new or changed (or {job.db} not dated by mdat)",
        f"requests       {fixed:,} + those pages: {fixed:,} to {most:,} "
        f"({most / rate if rate else 0:,.1f} s at most at {rate:g} per s)",
    ]
    return lines
