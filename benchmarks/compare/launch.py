"""One contender run in its own process: `python -m benchmarks.compare.launch TASK.json`.

Times the contender's work (wall clock, perf_counter), then records this process's and its
children's peak RSS before normalising the output (so the conversion of a tool's own output
format is neither timed nor counted in its memory). Writes result.json beside the task."""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import traceback

from benchmarks.compare.common import Task, peak_rss_mb


def main() -> None:
    task = Task.load(sys.argv[1])
    module = importlib.import_module(f"benchmarks.compare.c_{task.contender}")
    result: dict[str, object] = {"ok": True, "error": None}
    start = time.perf_counter()
    try:
        module.work(task)
    except BaseException as exc:  # the run failed: record why, still report the figures
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    result["wall"] = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux
    result["maxrss_self_mb"] = peak_rss_mb()
    result["maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if result["ok"] and hasattr(module, "normalise"):
        try:
            module.normalise(task)
        except Exception as exc:
            result.update(ok=False, error=f"normalise: {type(exc).__name__}: {exc}")
            traceback.print_exc()
    task.path("result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
