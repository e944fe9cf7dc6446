"""Counters the runner's gate and client share: each wait at the gate is counted once."""

from __future__ import annotations

import time

from harvester.emulator.server import Emulator
from harvester.eutils.client import ClientConfig, EutilsClient
from harvester.eutils.pacing import Gate
from harvester.stats import Stats


async def test_a_gate_and_a_client_sharing_stats_count_each_wait_once(emulator: Emulator) -> None:
    stats = Stats()  # one Stats for both, as the runner builds them
    config = ClientConfig(base_url=emulator.base_url, policy="custom", rate=10)
    gate = Gate(config.rate_policy(), margin=config.margin, stats=stats)
    started = time.monotonic()
    async with EutilsClient(config, gate=gate, stats=stats) as client:
        for _ in range(8):  # one after another: every second waited is a second that passed
            await client.esearch("gene", "JAK3", retmax=0)
    elapsed = time.monotonic() - started
    waited = stats.get("gate/wait_seconds")
    assert 0 < waited <= elapsed  # counted twice, it would be about twice the time spent
