"""Requests sent side by side that stand or fall together.

`asyncio.gather` raises the first failure and leaves the other requests running, outside any
worker slot: their ids are asked again by the retry, and one may outlive the run and commit
after the output is written. Here, when one fails the others are cancelled and have ended
before the first failure is raised, as it is (not wrapped in an ExceptionGroup), so callers
catch HarvesterError as they would from one request. Not a TaskGroup: Python 3.11's lets a
child's error win over the caller's own cancellation, and a worker cancelled as the run ends
would take that error for work to set aside and wait on the scheduler for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


class Together:
    """The tasks of one `together()` block."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def create_task(self, coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task


@contextlib.asynccontextmanager
async def together() -> AsyncIterator[Together]:
    """`async with together() as group: group.create_task(...)`: every task has ended when
    the block is left; on a failure the others are cancelled and the first error raised; a
    cancellation of the caller cancels them all and is raised, never swallowed."""
    group = Together()
    try:
        yield group
        pending = set(group.tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.cancelled():
                    raise asyncio.CancelledError()
                error = task.exception()
                if error is not None:
                    raise error
    finally:
        for task in group.tasks:
            task.cancel()  # a no-op for those already done
        if group.tasks:
            await asyncio.gather(*group.tasks, return_exceptions=True)
