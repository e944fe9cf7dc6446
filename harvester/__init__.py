"""harvester: asynchronous batch link harvesting for NCBI E-utilities, with a local emulator.

The public API (`load_job`, `harvest`, `harvest_async`, `HarvestResult`, `Job`) is imported on
first use, so `import harvester` and the command line stay quick."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvester.version import VERSION as __version__

__all__ = [
    "HarvestResult",
    "HarvesterError",
    "Job",
    "__version__",
    "harvest",
    "harvest_async",
    "load_job",
]

if TYPE_CHECKING:
    from harvester.api import HarvestResult, Job, harvest, harvest_async, load_job
    from harvester.errors import HarvesterError


def __getattr__(name: str) -> Any:
    if name == "HarvesterError":
        from harvester.errors import HarvesterError

        return HarvesterError
    if name in __all__:
        from harvester import api

        return getattr(api, name)
    raise AttributeError(f"module 'harvester' has no attribute {name!r}")
