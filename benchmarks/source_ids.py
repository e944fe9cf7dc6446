"""Speed claims moved out of the unit suite: a million-line id file loaded, and the `large`
emulator dataset built (its links are drawn lazily). Best of three runs each, so a busy machine
overstates less. Run: `PYTHONPATH=. python benchmarks/source_ids.py`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harvester.config import SourceSpec
from harvester.emulator.dataset import Dataset
from harvester.emulator.spec import load_spec
from harvester.workflow.sources import load_source_ids

LINES = 1_000_000


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The shortest wall time of `runs` calls of `work`, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.txt"
        path.write_text("".join(f"{n}\n" for n in range(1, LINES + 1)))
        ids = best_of(3, lambda: load_source_ids(SourceSpec(file=path), job_file=None))
    print(f"id file of {LINES:,} lines loaded in {ids:.2f} s")
    large = best_of(3, lambda: Dataset(load_spec("large")))
    print(f"the large dataset built in {large:.2f} s")


if __name__ == "__main__":
    main()
