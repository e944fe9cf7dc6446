"""`run --refresh`: a finished job brought up to date with only what changed.

The finished store is moved aside (`state.previous.sqlite`, whole: its WAL checkpointed first)
and the job is harvested afresh into a new store, elink asked again for every source, with the
previous store's records as known records (known.py): NCBI is asked once per History set which
of them changed (known_entries.py), and only the new and the changed are fetched. The output
is then what a fresh run writes now. `CHANGES.jsonl` (changes.py) and the summary say which
links came and went and which records NCBI revised; the previous store is removed last.

A refresh killed at any point is resumed by running the job again (with or without
--refresh): while the previous store is there, the run is a refresh, and the previous store
is never touched before the new one is complete and its changes are written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harvester.config import JobConfig
from harvester.errors import InputError
from harvester.stats import Stats
from harvester.workflow.changes import store_index, write_changes
from harvester.workflow.known import PreviousStore
from harvester.workflow.states import EntryState, TargetState
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME

__all__ = [
    "PREVIOUS_NAME",
    "begin",
    "changes",
    "discard",
    "finish",
    "not_refreshable",
    "previous",
    "unfinished",
]

PREVIOUS_NAME = "state.previous.sqlite"
_SIDE_FILES = ("-wal", "-shm", "-journal")


def _previous_path(job: JobConfig) -> Path:
    return job.job_dir / PREVIOUS_NAME


def unfinished(store: Store) -> str | None:
    """What a store still lacks before it is a finished harvest (None: it is one)."""
    if store.get_meta("config_hash") is None:
        return "it has not run yet"
    if any(not chunk.linked for chunk in store.chunks()):
        return "some of its sources are not linked yet"
    if store.entries((EntryState.OPEN,)) or store.pending_total():
        return "some of its records are not fetched yet"
    return None


def not_refreshable(job: JobConfig, why: str) -> InputError:
    """The one sentence refusing to refresh (or plan a refresh of) a job that is not finished."""
    return InputError(
        f"the job in {job.job_dir} cannot be refreshed: {why}; "
        "run it without --refresh to finish it first"
    )


def begin(job: JobConfig, refresh: bool) -> bool:
    """Under the job directory's lock, before the store is opened: whether this run is a
    refresh (one under way is resumed whatever `refresh` says); with `refresh`, a finished
    store is moved aside first. A job that has not finished is refused (InputError)."""
    if _previous_path(job).exists():
        _check_same_job(job, _previous_path(job))
        return True
    if not refresh:
        return False
    current = job.job_dir / STORE_NAME
    if not current.exists():
        raise InputError(
            f"nothing to refresh in {job.job_dir}: the job has not run yet; "
            "run it without --refresh first"
        )
    with Store(current, lock=False) as store:
        why = unfinished(store)
        if why is not None:
            raise not_refreshable(job, why)
        _check_same_job(job, store)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # its WAL emptied into it
    os.replace(current, _previous_path(job))
    _remove_side_files(current)
    _sync_dir(job.job_dir)
    return True


def _check_same_job(job: JobConfig, where: Store | Path) -> None:
    """Refuse (InputError) when the finished run was of another job (db, link names, sources,
    fetch format...): its records would be served as this job's."""
    if isinstance(where, Path):
        with Store(where, lock=False, read_only=True) as store:
            recorded = store.get_meta("config_hash")
    else:
        recorded = where.get_meta("config_hash")
    if recorded is not None and recorded != job.semantic_hash():
        raise InputError(
            f"the job in {job.job_dir} cannot be refreshed: its job file changed since the "
            "last run (what is linked or fetched, or how), so its records are not this job's; "
            "run it with --restart to start over"
        )


def previous(job: JobConfig) -> PreviousStore:
    """The previous store's records, as known records for the new harvest."""
    return PreviousStore(_previous_path(job))


def changes(job: JobConfig, store: Store, before: PreviousStore, stats: Stats) -> dict[str, Any]:
    """Write CHANGES.jsonl (previous store against the new one) and return the summary's
    `refresh` section."""
    old = store_index(before.store.db, before.store.linknames())
    new = store_index(store.db, store.linknames())
    counts = write_changes(job.job_dir, old, new, _revised(before.store, store))
    return {
        "links_added": counts.added,
        "links_removed": counts.removed,
        "records_updated": counts.updated,
        "sources_changed": counts.sources,
        "records_reused": int(stats.get("known/reused")),
        "records_changed_by_mdat": int(stats.get("known/changed")),
        "mdat_queries": int(stats.get("known/validations")),
        "mdat_requests": int(stats.get("known/mdat_requests")),
        "date_limit_probes": int(stats.get("known/date_probes")),
        "sets_unlistable": int(stats.get("known/unlistable_sets")),
        "records_unlisted": _withdrawn(before, store),
        "changes_file": str(job.job_dir / "CHANGES.jsonl"),
    }


def _withdrawn(before: PreviousStore, store: Store) -> int:
    """Records held whole before that NCBI now says it has none of: withdrawn since, so never
    listed unchanged, fetched by id and found missing, not served as held."""
    rows = store.db.execute("SELECT uid FROM targets WHERE state=?", (TargetState.MISSING,))
    missing = [uid for (uid,) in rows]
    return sum(1 for k in before.lookup(missing).values() if k.body is not None)


def finish(job: JobConfig, before: PreviousStore) -> None:
    """The refresh is complete (output, changes, summary written): the previous store goes."""
    before.close()
    path = _previous_path(job)
    path.unlink(missing_ok=True)
    _remove_side_files(path)
    _sync_dir(job.job_dir)


def discard(job: JobConfig) -> None:
    """`--restart`: a refresh under way is forgotten with the rest."""
    path = _previous_path(job)
    path.unlink(missing_ok=True)
    _remove_side_files(path)


def _digests(store: Store) -> Iterator[tuple[int, bytes]]:
    for uid, body in store.kept_records():
        yield uid, hashlib.blake2b(body, digest_size=16).digest()


def _revised(old: Store, new: Store) -> set[int]:
    """Records held before and fetched now whose bytes differ: what NCBI revised (a record
    mdat called changed that came back the same is not)."""
    now: dict[int, bytes] = {}
    for uid, digest in _digests(new):
        now.setdefault(uid, digest)  # the first copy, as the output took it
    seen: set[int] = set()
    revised: set[int] = set()
    for uid, digest in _digests(old):
        if uid not in seen and uid in now and now[uid] != digest:
            revised.add(uid)
        seen.add(uid)
    return revised


def _remove_side_files(path: Path) -> None:
    for suffix in _SIDE_FILES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _sync_dir(directory: Path) -> None:
    """A rename or removal survives a crash once the directory is synced."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
