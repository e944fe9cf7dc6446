"""Hedged reads on a virtual clock: a read long overdue while the pipeline idles is asked once
more, the first whole answer wins, and nothing is asked twice while other work waits."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from harvest_helpers import TINY, assert_matches_ground_truth, make_job, read_jsonl
from processes import reaped, served

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.requestlog import pages_asked_twice, read_log
from harvester.eutils.connections import Exchange
from harvester.eutils.first_byte import current_watch
from harvester.eutils.pacing import Release
from harvester.workflow.hedge import HedgePolicy, Hedger
from harvester.workflow.runner import RunOptions, run_job
from tests.eutils_helpers import virtual_time

ALL_GENES = [3718, 7157, 672, 653635] + [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)]


@dataclass(frozen=True, slots=True)
class Ask:
    """One copy's course: `gate` seconds before its request leaves, `first_byte` seconds more
    before the status line, `body` seconds more (streaming, parsing) before its answer."""

    first_byte: float
    gate: float = 0.0
    body: float = 0.0
    error: Exception | None = None


class Reads:
    """`ask()` runs the next of `outcomes` as the transport would, showing the read's watch its
    exchange (a float: the first byte that many seconds after an immediate send; a tuple: that,
    then an error), counting asks and the copies still out when cancelled."""

    def __init__(self, *outcomes: float | tuple[float, Exception] | Ask) -> None:
        self.outcomes = [
            o if isinstance(o, Ask) else Ask(o[0], error=o[1]) if isinstance(o, tuple) else Ask(o)
            for o in outcomes
        ]
        self.asked = 0
        self.cancelled = 0

    async def ask(self) -> str:
        course = self.outcomes[self.asked]
        self.asked += 1
        number = self.asked
        try:
            await asyncio.sleep(course.gate)
            exchange = Exchange(Release(asyncio.get_running_loop().time(), course.gate))
            watch = current_watch.get()
            if watch is not None:
                watch.exchange = exchange
            exchange.sent = True
            await asyncio.sleep(course.first_byte)
            exchange.answered = True
            await asyncio.sleep(course.body)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if course.error is not None:
            raise course.error
        return f"answer {number}"


def hedger(idle: list[bool], counts: dict[str, int]) -> Hedger:
    loop = asyncio.get_running_loop()

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    return Hedger(
        latency=lambda: 1.0,  # overdue after max(3 s, 4 x 1 s) = 4 s
        idle=lambda: idle[0],
        clock=loop.time,
        policy=HedgePolicy(factor=4.0, minimum=3.0, poll=0.25),
        on_hedge=lambda: count("hedged"),
        on_won=lambda: count("won"),
    )


async def test_an_answer_in_time_is_asked_once() -> None:
    async with virtual_time() as clock:
        reads, counts = Reads(3.9), {}
        start = clock.now
        assert await hedger([True], counts).read(reads.ask) == "answer 1"
        assert reads.asked == 1 and counts == {} and clock.now - start == pytest.approx(3.9)


async def test_an_overdue_read_is_asked_again_and_the_first_answer_wins() -> None:
    async with virtual_time() as clock:
        reads, counts = Reads(30.0, 1.0), {}
        start = clock.now
        assert await hedger([True], counts).read(reads.ask) == "answer 2"
        assert clock.now - start == pytest.approx(5.0, abs=0.01)  # 4 s overdue + 1 s
        assert counts == {"hedged": 1, "won": 1} and reads.cancelled == 1


async def test_the_first_copy_can_still_win() -> None:
    async with virtual_time():
        reads, counts = Reads(4.5, 30.0), {}
        assert await hedger([True], counts).read(reads.ask) == "answer 1"
        assert counts == {"hedged": 1} and reads.cancelled == 1


async def test_no_copy_while_other_work_waits() -> None:
    async with virtual_time() as clock:
        idle = [False]
        reads, counts = Reads(10.0, 1.0), {}
        task = asyncio.ensure_future(hedger(idle, counts).read(reads.ask))
        await asyncio.sleep(7.0)
        assert reads.asked == 1  # overdue, but the gate had other work
        idle[0] = True
        start = clock.now
        assert await task == "answer 2"
        assert clock.now - start == pytest.approx(1.25, abs=0.26)  # next look, then 1 s


async def test_a_read_waiting_at_the_gate_is_not_overdue() -> None:
    """Ten seconds at the gate (or in a backoff, or for the byte budget) are our own delay:
    the clock starts when the request leaves, and its answer 1 s later is on time."""
    async with virtual_time() as clock:
        reads, counts = Reads(Ask(gate=10.0, first_byte=1.0)), {}
        start = clock.now
        assert await hedger([True], counts).read(reads.ask) == "answer 1"
        assert reads.asked == 1 and counts == {}
        assert clock.now - start == pytest.approx(11.0)


async def test_a_read_whose_first_byte_is_in_is_never_overdue() -> None:
    """Once the status line is in, a body that streams (or is parsed, or queued) for 30 s is
    ours to finish: asking NCBI again would ask for a page it has already answered."""
    async with virtual_time():
        reads, counts = Reads(Ask(first_byte=1.0, body=30.0)), {}
        assert await hedger([True], counts).read(reads.ask) == "answer 1"
        assert reads.asked == 1 and counts == {}


async def test_a_late_first_byte_is_overdue_counted_from_the_send() -> None:
    """After 10 s at the gate, a request with no first byte 4 s after its send is asked again
    while the gate idles, and the copy's answer wins."""
    async with virtual_time() as clock:
        reads, counts = Reads(Ask(gate=10.0, first_byte=30.0), 1.0), {}
        start = clock.now
        assert await hedger([True], counts).read(reads.ask) == "answer 2"
        assert clock.now - start == pytest.approx(15.0, abs=0.01)  # 10 + 4 overdue + 1
        assert counts == {"hedged": 1, "won": 1}


