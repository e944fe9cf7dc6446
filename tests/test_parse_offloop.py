"""Answers are parsed, their fields extracted and their records packed off the event loop; the
store keeps each record as the bytes the server sent; the summary says the loop's longest
stall. Against the emulator over loopback and the real SQLite store."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from collections.abc import AsyncIterator, Callable

import pytest
from eutils_helpers import fast_client
from harvest_helpers import make_job

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import Emulator
from harvester.eutils.parse import CPU_TURNS, STEP_BYTES, aparse, parse_bytes
from harvester.eutils.results import Item, Record
from harvester.eutils.xmlstream import BadBody
from harvester.stats import Stats
from harvester.workflow.loop_stall import LoopStalls, watching
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job
from harvester.workflow.store import Store
from harvester.workflow.summary import print_summary

_NS_DECLS = re.compile(rb' xmlns(?::\w+)?="[^"]*"')


async def test_the_longest_late_wakeup_is_the_stall() -> None:
    now = [100.0]
    late = iter([0.001, 0.250, 0.004])

    async def sleep(seconds: float) -> None:
        step = next(late, None)
        if step is None:
            raise asyncio.CancelledError
        now[0] += seconds + step

    stalls = LoopStalls(lambda: now[0], sleep, interval=0.02)
    with pytest.raises(asyncio.CancelledError):
        await stalls.watch()
    assert stalls.worst == pytest.approx(0.250)


async def test_watching_reports_the_stall_in_stats_once_the_block_ends() -> None:
    stats = Stats()
    async with watching(stats) as stalls:
        stalls.worst = 0.0125  # as the watch would have found it
        await asyncio.sleep(0)
    assert stats.get("loop/stall_max_ms") == pytest.approx(12.5)


async def test_records_are_digested_on_a_worker_thread_not_the_loop() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def digest(record: Record) -> Record:
        seen.append(threading.get_ident())
        assert record.element is not None  # alive while the digest runs
        return record.digested((record.uid.encode(), record.raw or b""))

    async with Emulator(EmulatorConfig()) as emu, fast_client(emu.base_url) as client:
        got = [r async for r in client.efetch("snp", ids=["3008", "11888"], digest=digest)]
    assert sorted(r.uid for r in got) == ["11888", "3008"]
    assert all(r.element is None and r.digest is not None for r in got)
    assert seen and loop_thread not in seen


async def test_the_store_keeps_the_bytes_the_server_sent_and_the_summary_its_stall(tmp_path):
    job = make_job(tmp_path, [3718])
    summary = await run_job(job, RunOptions(quiet=True))
    assert summary["loop_stall_max_ms"] >= 0
    spent = summary["parse_thread_cpu_s"]
    assert spent["parse"] > 0 and spent["store"] > 0 and spent["pack"] > 0
    out = io.StringIO()
    print_summary(summary, out)
    assert "longest stall" in out.getvalue()
    ms = sum(spent.values()) * 1000  # a small job's: in ms
    line = f"parse thread {ms:>10.0f} ms of CPU: parsing {spent['parse'] * 1000:.0f}"
    assert line in out.getvalue()
    with Store(job.job_dir / STORE_NAME, lock=False) as store:
        kept = dict(store.kept_records())
    assert sorted(kept) == [3008, 11888, 867174]
    async with Emulator(EmulatorConfig()) as emu, fast_client(emu.base_url) as client:
        body = await client.efetch_raw("snp", ids=[str(u) for u in kept], retmode="xml")
    for uid, record in kept.items():
        assert record.startswith(b'<DocumentSummary xmlns="https://www.ncbi.nlm.nih.gov/SNP/')
        # without the declarations it inherits from <ExchangeSet>, the record as sent
        assert _NS_DECLS.sub(b"", record, count=2) in body, uid


async def test_parse_steps_and_store_transactions_take_turns(tmp_path) -> None:
    """A parse step off the loop and a store transaction on it each hold `CPU_TURNS`, so a
    commit never runs beside a busy parse thread (whose GIL use made 2 ms commits take
    hundreds; benchmarks/PARSE.md)."""
    held_while_digesting: list[bool] = []

    def digest(record: Record) -> Record:
        held_while_digesting.append(CPU_TURNS.locked())
        return record.digested((b"", b""))

    async with Emulator(EmulatorConfig()) as emu, fast_client(emu.base_url) as client:
        [_ async for _ in client.efetch("snp", ids=["3008"], digest=digest)]
    assert held_while_digesting == [True]
    with Store(tmp_path / "store.sqlite") as store:
        assert not CPU_TURNS.locked()
        with store._tx():
            assert CPU_TURNS.locked()
        assert not CPU_TURNS.locked()


async def test_reads_are_parsed_off_the_loop_in_steps_of_at_least_step_bytes() -> None:
    """Each step off the loop is a hand-off between threads that costs about as much as
    parsing a few records (benchmarks/PARSE.md), so 64 KiB reads are joined into steps of at
    least `STEP_BYTES` (the sniffed head in the first, the document's end in the last: no
    hand-off of their own), and the records come out the same as parsed read by read."""
    uids = range(1, 6001)
    body = (
        b'<?xml version="1.0" ?>\n<ExchangeSet xmlns="https://www.ncbi.nlm.nih.gov/SNP/docsum">'
        + b"".join(
            b'<DocumentSummary uid="%d"><SNP_ID>%d</SNP_ID><TEXT>%s</TEXT></DocumentSummary>'
            % (uid, uid, b"x" * 300)
            for uid in uids
        )
        + b"</ExchangeSet>"
    )
    read = 64 * 1024
    reads = [body[i : i + read] for i in range(0, len(body), read)]
    steps: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in reads:
            yield chunk

    ends: list[bool] = []

    async def offload(work: Callable[[], list[Item]]) -> list[Item]:
        steps.append(sum(map(len, work.args[1])))  # type: ignore[attr-defined]
        ends.append(work.args[4])  # type: ignore[attr-defined]
        return await asyncio.to_thread(work)

    def digest(record: Record) -> Record:
        return record.digested((record.uid.encode(), record.raw or b""))

    got = [
        item
        async for item in aparse(chunks(), db="snp", digest=digest, offload=offload)
        if isinstance(item, Record)
    ]
    assert [r.uid for r in got] == [str(uid) for uid in uids]
    assert [r.digest for r in got] == [
        digest(r).digest for r in parse_bytes(body, db="snp") if isinstance(r, Record)
    ]
    *full, last = steps  # the sniffed head in the first, the document ended in the last
    assert all(STEP_BYTES <= size < STEP_BYTES + read for size in full) and len(full) >= 2
    assert 0 < last < STEP_BYTES + read
    assert ends == [False] * len(full) + [True]
    assert sum(steps) == len(body)


async def test_efetch_groups_hand_out_a_parse_steps_records_together() -> None:
    """The fetcher takes records a parse step at a time (no async step per record through the
    client's layers); they are the records `efetch` yields one by one."""
    ids = ["3008", "11888", "867174", "2031"]

    def digest(record: Record) -> Record:
        return record.digested((record.uid.encode(), record.raw or b""))

    async with Emulator(EmulatorConfig()) as emu, fast_client(emu.base_url) as client:
        steps = [s async for s in client.efetch("snp", ids=ids, digest=digest).groups]
        one_by_one = [r async for r in client.efetch("snp", ids=ids, digest=digest)]
    assert len(steps) < len(ids)  # a 64 KiB body parses in a step or two
    assert [r.uid for step in steps for r in step] == [r.uid for r in one_by_one]
    assert [r.digest for step in steps for r in step] == [r.digest for r in one_by_one]


async def test_a_step_whose_consumer_is_gone_stops_at_its_next_read() -> None:
    """A hedged copy cancelled mid-step leaves the one parse thread at once (at the end of the
    read in hand), not after the rest of its step."""
    body = (
        b'<?xml version="1.0" ?>\n<ExchangeSet xmlns="https://www.ncbi.nlm.nih.gov/SNP/docsum">'
        + b"".join(
            b'<DocumentSummary uid="%d"><SNP_ID>%d</SNP_ID><TEXT>%s</TEXT></DocumentSummary>'
            % (uid, uid, b"x" * 1000)
            for uid in range(1, 1001)
        )
        + b"</ExchangeSet>"
    )
    read = 8 * 1024  # ~8 records a read, ~32 reads a step
    started, go = threading.Event(), threading.Event()
    digested: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(body), read):
            yield body[at : at + read]

    def digest(record: Record) -> Record:
        if len(digested) == 20:  # inside the second step: hold it there
            started.set()
            go.wait(10)
        digested.append(record.uid)
        return record.digested((b"", b""))

    async def consume() -> None:
        async for _ in aparse(chunks(), db="snp", digest=digest, offload=asyncio.to_thread):
            pass

    task = asyncio.create_task(consume())
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    held = len(digested)
    go.set()
    for _ in range(100):  # the worker finishes its read and sees the stop
        await asyncio.sleep(0.01)
        if len(digested) > held:
            break
    await asyncio.sleep(0.05)
    assert 0 < len(digested) - held <= read // 1000 + 1  # the read in hand, no more


