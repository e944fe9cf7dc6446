"""Requests sent side by side that stand or fall together.

`asyncio.gather` raises the first failure and leaves the other requests running, outside any
worker slot: their ids are asked again by the retry, and one may outlive the run and commit
after the output is written. A TaskGroup cancels them and waits for them to end; this one
raises the first failure as it is (not wrapped in an ExceptionGroup), so callers catch
HarvesterError as they would from one request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def together() -> AsyncIterator[asyncio.TaskGroup]:
    """`async with together() as group: group.create_task(...)`: every task has ended when
    the block is left; on a failure the others are cancelled and the first error raised."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