async def test_a_first_byte_that_came_while_the_loop_was_busy_is_seen_before_a_hedge() -> None:
    """The server answers in time, but our loop is busy (2 s of CPU, in the same pass of the
    loop that the hedger's timer fires in) when the status line reaches the socket: the read
    is judged only after the loop has polled the socket, so it is not asked again."""
    loop = asyncio.get_running_loop()
    ours, server = socket.socketpair()
    ours.setblocking(False)
    try:
        async with virtual_time() as clock:
            sent: list[float] = []

            async def ask() -> str:
                exchange = Exchange(Release(loop.time(), 0.0))
                watch = current_watch.get()
                assert watch is not None
                watch.exchange = exchange
                exchange.sent = True
                sent.append(loop.time())
                await loop.sock_recv(ours, 1)  # the status line
                exchange.answered = True
                await asyncio.sleep(0.5)  # the body
                return "answered"

            def busy() -> None:  # the server's byte arrives while our loop computes
                server.send(b"H")
                clock.now += 2.0

            counts: dict[str, int] = {}
            read = asyncio.ensure_future(hedger([True], counts).read(ask))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            loop.call_at(sent[0] + 4.0 - 5e-10, busy)  # in the pass the read turns overdue
            assert await read == "answered"
            assert counts == {}
    finally:
        ours.close()
        server.close()


async def test_a_failed_copy_is_forgotten_while_the_other_may_answer() -> None:
    async with virtual_time():
        reads, counts = Reads((6.0, RuntimeError("first failed")), 5.0), {}
        assert await hedger([True], counts).read(reads.ask) == "answer 2"
    async with virtual_time():
        both = Reads((6.0, RuntimeError("first")), (1.0, RuntimeError("second")))
        with pytest.raises(RuntimeError, match="first"):  # the last copy's error, at 6 s
            await hedger([True], {}).read(both.ask)
    async with virtual_time():
        alone = Reads((1.0, RuntimeError("only")))
        with pytest.raises(RuntimeError, match="only"):
            await hedger([True], {}).read(alone.ask)
        assert alone.asked == 1


