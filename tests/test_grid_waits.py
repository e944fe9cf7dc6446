"""The grid's account of where a run's span at the server went unfilled (benchmarks/grid.py):
the wait before the first page, after the last one, and the rate kept in between."""

from __future__ import annotations

from benchmarks.grid import waits
from harvester.emulator.requestlog import LogEntry


def arrival(t: float, endpoint: str, page: str | None = None) -> LogEntry:
    return LogEntry(
        t=t, wall=t, endpoint=endpoint, method="GET", who="k", ids=0, status=200, bytes=0, page=page
    )


def test_waits_split_the_unfilled_span_into_start_end_and_between() -> None:
    # at 10/s: two elinks, then 1.0 s until the first History page; ten pages 0.1 s apart;
    # the first page asked again 0.4 s after the last; the last confirmation 0.8 s after it
    log = [arrival(0.0, "elink"), arrival(0.1, "elink")]
    log += [arrival(1.2 + 0.1 * i, "efetch", f"W#1@{500 * i}") for i in range(10)]
    log += [arrival(2.5, "efetch", "W#1@0"), arrival(2.9, "efetch")]  # a page asked again
    got = waits(list(reversed(log)), 10)  # the log is in answer order, not arrival order
    assert got["wait_start_s"] == 1.0  # 1.2 s to the first page, 0.2 s of it used
    assert got["wait_end_s"] == 0.6  # 0.8 s after the last page, 0.2 s of it used
    assert got["wait_between_s"] == 0.0
    assert got["rate_between_over_allowed"] == 1.0


def test_a_log_without_pages_has_no_waits() -> None:
    assert waits([arrival(0.0, "einfo"), arrival(0.5, "elink")], 10) == {}
