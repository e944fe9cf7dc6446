"""Fault injection: each kind fires at its rate, reproducibly, and looks like NCBI on the wire."""

from __future__ import annotations

from collections import Counter

import aiohttp
import orjson
import pytest
from lxml import etree

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.faults import KINDS, REWRITES, FaultInjector, FaultPlan
from harvester.emulator.server import Emulator
from harvester.errors import ConfigError
from harvester.eutils.connections import never_resend

PAGE = 5  # records per probing efetch


class FakeSleep:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def _emulator(faults: str, seed: int = 3, sleep: FakeSleep | None = None) -> Emulator:
    config = EmulatorConfig(faults=faults, seed=seed, rate_limit=False, stall_seconds=99.0)
    return Emulator(config, sleep=sleep or FakeSleep())


def _snps(emu: Emulator, n: int) -> list[int]:
    uids = emu.state.dataset.uids("snp")
    return [u for u in uids if emu.state.catalog.records.snp(u) is not None][:n]


async def _probe(s: aiohttp.ClientSession, emu: Emulator, uids: list[int]) -> str:
    """One efetch of a fresh WebEnv holding `uids`, classified by what came back."""
    webenv, key = emu.state.history.add(None, "snp", uids)
    params = {"db": "snp", "WebEnv": webenv, "query_key": str(key)}
    try:
        async with s.get(emu.base_url + "efetch.fcgi", params=params) as r:
            body = await r.read()
    except aiohttp.ClientPayloadError:
        return "cut"
    except aiohttp.ServerDisconnectedError:
        return "closed"
    if r.status != 200:
        return str(r.status)
    text = body.decode()
    if not text:
        return "empty"
    if "Search Backend failed" in text:
        return "backend"
    if "Unable to obtain query #1" in text:
        return "unable"
    if "<eSearchResult>" in text:
        return "wrongroot"
    if "<ERROR>Internal error</ERROR>" in text:
        return "errorroot"
    return "short" if text.count("<DocumentSummary ") < len(uids) else "ok"


EXPECTED = {kind: kind for kind in KINDS} | {"stall": "ok", "expire": "unable"}


@pytest.mark.parametrize("kind", sorted(set(KINDS) - REWRITES))
async def test_each_fault_fires_at_its_rate(kind: str) -> None:
    sleep = FakeSleep()
    async with _emulator(f"{kind}:0.1", sleep=sleep) as emu, aiohttp.ClientSession() as s:
        never_resend(s)  # aiohttp would resend a GET its pooled connection lost
        page = _snps(emu, PAGE)
        seen = Counter([await _probe(s, emu, page) for _ in range(400)])
    fired = len(sleep.slept) if kind == "stall" else seen[EXPECTED[kind]]
    assert 25 <= fired <= 55, seen
    assert set(seen) <= {"ok", EXPECTED[kind]}, seen
    if kind == "stall":
        assert set(sleep.slept) == {99.0}


async def test_mixed_spreads_one_combined_rate_over_every_kind() -> None:
    sleep = FakeSleep()
    async with _emulator("mixed:0.2", sleep=sleep) as emu, aiohttp.ClientSession() as s:
        page = _snps(emu, PAGE)
        seen = Counter([await _probe(s, emu, page) for _ in range(400)])
    faults = 400 - seen["ok"] + len(sleep.slept)
    assert 55 <= faults <= 110, seen
    assert len(seen) >= 9 and sleep.slept, seen  # unable and expire look alike on the wire


async def test_a_seed_reproduces_the_run() -> None:
    async def run(seed: int) -> list[str]:
        async with _emulator("mixed:0.3", seed) as emu, aiohttp.ClientSession() as s:
            page = _snps(emu, PAGE)
            return [await _probe(s, emu, page) for _ in range(60)]

    first = await run(11)
    assert first == await run(11)
    assert first != await run(12)


def test_injector_draws_alone_match_the_plan() -> None:
    injector = FaultInjector(FaultPlan.parse("500:0.02,cut:0.01"), seed=1)
    picks = Counter(injector.choose("elink", False, False) for _ in range(20_000))
    assert picks["500"] == pytest.approx(400, rel=0.2)
    assert picks["cut"] == pytest.approx(200, rel=0.25)
    assert picks.keys() <= {None, "500", "cut"}
    webenv_only = FaultInjector(FaultPlan.parse("unable:1,expire:0"), seed=1)
    assert webenv_only.choose("efetch", webenv=False, query_key=False) is None
    assert webenv_only.choose("efetch", webenv=True, query_key=True) == "unable"
    efetch_only = FaultInjector(FaultPlan.parse("stall@efetch:1"), seed=1)
    assert efetch_only.choose("elink", False, False) is None
    assert efetch_only.choose("efetch", False, False) == "stall"


