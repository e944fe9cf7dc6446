"""The run summary never contradicts itself: the achieved rate of a run kept within the limit
is not above the allowed rate, and a run from the start is never faster than its floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.stats import Stats
from harvester.workflow.store import Store
from harvester.workflow.summary import build_summary
from tests.harvest_helpers import make_job


@pytest.fixture
def store(tmp_path: Path):
    opened = Store(tmp_path / "state.sqlite")
    opened.initialise("hash", [3718, 7157, 672], batch=1)  # three unlinked chunks: floor 3
    yield opened
    opened.close()


def summary_of(tmp_path: Path, store: Store, requests: int, elapsed: float, **kw: bool):
    stats = Stats()
    stats.incr("requests/elink", requests)
    return build_summary(make_job(tmp_path), store, stats, 3.0, elapsed, (), **kw)


@pytest.mark.parametrize(("requests", "elapsed"), [(3, 2 / 3), (5, 1.1), (4, 1.0), (2, 0.01)])
def test_a_run_within_the_limit_never_reads_above_it(tmp_path, store, requests, elapsed) -> None:
    # NCBI allows 3 in any second: 5 requests can all leave within 1.1 s (0, .1, .2, 1.03, 1.1)
    summary = summary_of(tmp_path, store, requests, elapsed)
    assert summary["achieved_rate"] <= summary["allowed_rate"]


def test_the_fastest_run_from_the_start_is_at_its_floor(tmp_path, store) -> None:
    summary = summary_of(tmp_path, store, 3, 2 / 3)  # 3 requests, 2 gate periods apart
    assert summary["floor_requests"] == 3
    assert summary["elapsed_seconds"] >= summary["floor_seconds"]
    assert summary["time_over_floor"] == 1.0


def test_a_resumed_run_is_not_compared_with_the_whole_jobs_floor(tmp_path, store) -> None:
    summary = summary_of(tmp_path, store, 1, 0.2, resumed=True)
    assert summary["resumed"] is True and summary["time_over_floor"] is None
