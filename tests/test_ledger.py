"""Processes of one machine share an allowance's send times (ledger.py): two ledgers on one
file, as two processes keep them, never let more than the lanes through in any window, on a
virtual clock. A real two-process run is benchmarks/two_processes.py."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from harvester.eutils.gates import GateKey, process_gate, release_gate, reset_process_gate
from harvester.eutils.ledger import Ledger
from harvester.eutils.pacing import policy_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _opened(path: Path, clock: Clock) -> Ledger:
    ledger = Ledger(path, clock)
    ledger._fd = os.open(path, os.O_RDWR | os.O_CREAT)
    return ledger


def test_two_processes_sharing_a_ledger_stay_within_the_lanes(tmp_path: Path) -> None:
    clock = Clock()
    first, second = _opened(tmp_path / "l", clock), _opened(tmp_path / "l", clock)
    rng = random.Random(5)
    sent: list[float] = []
    for _ in range(2000):  # both ask as fast as they can, interleaved at random
        clock.now += rng.uniform(0.0, 0.03)
        ledger = first if rng.random() < 0.5 else second
        if ledger.reserve(10, 1.0) == 0.0:
            sent.append(clock.now)
    assert max(sum(t - 1.0 < s <= t for s in sent) for t in sent) == 10  # full, never over
    assert len(sent) >= 10 * (clock.now - 1000.0) - 10  # and the allowance is used
    first.close()
    second.close()


def test_a_full_window_says_how_long_to_wait(tmp_path: Path) -> None:
    clock = Clock()
    ledger = _opened(tmp_path / "l", clock)
    for _ in range(3):
        assert ledger.reserve(3, 1.0) == 0.0
        clock.now += 0.1
    assert ledger.reserve(3, 1.0) == pytest.approx(0.7)  # the first send leaves at 1.0
    clock.now += 0.7
    assert ledger.reserve(3, 1.0) == 0.0
    assert ledger.count(clock.now - 1.0, clock.now) == 3
    ledger.close()


def test_gates_of_one_allowance_keep_a_ledger_and_fast_emulator_gates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    reset_process_gate()
    key = GateKey.of("http://127.0.0.1:9/entrez/eutils/", "secret-key")
    gate = process_gate(policy_for("ncbi", api_key=True), key=key)
    try:
        assert gate.ledger is not None
        (kept,) = (tmp_path / "harvester" / "gates").iterdir()
        assert "secret-key" not in kept.name and key.key is not None and key.key[4:] in kept.name
    finally:
        release_gate(gate)
    fast = process_gate(policy_for("custom", rate=2000), key=key)
    try:
        assert fast.ledger is None
    finally:
        release_gate(fast)


def test_a_slow_answer_is_read_against_the_sends_of_its_own_window(tmp_path: Path) -> None:
    """An answer heard seconds after its send (a 1 MB page at NCBI's pace) is paired with the
    sends of the second before it: they are still in the ledger, so ours are not taken for
    another program's (which cut a 10/s run to 2-5/s before)."""
    clock = Clock()
    ledger = _opened(tmp_path / "l", clock)
    sends = []
    for _ in range(40):  # 10/s for 4 s
        assert ledger.reserve(10, 1.0) == 0.0
        sends.append(clock.now)
        clock.now += 0.1
    sent = sends[9]
    clock.now = sent + 3.5  # its answer comes back 3.5 s later
    assert ledger.count(sent - 1.0, sent) == 10
    clock.now = sent + 181.0  # past what the ledger keeps: unknown, not zero
    assert ledger.count(sent - 1.0, sent) is None
    ledger.close()
