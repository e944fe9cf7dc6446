"""Pages held at once are bounded by bytes (budget.py): no page waits while there is room,
none starts past the budget, a page larger than it goes alone, and the estimate follows the
records fetched."""

from __future__ import annotations

import asyncio

from harvester.workflow.budget import (
    BATCH_BYTES,
    RECORD_GUESS,
    RECORD_OVERHEAD,
    STREAM_BYTES,
    ByteBudget,
)


async def _holders(budget: ByteBudget, sizes: list[int]) -> list[int]:
    """Run a holder per size; what was held at each moment one of them started."""
    seen: list[int] = []
    release = asyncio.Event()

    async def one(n: int) -> None:
        async with budget.hold(n):
            seen.append(budget.held)
            await release.wait()

    tasks = [asyncio.create_task(one(n)) for n in sizes]
    for _ in range(len(sizes) + 2):
        await asyncio.sleep(0)
    started = len(seen)
    release.set()
    await asyncio.gather(*tasks)
    return seen[:started]


async def test_pages_start_while_their_bytes_fit_and_wait_beyond() -> None:
    budget = ByteBudget(100)
    assert await _holders(budget, [40, 40, 40]) == [40, 80]  # the third waited for room
    assert budget.held == 0 and budget.peak <= 100


async def test_a_page_larger_than_the_budget_goes_alone() -> None:
    budget = ByteBudget(100)
    assert await _holders(budget, [500, 10]) == [100]  # counted as the whole budget
    assert budget.held == 0


async def test_everything_that_waited_runs_in_the_end() -> None:
    budget = ByteBudget(100)
    done: list[int] = []

    async def one(n: int) -> None:
        async with budget.hold(n):
            await asyncio.sleep(0)
            done.append(n)

    await asyncio.gather(*(one(n) for n in [70, 70, 70, 20, 200]))
    assert sorted(done) == [20, 70, 70, 70, 200] and budget.peak <= 100


def test_the_estimate_starts_from_a_guess_and_follows_the_records() -> None:
    budget = ByteBudget(1 << 30)
    assert budget.estimate(500) == 500 * (RECORD_GUESS + RECORD_OVERHEAD)
    budget.observe(100, 100 * 20_000)  # 20 KB records
    assert budget.estimate(500) == 500 * (20_000 + RECORD_OVERHEAD)


def test_before_any_page_a_record_is_guessed_at_the_page_plans_prior() -> None:
    """A gene job's first pages are estimated at ~72 KB a record, not 4 KB: otherwise the
    budget admits ~17 times its share of 1 MB records before the first page corrects it."""
    assert ByteBudget(1 << 27).estimate(100) == 100 * (RECORD_GUESS + RECORD_OVERHEAD)
    planned = ByteBudget(1 << 27, guess=72_000)
    assert planned.estimate(100) == 100 * (72_000 + RECORD_OVERHEAD)
    planned.observe(10, 10 * 30_000)  # what the run sees wins once a page is in
    assert planned.estimate(100) == 100 * (30_000 + RECORD_OVERHEAD)


def test_a_streaming_page_holds_a_batch_and_its_buffers_however_large_the_page() -> None:
    """Committed every BATCH_BYTES, a page holds a batch, its blob and the answer's buffers; a
    page smaller than that holds what its records hold."""
    budget = ByteBudget(128 << 20)
    budget.observe(460, 460 * 21_000)  # ~10 MB pages of 21 KB records
    assert budget.estimate(460) > 9_000_000
    assert budget.streaming(460) == 2 * BATCH_BYTES + STREAM_BYTES
    assert budget.streaming(20) == budget.estimate(20) < 2 * BATCH_BYTES + STREAM_BYTES


async def test_the_default_budget_lets_64_answers_of_21_kb_records_stream_at_once() -> None:
    """A page held until its end let 13 pages of ~10 MB stream within 128 MB; streamed in
    batches, the adaptive concurrency's 64 do, and the budget still bounds the bytes held."""
    whole, streaming = ByteBudget(128 << 20), ByteBudget(128 << 20)
    for budget in (whole, streaming):
        budget.observe(460, 460 * 21_000)
    held_whole = await _holders(whole, [whole.estimate(460)] * 64)
    held_streaming = await _holders(streaming, [streaming.streaming(460)] * 64)
    assert len(held_whole) == 13 and len(held_streaming) == 64
    assert streaming.peak == 64 * (2 * BATCH_BYTES + STREAM_BYTES) <= streaming.limit