async def test_records_iterated_again_after_a_break_go_on_where_they_stopped() -> None:
    """A caller that breaks out of `efetch` and iterates it again gets the rest, each record
    once, as from an async generator, though the records came a parse step at a time."""
    ids = ["3008", "11888", "867174"]

    def digest(record: Record) -> Record:
        return record.digested((record.uid.encode(), b""))

    async with Emulator(EmulatorConfig()) as emu, fast_client(emu.base_url) as client:
        records = client.efetch("snp", ids=ids, digest=digest)
        async for record in records:
            first = record
            break
        second = await anext(records)
        rest = [r async for r in records]
        whole = [r.uid async for r in client.efetch("snp", ids=ids, digest=digest)]
    assert [first.uid, second.uid, *(r.uid for r in rest)] == whole
    assert sorted(whole) == sorted(ids)


def _snp_body(n: int, text: int) -> bytes:
    return (
        b'<?xml version="1.0" ?>\n<ExchangeSet xmlns="https://www.ncbi.nlm.nih.gov/SNP/docsum">'
        + b"".join(
            b'<DocumentSummary uid="%d"><SNP_ID>%d</SNP_ID><TEXT>%s</TEXT></DocumentSummary>'
            % (uid, uid, b"x" * text)
            for uid in range(1, n + 1)
        )
        + b"</ExchangeSet>"
    )


