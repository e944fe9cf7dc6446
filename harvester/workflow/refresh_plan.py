"""`harvester plan JOB --refresh`: the requests a refresh needs, from the finished job's store,
before any is sent: the elink stage again, one mdat question per History set (and a count of
each set neighbor_history made), and pages of the records that are new or changed (unknown
until NCBI is asked: given as a range)."""

from __future__ import annotations

from harvester.config import JobConfig
from harvester.errors import InputError
from harvester.workflow import refresh
from harvester.workflow.plan import page_count
from harvester.workflow.states import EntryState
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
        (linked,) = store.db.execute(  # made by neighbor_history: their size is counted too
            "SELECT count(*) FROM entries WHERE link IS NOT NULL AND state != ?",
            (EntryState.REPLACED,),
        ).fetchone()
    chunks, targets = counts["chunks"], counts["targets"]
    sets = counts["entries"] - counts["entries_rebuilt"]
    page = job.fetch.page_size
    fixed = 2 * chunks + sets + linked
    most = fixed + page_count(targets, page)
    lines = [
        f"refresh        of the run in {job.job_dir}"
        + (" (a refresh is under way: running the job resumes it)" if under_way else ""),
        f"elink          {chunks:,} per-id elinks and up to {chunks:,} neighbor_history or "
        "epost requests (the links as of now, every source asked again; sources elink answers "
        "without links are asked once more, as in any run)",
        f"mdat           about {sets:,} esearch, one per History set holding records the last "
        f"run fetched (term=#N, datetype=mdat, since its day), if NCBI dates {job.db} by mdat; "
        f"and about {linked:,} esearch counting the sets neighbor_history made (a set lacking "
        "an id of the links has its records fetched again)",
        f"fetch          ceil((new + changed) / {page}) {job.fetch.via} pages by id, + 1 when "
        f"NCBI withdrew some: 0 when nothing changed, {page_count(targets, page):,} were every "
        f"one of the {targets:,} targets new or changed (or {job.db} not dated by mdat)",
        f"requests       {fixed:,} + those pages: {fixed:,} to {most:,} "
        f"({most / rate if rate else 0:,.1f} s at most at {rate:g} per s)",
    ]
    return lines
