"""The request log: one flushed JSON line per request, never a raw key, and its readers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.requestlog import (
    LogEntry,
    pages_asked_twice,
    peak_per_second,
    per_endpoint,
    per_status,
    read_log,
    who_label,
)
from harvester.emulator.server import Emulator


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _entry(t: float, endpoint: str = "elink", who: str = "a") -> LogEntry:
    return LogEntry(t, 1e9 + t, endpoint, "GET", who, 1, 200, 10)


def test_peak_counts_the_busiest_one_second_window() -> None:
    times = [0.0, 0.5, 0.9, 1.0, 1.2, 1.3, 1.95, 3.0]
    entries = [_entry(t) for t in times]
    assert peak_per_second(entries) == 5  # 0.5, 0.9, 1.0, 1.2, 1.3 within [0.5, 1.5)
    assert peak_per_second([_entry(0.0), _entry(0.999), _entry(1.0)]) == 2
    assert peak_per_second([]) == 0
    mixed = [_entry(0.1, who="a"), _entry(0.2, who="b"), _entry(0.3, who="a")]
    assert peak_per_second(mixed, who="a") == 2


def test_per_endpoint_and_status_counts() -> None:
    entries = [_entry(0, "elink"), _entry(1, "efetch"), _entry(2, "elink")]
    assert per_endpoint(entries) == {"elink": 2, "efetch": 1}
    assert per_status(entries) == {200: 3}


def test_keys_are_hashed_never_written() -> None:
    label = who_label("SECRET-KEY", "10.0.0.1")
    assert label == "key:" + hashlib.sha256(b"SECRET-KEY").hexdigest()[:12]
    assert who_label(None, "10.0.0.1") == "10.0.0.1"


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(
        b'{"t":1,"wall":2,"endpoint":"elink","method":"GET","who":"a",'
        b'"ids":1,"status":200,"bytes":5,"fault":null,"delay":0}\n{"t":2,"wa'
    )
    assert [e.endpoint for e in read_log(path)] == ["elink"]


async def test_emulator_logs_every_request_as_it_happens(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    clock = FakeClock()
    config = EmulatorConfig(request_log=path, rate_limit=True)
    async with Emulator(config, clock=clock) as emu, aiohttp.ClientSession() as s:
        url = emu.base_url
        for _ in range(4):  # the 4th within one second is refused
            async with s.get(url + "einfo.fcgi") as r:
                await r.read()
        clock.now += 1.5
        async with s.get(url + "elink.fcgi", params={"dbfrom": "gene", "id": "3718,672"}) as r:
            await r.read()
        for _ in range(3):
            clock.now += 0.1
            params = {"db": "snp", "id": "1", "api_key": "SECRET-KEY"}
            async with s.post(url + "efetch.fcgi", data=params) as r:
                await r.read()
        live = read_log(path)  # flushed per line: readable while the server runs
        assert len(live) == 8
    entries = read_log(path)
    assert b"SECRET-KEY" not in path.read_bytes()
    assert per_endpoint(entries) == {"einfo": 4, "efetch": 3, "elink": 1}
    assert per_status(entries) == {200: 7, 429: 1}
    assert peak_per_second(entries) == 4
    assert peak_per_second(entries, who="127.0.0.1") == 4
    keyed = [e for e in entries if e.who.startswith("key:")]
    assert len(keyed) == 3 and {e.method for e in keyed} == {"POST"}
    elink = next(e for e in entries if e.endpoint == "elink")
    assert elink.ids == 2 and elink.bytes > 100 and elink.fault is None
    assert all(e.bytes > 0 for e in entries)
    assert entries[0].wall > 1.7e9


async def test_injected_faults_are_logged(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    config = EmulatorConfig(request_log=path, faults="502:1", rate_limit=False)
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession() as s,
        s.get(emu.base_url + "einfo.fcgi") as r,
    ):
        assert r.status == 502
    (entry,) = read_log(path)
    assert (entry.status, entry.fault) == (502, "502")


def test_pages_asked_twice_counts_history_pages_answered_more_than_once() -> None:
    def page(
        endpoint: str, retstart: int, status: int = 200, key: str = "1", fault: str | None = None
    ) -> LogEntry:
        label = f"W#{key}@{retstart}"
        return LogEntry(0.0, 1e9, endpoint, "GET", "a", 0, status, 10, fault, page=label)

    once = [page("efetch", 0), page("efetch", 500), page("efetch", 0, key="2")]
    assert pages_asked_twice(once) == 0
    refused_then_read = [page("efetch", 0, status=429), page("efetch", 0, 500, fault="500")]
    assert pages_asked_twice([*refused_then_read, page("efetch", 0)]) == 0
    dropped_copy = page("efetch", 0, status=500)  # the client hung up: logged without answer
    assert pages_asked_twice([dropped_copy, page("efetch", 0)]) == 1
    assert pages_asked_twice([*once, page("efetch", 500), page("efetch", 500)]) == 1
    assert pages_asked_twice([page("esummary", 0), page("esummary", 0), _entry(1.0)]) == 1
    assert pages_asked_twice([page("efetch", 0), page("esummary", 0)]) == 0