@pytest.mark.parametrize("failure", ["cut short", "a read fails"])
async def test_the_records_before_a_failure_come_out_before_it(failure: str) -> None:
    """A step waits for the read after it, and the last ends the document: a body cut short or
    a read that fails still hands out every record whole before the failure, then the failure
    (a retry skips them by uid instead of parsing them again)."""
    body = _snp_body(6000, 300)
    read = 64 * 1024
    fed = body[: len(body) - 5000] if failure == "cut short" else body[: 20 * read]
    whole = fed.count(b"</DocumentSummary>")

    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(fed), read):
            yield fed[at : at + read]
        if failure == "a read fails":
            raise ConnectionResetError("the server hung up")

    def digest(record: Record) -> Record:
        return record.digested((b"", b""))

    got: list[str] = []
    with pytest.raises(Exception) as raised:
        async for item in aparse(chunks(), db="snp", digest=digest, offload=asyncio.to_thread):
            if isinstance(item, Record):
                got.append(item.uid)
    expected = BadBody if failure == "cut short" else ConnectionResetError
    assert isinstance(raised.value, expected)
    assert got == [str(uid) for uid in range(1, len(got) + 1)]
    assert whole - 1 <= len(got) <= whole


async def test_a_failed_read_is_the_failure_even_when_the_reads_before_it_do_not_parse() -> None:
    """The reads held when a read fails are parsed first; if they are malformed too, the
    answer still failed for the read (its retry reason is the transport's to judge)."""
    body = _snp_body(200, 300)
    bad = body[: 3 * 64 * 1024] + b"<DocumentSummary uid='1'><<<"

    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(bad), 64 * 1024):
            yield bad[at : at + 64 * 1024]
        raise ConnectionResetError("the server hung up")

    with pytest.raises(ConnectionResetError):
        async for _ in aparse(
            chunks(), db="snp", digest=lambda r: r.digested(None), offload=asyncio.to_thread
        ):
            pass
