"""The six-step index-list workflow.

This package shares its name with the public `harvester.harvest(job)` function, and Python
binds a subpackage over its parent's attribute of that name once it is imported; so the
package itself is callable and calls that function (see harvester/api.py)."""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harvester.api import HarvestResult, Job


class _CallableModule(types.ModuleType):
    def __call__(self, job: Job, *, restart: bool = False, quiet: bool = True) -> HarvestResult:
        from harvester.api import harvest

        return harvest(job, restart=restart, quiet=quiet)


sys.modules[__name__].__class__ = _CallableModule