async def test_cancelling_the_read_cancels_every_copy() -> None:
    async with virtual_time():
        reads = Reads(30.0, 30.0)
        task = asyncio.ensure_future(hedger([True], {}).read(reads.ask))
        await asyncio.sleep(10.0)
        assert reads.asked == 2
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert reads.cancelled == 2


async def test_a_harvest_asks_a_stalled_page_again_instead_of_waiting_it_out(tmp_path):
    """Against the emulator with one efetch answer in five held 1 s: a stalled page is asked
    again once overdue (0.3 s here, 3 s by default) while the gate has nothing to send, and the
    output is whole."""
    sources = ALL_GENES[:12]
    job = make_job(tmp_path, sources, fetch={"page_size": 20})
    emulator = EmulatorConfig(faults="stall@efetch:0.2", seed=5, stall_seconds=1.0)
    options = RunOptions(quiet=True, emulator=emulator, hedge=HedgePolicy(minimum=0.3))
    summary = await run_job(job, options)
    assert_matches_ground_truth(read_jsonl(job.output.path), sources)
    assert summary["hedged_reads"] >= 1
    assert 1 <= summary["hedges_won"] <= summary["hedged_reads"]


class SlowToStop(Reads):
    """Reads whose copies take `stopping` seconds to end once cancelled (a body half read)."""

    def __init__(self, stopping: float, *outcomes: float) -> None:
        super().__init__(*outcomes)
        self.stopping = stopping

    async def ask(self) -> str:
        try:
            return await super().ask()
        except asyncio.CancelledError:
            await asyncio.sleep(self.stopping)
            raise


async def test_a_read_cancelled_while_it_drops_the_other_copy_stays_cancelled() -> None:
    """The read waits for the losing copy to end; a cancellation of the read itself in that
    wait (the run stopping its workers) was swallowed with the copy's, and the read answered."""
    async with virtual_time():
        reads = SlowToStop(5.0, 6.0, 100.0)  # hedged at 4 s, the first answers at 6 s
        task = asyncio.ensure_future(hedger([True], {}).read(reads.ask))
        await asyncio.sleep(8.0)  # the first has answered; the second is still stopping
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()


async def burn_our_loop(block: float, gap: float) -> None:
    """Keep this process's event loop busy: `block` seconds of CPU at a time, `gap` apart (a
    record handler or parse far slower than the server)."""
    while True:
        until = time.perf_counter() + block
        while time.perf_counter() < until:
            pass
        await asyncio.sleep(gap)


async def test_a_busy_client_beside_a_cpu_hog_never_asks_a_page_twice(tmp_path):
    """Against `harvester serve` (realistic latency, 10x faster) with a CPU hog beside it and our
    own loop busy 0.8 s at a time, longer than the 0.5 s after which a read may be hedged:
    every answer comes in time, so no read is hedged and no page is asked twice. Before the
    hedge judged the first byte, reads that waited on our loop were asked again."""
    log = tmp_path / "requests.jsonl"
    sources = ALL_GENES[:32]
    job_args = {"fetch": {"page_size": 5}, "concurrency": 4}
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    with reaped(hog), served("--latency", "realistic", "--speedup", "10", "--no-rate-limit",
                             "--request-log", str(log)) as url:  # fmt: skip
        job = make_job(tmp_path, sources, endpoint=url, **job_args)
        burner = asyncio.ensure_future(burn_our_loop(block=0.8, gap=0.3))
        try:
            options = RunOptions(quiet=True, hedge=HedgePolicy(minimum=0.5))
            summary = await run_job(job, options)
        finally:
            burner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await burner
    assert_matches_ground_truth(read_jsonl(job.output.path), sources)
    entries = read_log(log)
    assert sum(1 for e in entries if e.page) >= 10  # enough pages to have hedged some
    assert pages_asked_twice(entries) == 0
    assert summary["hedged_reads"] == 0