def test_a_rule_on_one_command_counts_only_the_requests_it_names() -> None:
    """`=FROM-TO` counts the rule's own requests: the first two neighbor_history elinks fail,
    however many other requests (per-id elinks among them) arrive before, between and after."""
    injector = FaultInjector(FaultPlan.parse("503@elink/neighbor_history:1:=1-2"), seed=1)

    def elink(cmd: str) -> str | None:
        return injector.choose("elink", False, False, cmd=cmd)

    assert [elink("neighbor"), elink("neighbor"), elink("neighbor_history")] == [None, None, "503"]
    assert injector.choose("efetch", True, True) is None
    assert [elink("neighbor"), elink("neighbor_history"), elink("neighbor")] == [None, "503", None]
    assert [elink("neighbor_history"), elink("neighbor_history")] == [None, None]


def test_mixed_deals_every_applicable_kind_before_repeating_one() -> None:
    injector = FaultInjector(FaultPlan.parse("mixed:1"), seed=4)
    plain = set(KINDS) - {"short", "unable", "expire", "closed"}
    n = len(plain)
    elinks = [injector.choose("elink", False, False) for _ in range(4 * n)]
    for round_ in range(4):  # the kinds that apply to a plain elink each strike once per n
        assert set(elinks[n * round_ : n * round_ + n]) == plain, elinks
    # the kinds that did not apply wait in the deck for the first requests they fit
    efetches = {
        injector.choose("efetch", webenv=True, query_key=True, reused=True) for _ in range(4)
    }
    assert efetches == {"short", "unable", "expire", "closed"}


@pytest.mark.parametrize(
    "text",
    [
        "500",
        "500:x",
        "500:1.5",
        "teapot:0.1",
        "mixed:0.7,500:0.5",
        "cut:-0.1",
        "stall@efetc:0.1",
        "503@elink/:1",
        "503@elink/neighbor_history:1:=2-1",
    ],
)
def test_bad_fault_specs_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        FaultPlan.parse(text)


def test_fault_spec_forms() -> None:
    assert not FaultPlan.parse("") and not FaultPlan.parse("none")
    assert FaultPlan.parse("mixed:0.05") == FaultPlan((), 0.05)
    assert FaultPlan.parse("500:0.02, cut:0.01").rates == (("500", 0.02), ("cut", 0.01))


# -- what each fault looks like on the wire -------------------------------------------------------
async def test_500_comes_as_ncbis_html_page_or_json_forwarding_error() -> None:
    async with _emulator("500:1") as emu, aiohttp.ClientSession() as s:
        forms = set()
        for _ in range(20):
            async with s.get(emu.base_url + "einfo.fcgi") as r:
                assert r.status == 500
                body = await r.read()
                if r.content_type == "application/json":
                    doc = orjson.loads(body)
                    assert doc == {
                        "error": "error forwarding request",
                        "api-key": "127.0.0.1",
                        "type": "ip",
                        "status": "ok",
                    }
                else:
                    assert r.content_type == "text/html" and b"Error 500" in body
                forms.add(r.content_type)
    assert forms == {"application/json", "text/html"}


@pytest.mark.parametrize("status", [502, 503])
async def test_gateway_errors_are_html(status: int) -> None:
    async with (
        _emulator(f"{status}:1") as emu,
        aiohttp.ClientSession() as s,
        s.get(emu.base_url + "einfo.fcgi") as r,
    ):
        assert r.status == status and r.content_type == "text/html"
        assert str(status).encode() in await r.read()


async def test_spurious_429_under_the_limit_looks_like_the_real_one() -> None:
    config = EmulatorConfig(
        faults="429:1", rate_limit=True
    )  # enforcement on, first request: under the limit
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession() as s,
        s.get(emu.base_url + "einfo.fcgi") as r,
    ):
        assert r.status == 429 and r.content_type == "application/json"
        assert r.headers["Retry-After"].isdigit()
        assert r.headers["X-RateLimit-Remaining"] == "2"
        doc = orjson.loads(await r.read())
    assert doc["error"] == "API rate limit exceeded" and int(doc["count"]) <= int(doc["limit"])


