"""The emulator's rate gate (NCBI's 3/s and 10/s) and its latency model.

Timing is driven by an injected clock and sleeper; only one loopback test waits for real.
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
import orjson
import pytest
from eutils_helpers import HandClock

from harvester.emulator.cli import config_from_args, register
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.faults import FaultPlan
from harvester.emulator.gate import RateGate, RateLimits
from harvester.emulator.latency import MODELLED_BANDWIDTH, PRESETS, LatencyModel, profile
from harvester.emulator.server import Emulator
from harvester.errors import ConfigError


# -- the gate alone ------------------------------------------------------------------------------
def test_evenly_paced_client_at_the_limit_is_never_refused() -> None:
    clock = HandClock()
    gate = RateGate(RateLimits(), clock)
    for _ in range(60):
        assert gate.check(None, "10.0.0.1").allowed
        assert gate.check("K", "10.0.0.1").allowed  # the keyed window is separate
        clock.now += 1 / 3
    keyed = RateGate(RateLimits(), clock)
    for _ in range(100):
        assert keyed.check("K", "10.0.0.1").allowed
        clock.now += 1 / 10


def test_fourth_request_within_a_second_is_refused_with_counts() -> None:
    clock = HandClock()
    gate = RateGate(RateLimits(), clock)
    verdicts = []
    for _ in range(4):
        verdicts.append(gate.check(None, "10.0.0.1"))
        clock.now += 0.2
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    refused = verdicts[3]
    assert (refused.who, refused.count, refused.limit, refused.retry_after) == ("10.0.0.1", 4, 3, 1)


def test_refused_requests_do_not_fill_the_window() -> None:
    """Chosen semantics: only accepted requests count, so hammering does not extend the ban."""
    clock = HandClock()
    gate = RateGate(RateLimits(), clock)
    for _ in range(3):
        assert gate.check(None, "a").allowed
    for _ in range(20):
        clock.now += 0.04
        assert not gate.check(None, "a").allowed
    clock.now = 1001.0  # one second after the first accepted request
    assert [gate.check(None, "a").allowed for _ in range(4)] == [True, True, True, False]


def test_limits_are_per_key_and_per_address() -> None:
    clock = HandClock()
    gate = RateGate(RateLimits(), clock)
    assert all(gate.check(None, "10.0.0.1").allowed for _ in range(3))
    assert not gate.check(None, "10.0.0.1").allowed
    assert all(gate.check(None, "10.0.0.2").allowed for _ in range(3))
    # one key is shared by every address that uses it
    assert all(gate.check("K1", f"10.0.1.{i}").allowed for i in range(10))
    refused = gate.check("K1", "10.0.9.9")
    assert not refused.allowed and (refused.who, refused.limit) == ("K1", 10)
    assert gate.check("K2", "10.0.0.1").allowed


def test_enforcement_off_counts_but_never_refuses() -> None:
    clock = HandClock()
    gate = RateGate(RateLimits(enforce=False), clock)
    verdicts = [gate.check(None, "a") for _ in range(50)]
    assert all(v.allowed for v in verdicts)
    assert verdicts[-1].remaining == 0 and verdicts[-1].count == 50


def test_unknown_key_is_invalid_when_a_registry_is_configured() -> None:
    gate = RateGate(RateLimits(valid_keys=frozenset({"good"})), HandClock())
    assert gate.check("good", "a").allowed
    bad = gate.check("bad", "a")
    assert not bad.allowed and bad.invalid_key and bad.who == "bad"
    assert gate.check(None, "a").allowed  # no key at all is still the 3/s tier


def test_speedup_scales_limits_up() -> None:
    assert RateLimits().scaled(60) == RateLimits(without_key=180, with_key=600)


# -- over loopback -------------------------------------------------------------------------------
async def _get(
    session: aiohttp.ClientSession, url: str, **params: str
) -> tuple[int, aiohttp.typedefs.LooseHeaders, bytes]:
    async with session.get(url, params=params) as r:
        return r.status, r.headers, await r.read()


async def test_paced_clients_over_http_are_never_refused() -> None:
    clock = HandClock()
    async with (
        Emulator(EmulatorConfig(rate_limit=True), clock=clock) as emu,
        aiohttp.ClientSession() as s,
    ):
        for _ in range(12):
            status, headers, _ = await _get(s, emu.base_url + "einfo.fcgi")
            assert status == 200 and headers["X-RateLimit-Limit"] == "3"
            clock.now += 1 / 3
        for _ in range(25):
            status, headers, _ = await _get(s, emu.base_url + "einfo.fcgi", api_key="K")
            assert status == 200 and headers["X-RateLimit-Limit"] == "10"
            clock.now += 1 / 10


@pytest.mark.slow
async def test_real_time_client_at_ten_per_second_with_a_key() -> None:
    async with Emulator(EmulatorConfig(rate_limit=True)) as emu, aiohttp.ClientSession() as s:
        for _ in range(12):
            # 0.11 s after the last answer, not on a fixed schedule: a late request on a busy
            # machine is not followed by catch-up ones that the server sees closer than 0.1 s
            status, _, body = await _get(s, emu.base_url + "einfo.fcgi", api_key="K")
            assert status == 200, body
            await asyncio.sleep(0.11)


async def test_over_the_limit_gets_ncbis_429() -> None:
    clock = HandClock()
    async with (
        Emulator(EmulatorConfig(rate_limit=True), clock=clock) as emu,
        aiohttp.ClientSession() as s,
    ):
        answers = [await _get(s, emu.base_url + "einfo.fcgi") for _ in range(4)]
    assert [a[0] for a in answers] == [200, 200, 200, 429]
    assert [a[1]["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    _, headers, body = answers[3]
    assert (
        body == b'{"error":"API rate limit exceeded","api-key":"127.0.0.1","count":"4","limit":"3"}'
    )
    assert headers["Content-Type"] == "application/json"
    assert headers["Retry-After"].isdigit() and 1 <= int(headers["Retry-After"]) <= 2
    assert headers["X-RateLimit-Limit"] == "3"


async def test_limits_over_http_are_per_key_and_per_address() -> None:
    clock = HandClock()
    async with (
        Emulator(EmulatorConfig(rate_limit=True), clock=clock) as emu,
        aiohttp.ClientSession() as s,
    ):
        url = emu.base_url + "einfo.fcgi"
        assert [(await _get(s, url))[0] for _ in range(4)] == [200, 200, 200, 429]
        keyed = [(await _get(s, url, api_key="K1"))[0] for _ in range(11)]
        assert keyed == [200] * 10 + [429]
        async with s.post(url, data={"api_key": "K2"}) as r:  # a key in a POST body counts too
            assert r.status == 200 and r.headers["X-RateLimit-Limit"] == "10"
        async with s.get(url, params={"api_key": "K1"}) as r:
            assert orjson.loads(await r.read())["api-key"] == "K1"
        other = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=other) as s2:
            assert (await _get(s2, url))[0] == 200


async def test_invalid_key_gets_ncbis_400() -> None:
    config = EmulatorConfig(rate_limit=True, api_keys=frozenset({"good"}))
    async with Emulator(config, clock=HandClock()) as emu, aiohttp.ClientSession() as s:
        assert (await _get(s, emu.base_url + "einfo.fcgi", api_key="good"))[0] == 200
        status, headers, body = await _get(s, emu.base_url + "einfo.fcgi", api_key="nope")
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert (
        body == b'{"error":"API key invalid","api-key":"nope","type":"invalid","status":"unknown"}'
    )


async def test_enforcement_switch_and_speedup_over_http() -> None:
    clock = HandClock()
    async with (
        Emulator(EmulatorConfig(rate_limit=False), clock=clock) as emu,
        aiohttp.ClientSession() as s,
    ):
        answers = [await _get(s, emu.base_url + "einfo.fcgi") for _ in range(8)]
        assert {a[0] for a in answers} == {200}
        assert answers[-1][1]["X-RateLimit-Remaining"] == "0"
    async with (
        Emulator(EmulatorConfig(rate_limit=True, speedup=2), clock=clock) as emu,
        aiohttp.ClientSession() as s,
    ):
        statuses = [(await _get(s, emu.base_url + "einfo.fcgi"))[0] for _ in range(7)]
        assert statuses == [200] * 6 + [429]


async def test_faults_never_fire_on_refused_requests() -> None:
    config = EmulatorConfig(rate_limit=True, faults="503:1.0")
    async with Emulator(config, clock=HandClock()) as emu, aiohttp.ClientSession() as s:
        statuses = [(await _get(s, emu.base_url + "einfo.fcgi"))[0] for _ in range(5)]
    assert statuses == [503, 503, 503, 429, 429]


def test_python_config_is_lenient_and_serve_is_strict_by_default() -> None:
    assert not EmulatorConfig().rate_limit  # tests may hammer the emulator
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    strict = config_from_args(parser.parse_args(["serve"]))
    assert strict.rate_limit and (strict.rate_without_key, strict.rate_with_key) == (3, 10)
    argv = ["serve", "--no-rate-limit", "--api-keys", "K1,K2", "--faults", "mixed:0.05"]
    argv += ["--latency", "realistic", "--speedup", "60", "--seed", "4", "--rate-limit", "5"]
    loose = config_from_args(parser.parse_args(argv))
    assert not loose.rate_limit and loose.api_keys == frozenset({"K1", "K2"})
    assert loose.faults == FaultPlan((), 0.05) and loose.latency == "realistic"
    assert (loose.speedup, loose.seed, loose.rate_without_key) == (60, 4, 5)
    with pytest.raises(ConfigError):
        config_from_args(parser.parse_args(["serve", "--speedup", "0"]))


# -- latency -------------------------------------------------------------------------------------
def test_zero_latency_is_the_default_and_draws_nothing() -> None:
    model = LatencyModel(profile(EmulatorConfig().latency))
    assert model.delay("efetch", 10_000) == 0.0


def test_realistic_latency_grows_with_the_page_and_is_seeded() -> None:
    model = LatencyModel(PRESETS["realistic"], seed=7)
    assert model.mean("efetch", 500) > model.mean("elink", 1) * 4
    fetches = [model.delay("efetch", 500) for _ in range(200)]
    links = [model.delay("elink", 1) for _ in range(200)]
    assert sum(fetches) / 200 == pytest.approx(1.5, rel=0.1)
    assert sum(links) / 200 == pytest.approx(0.308, rel=0.1)
    again = LatencyModel(PRESETS["realistic"], seed=7)
    assert [again.delay("efetch", 500) for _ in range(200)] == fetches
    fast = LatencyModel(PRESETS["realistic"], seed=7, speedup=60)
    assert fast.delay("efetch", 500) == pytest.approx(fetches[0] / 60)


def test_unknown_latency_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="realistic"):
        profile("slowish")


async def test_server_holds_requests_for_the_modelled_latency() -> None:
    clock = HandClock()
    config = EmulatorConfig(latency="realistic", rate_limit=False)
    async with (
        Emulator(config, clock=clock, sleep=clock.sleep) as emu,
        aiohttp.ClientSession() as s,
    ):
        snps = ",".join(str(u) for u in list(emu.state.dataset.uids("snp"))[:500])
        elinked = await _get(s, emu.base_url + "elink.fcgi", dbfrom="gene", db="snp", id="3718")
        assert elinked[0]
        async with s.post(emu.base_url + "efetch.fcgi", data={"db": "snp", "id": snps}) as r:
            assert r.status == 200  # the form body still reaches the handler after the gate
            body = await r.read()
            assert body.count(b"<DocumentSummary ") > 450
    # each answer is held before its first byte, then its bytes take their time (sendpace.py)
    elink_delay, elink_bytes, efetch_delay, *efetch_bytes = clock.slept
    assert 0.1 < elink_delay < 1.0 and 0.6 < efetch_delay < 4.0
    assert elink_bytes == pytest.approx(len(elinked[2]) / MODELLED_BANDWIDTH)
    assert sum(efetch_bytes) == pytest.approx(len(body) / MODELLED_BANDWIDTH)
