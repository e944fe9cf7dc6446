"""Rendering in worker processes answers byte for byte what the serving process renders itself.

Two real emulators on loopback, equal configs, one rendering on its thread and one in a render
process, get the same request sequence (so their seeded WebEnvs match) and must answer alike,
History-backed pages, faults and History errors included."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import aiohttp
import pytest

from harvester.emulator.app import POOL_KEY
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.server import Emulator
from harvester.eutils.parse import parse_bytes


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Emulator, Emulator]]:
    async with (
        Emulator(EmulatorConfig(seed=5)) as threaded,
        Emulator(EmulatorConfig(seed=5, render_processes=1)) as pooled,
    ):
        yield threaded, pooled


def _genes(count: int) -> list[str]:
    genes = [u for u in Dataset().uids("gene") if Dataset().links("gene_snp", u)]
    return [str(u) for u in itertools.islice(genes, count)]


async def _both(
    http: aiohttp.ClientSession,
    pair: tuple[Emulator, Emulator],
    endpoint: str,
    data: dict[str, str] | list[tuple[str, str]],
) -> tuple[bytes, bytes]:
    answers = []
    for emu in pair:
        async with http.post(f"{emu.base_url}{endpoint}.fcgi", data=data) as response:
            answers.append(await response.read())
    return answers[0], answers[1]


async def test_pooled_answers_equal_threaded_answers(
    pair: tuple[Emulator, Emulator], http: aiohttp.ClientSession
) -> None:
    genes = _genes(60)
    assert len(genes) == 60
    posted = await _both(http, pair, "epost", {"db": "gene", "id": ",".join(genes)})
    assert posted[0] == posted[1]
    webenv = posted[0].split(b"<WebEnv>")[1].split(b"</WebEnv>")[0].decode()
    per_id = [("dbfrom", "gene"), ("db", "snp")] + [("id", g) for g in genes]
    for cmd in ("neighbor", "neighbor_score", "acheck"):
        a, b = await _both(http, pair, "elink", [*per_id, ("cmd", cmd)])
        assert a == b and a.count(b"<LinkSet>") == 60
    history = {"dbfrom": "gene", "db": "snp", "cmd": "neighbor_history"}
    a, b = await _both(http, pair, "elink", history | {"WebEnv": webenv, "query_key": "1"})
    assert a == b and b"<QueryKey>2</QueryKey>" in a
    for retstart in ("0", "150"):
        page = {"db": "snp", "WebEnv": webenv, "query_key": "2", "retstart": retstart}
        a, b = await _both(http, pair, "efetch", page | {"retmax": "250"})
        assert a == b and a.count(b"<DocumentSummary ") > 0
    summary = {"db": "snp", "WebEnv": webenv, "query_key": "2", "retmax": "120"}
    for extra in ({}, {"retmode": "json"}):
        a, b = await _both(http, pair, "esummary", summary | extra)
        assert a == b and len(a) > 10_000
    by_elink = {"dbfrom": "gene", "db": "snp", "WebEnv": webenv, "query_key": "1"}
    a, b = await _both(http, pair, "elink", by_elink)
    assert a == b
    assert POOL_KEY not in pair[0].app
    jobs = pair[1].app[POOL_KEY].jobs
    assert jobs >= 3 + 2 * 3 + 2 + 1  # elinks, efetch chunks, esummaries, elink by WebEnv
    gone = {"db": "snp", "WebEnv": webenv, "query_key": "9"}
    for endpoint in ("efetch", "esummary"):
        a, b = await _both(http, pair, endpoint, gone)
        assert a == b and b"Unable to obtain query #9" in a


async def test_pooled_pages_parse_and_survive_short_faults(http: aiohttp.ClientSession) -> None:
    config = EmulatorConfig(seed=2, faults="short:1.0", render_processes=1)
    async with Emulator(config) as emu:
        ids = ",".join(str(u) for u in itertools.islice(Dataset().uids("snp"), 300))
        async with http.post(f"{emu.base_url}efetch.fcgi", data={"db": "snp", "id": ids}) as r:
            body = await r.read()
    uids = [record.uid for record in parse_bytes(body) if hasattr(record, "uid")]
    assert 0 < len(uids) < 300


def test_history_errors_cross_the_process_boundary_intact() -> None:
    import pickle

    from harvester.emulator.state import HistoryMissing

    again = pickle.loads(pickle.dumps(HistoryMissing(9)))
    assert str(again) == "Unable to obtain query #9" and again.query_key == 9