async def test_empty_body_with_200() -> None:
    async with (
        _emulator("empty:1") as emu,
        aiohttp.ClientSession() as s,
        s.get(emu.base_url + "esearch.fcgi", params={"db": "snp", "term": "x"}) as r,
    ):
        assert r.status == 200 and await r.read() == b""
        assert r.headers["X-RateLimit-Limit"] == "3"


@pytest.mark.parametrize("path", ["efetch.fcgi?db=snp&id={ids}", "elink.fcgi?dbfrom=gene&id=3718"])
async def test_cut_body_breaks_the_chunked_stream(path: str) -> None:
    async with _emulator("cut:1") as emu, aiohttp.ClientSession() as s:
        url = emu.base_url + path.format(ids=",".join(map(str, _snps(emu, 250))))
        got = bytearray()
        with pytest.raises(aiohttp.ClientPayloadError):
            async with s.get(url) as r:
                assert r.status == 200
                async for chunk in r.content.iter_any():
                    got += chunk
        assert got.startswith(b"<?xml")


async def test_stall_outlasts_the_client_timeout() -> None:
    config = EmulatorConfig(faults="stall:1", rate_limit=False, stall_seconds=0.4)
    timeout = aiohttp.ClientTimeout(sock_read=0.1)
    async with Emulator(config) as emu, aiohttp.ClientSession(timeout=timeout) as s:
        with pytest.raises(TimeoutError):
            async with s.get(emu.base_url + "einfo.fcgi") as r:
                await r.read()


async def test_backend_failure_is_in_band_in_the_endpoints_own_shape() -> None:
    async with (
        _emulator("backend:1") as emu,
        aiohttp.ClientSession() as s,
        s.get(emu.base_url + "efetch.fcgi", params={"db": "snp", "id": "1"}) as r,
    ):
        assert r.status == 200
        root = etree.fromstring(await r.read())
        assert root.tag == "eFetchResult"
        assert root.findtext("ERROR", "").startswith("Search Backend failed:")
        params = {"dbfrom": "gene", "id": "3718", "retmode": "json"}
        async with s.get(emu.base_url + "elink.fcgi", params=params) as r:
            assert r.status == 200 and r.content_type == "application/json"
            assert orjson.loads(await r.read())["ERROR"].startswith("Search Backend failed:")


async def test_unable_to_obtain_query_is_transient() -> None:
    async with _emulator("unable:0.5") as emu, aiohttp.ClientSession() as s:
        webenv, key = emu.state.history.add(None, "snp", _snps(emu, 3))
        params = {"db": "snp", "WebEnv": webenv, "query_key": str(key)}
        answers = []
        for _ in range(20):
            async with s.get(emu.base_url + "efetch.fcgi", params=params) as r:
                answers.append("Unable to obtain query #1" in await r.text())
    assert any(answers) and not all(answers)
    assert answers.index(False) < len(answers) - 1 or answers[-1] is False


async def test_expired_webenv_is_permanent() -> None:
    async with _emulator("expire:0.5", seed=5) as emu, aiohttp.ClientSession() as s:
        webenv, key = emu.state.history.add(None, "snp", _snps(emu, 3))
        params = {"db": "snp", "WebEnv": webenv, "query_key": str(key)}
        answers = []
        for _ in range(12):
            async with s.get(emu.base_url + "efetch.fcgi", params=params) as r:
                answers.append("Unable to obtain query #1" in await r.text())
        assert emu.state.history.get(webenv, key) is None
    first = answers.index(True)
    assert all(answers[first:])


async def test_short_page_drops_records_but_stays_well_formed() -> None:
    async with _emulator("short:1") as emu, aiohttp.ClientSession() as s:
        asked = _snps(emu, 250)
        data = {"db": "snp", "id": ",".join(map(str, asked))}
        async with s.post(emu.base_url + "efetch.fcgi", data=data) as r:
            root = etree.fromstring(await r.read())
    got = [int(e.get("uid")) for e in root]
    assert 240 <= len(got) < 250
    assert got == [u for u in asked if u in set(got)]  # order kept, nothing invented
    assert got[-1] != asked[-1] and got[0] == asked[0]
