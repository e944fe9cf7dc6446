"""The public Python API: load a job, harvest it (from a script, from async code, or from a
notebook whose event loop is already running), and read the result without parsing files.

    job = harvester.load_job("job.yaml", output="genes.tsv")
    result = harvester.harvest(job)
    for row in result.rows(): ...
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harvester import config
from harvester.config import JobConfig
from harvester.errors import ConfigError
from harvester.workflow.output import jsonl_docs
from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME
from harvester.workflow.views import StoreView

Job = JobConfig
"""A validated harvest job (what `load_job` returns)."""


def load_job(source: str | os.PathLike[str] | Mapping[str, Any], /, **overrides: Any) -> Job:
    """A job from a YAML file or a mapping of the same keys; keyword overrides are the command
    line's flags (`output=`, `endpoint=`, `page_size=`, ...) or dotted keys (`**{"fetch.via":
    "esummary"}`). Relative paths mean beside the file (beside the current folder for a
    mapping or an override)."""
    given = {config.OVERRIDE_KEYS.get(name, name): value for name, value in overrides.items()}
    if isinstance(source, Mapping):
        return config.job_from_mapping(source, base_dir=Path.cwd(), overrides=given)
    if not isinstance(source, str | os.PathLike) or isinstance(source, bytes):
        raise ConfigError(
            f"load_job takes a job file's path or a mapping of its keys, got {_kind(source)}"
        )
    return config.load_job(Path(source), given)


def _kind(value: object) -> str:
    """`None`, or 'a dict', 'an int', for a message about a wrong argument."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _check_run_arguments(
    job: object, restart: object, quiet: object, refresh: object = False
) -> None:
    """Misuse is one ConfigError naming the argument, not a TypeError deep in the run."""
    if not isinstance(job, JobConfig):
        raise ConfigError(f"harvest takes the Job that load_job returns, got {_kind(job)}")
    for name, value in (("restart", restart), ("quiet", quiet), ("refresh", refresh)):
        if not isinstance(value, bool):
            raise ConfigError(f"harvest's {name} must be True or False, got {_kind(value)}")


@dataclass(frozen=True, slots=True)
class HarvestResult:
    """A finished harvest: its summary, and its rows read back from the job store."""

    job: Job
    summary: dict[str, Any]

    def rows(self) -> Iterator[dict[str, Any]]:
        """One dict per source id, as in the JSONL output, whatever the output's format."""
        store = Store(self.job.job_dir / STORE_NAME, read_only=True)
        try:
            yield from jsonl_docs(StoreView(store), self.job)
        finally:
            store.close()

    def to_arrow(self) -> Any:
        """The rows as the typed table the Parquet output holds (needs pyarrow)."""
        from harvester.workflow.table import to_arrow

        store = Store(self.job.job_dir / STORE_NAME, read_only=True)
        try:
            return to_arrow(StoreView(store), self.job)
        finally:
            store.close()

    def to_pandas(self) -> Any:
        """`to_arrow()` as a pandas DataFrame (needs pyarrow and pandas), integer columns as
        pandas' nullable Int64, so a null target or score does not turn them into floats."""
        import pandas  # type: ignore[import-not-found, import-untyped, unused-ignore]
        import pyarrow  # type: ignore[import-not-found, import-untyped, unused-ignore]

        from harvester.workflow.field_types import pandas_types

        return self.to_arrow().to_pandas(types_mapper=pandas_types(pyarrow, pandas))


async def harvest_async(
    job: Job, *, restart: bool = False, quiet: bool = True, refresh: bool = False
) -> HarvestResult:
    """Run or resume `job` on the running event loop (`refresh`: bring a finished job up to
    date, fetching only what changed; README, "Refreshing a job")."""
    _check_run_arguments(job, restart, quiet, refresh)
    summary = await run_job(job, RunOptions(restart=restart, quiet=quiet, refresh=refresh))
    return HarvestResult(job, summary)


def harvest(
    job: Job, *, restart: bool = False, quiet: bool = True, refresh: bool = False
) -> HarvestResult:
    """Run or resume `job` and wait for it (`refresh`: as `run --refresh`). Inside a running
    event loop (a notebook, async code) the harvest runs on a loop of its own in a worker
    thread, so it works there too."""
    _check_run_arguments(job, restart, quiet, refresh)
    work = harvest_async(job, restart=restart, quiet=quiet, refresh=refresh)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="harvester") as pool:
        return pool.submit(asyncio.run, work).result()
