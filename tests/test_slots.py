"""The worker pool's admission: as many holders as the controller allows, and the controller
told when the gate idled while work waited for a slot. On a virtual loop clock: nothing sleeps."""

from __future__ import annotations

import asyncio

from eutils_helpers import virtual_time

from harvester.eutils.concurrency import WAITING, ConcurrencyControl
from harvester.eutils.pacing import Gate, policy_for
from harvester.stats import Stats
from harvester.workflow.slots import Slots


async def hold_until(slots: Slots, release: asyncio.Event, held: list[int], i: int) -> None:
    async with slots.hold():
        held.append(i)
        await release.wait()


async def test_only_the_limit_holds_slots_and_a_freed_one_goes_to_the_first_waiter() -> None:
    async with virtual_time():
        slots = Slots(ConcurrencyControl(3), Gate(policy_for("ncbi")), lambda: False)
        gates = [asyncio.Event() for _ in range(5)]
        held: list[int] = []
        tasks = [asyncio.create_task(hold_until(slots, gates[i], held, i)) for i in range(5)]
        await asyncio.sleep(0.1)
        assert held == [0, 1, 2] and slots.in_use == 3  # the ceiling
        gates[1].set()
        await asyncio.sleep(0.1)
        assert held == [0, 1, 2, 3]
        for gate in gates:
            gate.set()
        await asyncio.gather(*tasks)
    assert slots.in_use == 0 and slots.stats.get("slots/peak") == 3


async def test_a_gate_idling_while_work_waits_for_a_slot_raises_the_limit() -> None:
    async with virtual_time():
        control = ConcurrencyControl(64, prior_latency=0.001)  # the model asks for very few
        work_waiting = True
        slots = Slots(control, Gate(policy_for("ncbi")), lambda: work_waiting, Stats())
        first = slots.limit()
        assert first == 1 + WAITING
        release = asyncio.Event()
        held: list[int] = []
        tasks = [asyncio.create_task(hold_until(slots, release, held, i)) for i in range(6)]
        await asyncio.sleep(1)  # nobody is at the gate all this while
        release.set()
        await asyncio.gather(*tasks)
        assert control.starved >= 1 and slots.limit() > first
        work_waiting = False  # no work waiting: the idle gate is not the limit's fault
        before = control.starved
        await hold_until(slots, release, held, 9)
        assert control.starved == before
