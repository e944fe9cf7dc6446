"""The emulator's latency profiles (one test each beyond `realistic`) and `--shared-load`.

Every draw is seeded and time is a clock the test moves, so nothing here waits.
"""

from __future__ import annotations

import argparse
import statistics

import aiohttp
import pytest
from eutils_helpers import HandClock

from harvester.emulator.cli import config_from_args, register
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.gate import RateGate, RateLimits
from harvester.emulator.latency import MODELLED_BANDWIDTH, PRESETS, LatencyModel
from harvester.emulator.server import Emulator
from harvester.errors import ConfigError


def draws(name: str, n: int = 400, **kwargs: object) -> list[float]:
    model = LatencyModel(PRESETS[name], seed=3, **kwargs)  # type: ignore[arg-type]
    return [model.delay("efetch", 500) for _ in range(n)]


def test_slow_is_three_times_realistic_draw_for_draw() -> None:
    assert draws("slow") == pytest.approx([3 * d for d in draws("realistic")])
    assert statistics.mean(draws("slow")) == pytest.approx(4.5, rel=0.1)


def test_heavy_is_bimodal_with_occasional_ten_to_thirty_second_answers() -> None:
    delays = draws("heavy", 4000)
    stuck = [d for d in delays if d >= 10]
    body = [d for d in delays if d < 10]
    assert 0.015 < len(stuck) / len(delays) < 0.035  # one in 40
    assert min(stuck) >= 10 and max(stuck) <= 30
    assert statistics.mean(body) == pytest.approx(1.5, rel=0.1)  # the body keeps its mean ...
    realistic = sorted(draws("realistic", 4000))
    assert sorted(body)[int(0.99 * len(body))] > 1.5 * realistic[int(0.99 * 4000)]  # ... fatter


def test_shifting_doubles_and_halves_latency_in_phases_from_the_first_request() -> None:
    clock = HandClock()
    model = LatencyModel(PRESETS["shifting"], seed=3, clock=clock)
    plain = LatencyModel(PRESETS["realistic"], seed=3)
    ratios = []
    for phase in range(6):
        clock.now = 1000.0 + phase * 8 + 1  # one draw a phase, a second in
        ratios.append(model.delay("efetch", 500) / plain.delay("efetch", 500))
    assert ratios == pytest.approx([1, 2, 1, 0.5, 1, 2])
    fast = LatencyModel(PRESETS["shifting"], speedup=4, clock=clock)
    fast.delay("elink", 1)  # its first request starts the phases
    clock.now += 2.5  # 10 s of NCBI time at speedup 4: the second phase
    assert fast.shift_factor() == 2.0
    with pytest.raises(ConfigError, match="clock"):
        LatencyModel(PRESETS["shifting"])


async def test_the_server_applies_a_profile_through_its_own_clock() -> None:
    clock = HandClock()
    config = EmulatorConfig(latency="shifting", rate_limit=False)
    async with (
        Emulator(config, clock=clock, sleep=clock.sleep) as emu,
        aiohttp.ClientSession() as s,
    ):
        sizes = []
        for step in (0, 9):  # the first phase, then the doubled one
            clock.now += step
            async with s.get(emu.base_url + "einfo.fcgi") as r:
                assert r.status == 200
                sizes.append(len(await r.read()))
    plain = LatencyModel(PRESETS["realistic"])
    # each answer: its delay before the first byte, then its bytes' time (halved bandwidth too)
    held, sent = clock.slept[0::2], clock.slept[1::2]
    assert held == pytest.approx([plain.delay("einfo", 0), 2 * plain.delay("einfo", 0)])
    assert sent == pytest.approx([sizes[0] / MODELLED_BANDWIDTH, 2 * sizes[1] / MODELLED_BANDWIDTH])


def test_shared_load_leaves_the_client_the_rest_of_the_allowance() -> None:
    """Another program spends 3/s of a 10/s key: a client at 7/s is never refused and sees the
    other program in X-RateLimit-Remaining; one at 10/s is refused about 3 times a second."""
    clock = HandClock()
    gate = RateGate(RateLimits(with_key=10, shared_load=3), clock)
    polite = []
    for _ in range(70):
        polite.append(gate.check("K", "a"))
        clock.now += 1 / 7 + 1e-6
    assert all(v.allowed for v in polite)
    assert min(v.remaining for v in polite[10:]) <= 1  # the other program's 3 are counted
    greedy = RateGate(RateLimits(with_key=10, shared_load=3), clock)
    verdicts = []
    for _ in range(100):
        verdicts.append(greedy.check("K", "a"))
        clock.now += 0.1
    refused = sum(not v.allowed for v in verdicts[10:])
    assert 20 <= refused <= 32
    running = RateGate(RateLimits(with_key=10, shared_load=3), clock)
    first = running.check("K", "a")  # the other program was there before us
    assert first.allowed and first.remaining == 10 - 3 - 1
    assert RateLimits(shared_load=3).scaled(2).shared_load == 6


def test_shared_load_flag() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert config_from_args(parser.parse_args(["serve", "--shared-load", "3"])).shared_load == 3
    assert config_from_args(parser.parse_args(["serve"])).shared_load == 0
    with pytest.raises(ConfigError, match="shared-load"):
        config_from_args(parser.parse_args(["serve", "--shared-load", "-1"]))
