"""The emulator's clock over loopback: a dataset served as of a day grows and is revised at
plausible rates, records carry their modification dates, and esearch selects by them."""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from harvester.emulator.changes import link_changes, record_changes
from harvester.emulator.clock import REFERENCE, release_days
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import GENE_BASE, Dataset
from harvester.emulator.server import Emulator
from harvester.emulator.spec import load_spec
from harvester.errors import ConfigError
from tests.eutils_raw import call, xml

BEFORE, AFTER = "2026-09-15", "2026-10-15"
"""A month apart, across a dbSNP-like release (2026-10-01), as a monthly refresh would be."""


def _served(day: str | None) -> Emulator:
    return Emulator(EmulatorConfig(dataset="tiny", as_of=day))


@pytest.fixture
async def before() -> AsyncIterator[Emulator]:
    async with _served(BEFORE) as emu:
        yield emu


@pytest.fixture
async def after() -> AsyncIterator[Emulator]:
    async with _served(AFTER) as emu:
        yield emu


async def _count(http: aiohttp.ClientSession, emu: Emulator, db: str) -> int:
    status, text = await call(http, emu.base_url, "einfo", db=db)
    assert status == 200
    return int(xml(text).findtext("DbInfo/Count") or -1)


async def _links(
    http: aiohttp.ClientSession, emu: Emulator, genes: list[int]
) -> set[tuple[int, int]]:
    ids = [str(g) for g in genes]
    base = emu.base_url
    status, text = await call(http, base, "elink", post=True, dbfrom="gene", db="snp", id=ids)
    assert status == 200
    return {
        (int(ls.findtext("IdList/Id") or 0), int(t))
        for ls in xml(text).iter("LinkSet")
        for t in ls.xpath("LinkSetDb/Link/Id/text()")
    }


def _genes() -> list[int]:
    """The tiny dataset's generated genes (the seed examples never change)."""
    return [g for g in Dataset(load_spec("tiny")).uids("gene") if g >= GENE_BASE]


async def test_a_month_later_the_dataset_has_grown_at_plausible_rates(
    before: Emulator, after: Emulator, http: aiohttp.ClientSession
) -> None:
    snp = await _count(http, before, "snp"), await _count(http, after, "snp")
    pubmed = await _count(http, before, "pubmed"), await _count(http, after, "pubmed")
    # dbSNP-like: one release in the month adds ~2.5% (10%/year); PubMed ~0.3% a month.
    assert 0.01 < (snp[1] - snp[0]) / snp[0] < 0.05
    assert 0 <= pubmed[1] - pubmed[0] < 0.02 * pubmed[0]
    genes = _genes()
    old, new = await _links(http, before, genes), await _links(http, after, genes)
    added, removed = new - old, old - new
    assert 0.005 * len(old) < len(added) < 0.08 * len(old)
    assert len(removed) < 0.01 * len(old)
    truth = link_changes("tiny", "gene_snp", genes, BEFORE, AFTER)
    assert (truth.added, truth.removed) == (added, removed)


async def test_a_revised_record_carries_its_new_modification_date(
    before: Emulator, after: Emulator, http: aiohttp.ClientSession
) -> None:
    snps = Dataset(load_spec("tiny", AFTER)).uids("snp")
    moved = record_changes("tiny", "snp", snps, BEFORE, AFTER)
    assert moved.modified and moved.unchanged
    uid = min(moved.modified)
    then, now = await _updated(http, before, uid), await _updated(http, after, uid)
    assert BEFORE.replace("-", "/") >= then[:10] and BEFORE.replace("-", "/") < now[:10]
    assert now[:10] <= AFTER.replace("-", "/")
    same = min(moved.unchanged)
    assert await _updated(http, before, same) == await _updated(http, after, same)
    status, text = await call(http, before.base_url, "efetch", db="snp", id=min(moved.added))
    assert status == 200 and "<DocumentSummary" not in text  # not born yet


async def _updated(http: aiohttp.ClientSession, emu: Emulator, uid: int) -> str:
    status, text = await call(http, emu.base_url, "efetch", db="snp", id=uid)
    assert status == 200
    found = re.search(r"<UPDATEDATE>([^<]+)</UPDATEDATE>", text)
    assert found, text[:300]
    return found.group(1)


async def _esearch_ids(
    http: aiohttp.ClientSession, emu: Emulator, db: str, term: str, **extra: object
) -> list[str]:
    base = emu.base_url
    status, text = await call(http, base, "esearch", db=db, term=term, retmax=10_000, **extra)
    assert status == 200, text
    doc = xml(text)
    assert doc.find("ERROR") is None, text
    return [str(i) for i in doc.xpath("IdList/Id/text()")]


async def test_esearch_of_a_history_set_by_mdat_answers_exactly_its_changed_members(
    after: Emulator, http: aiohttp.ClientSession
) -> None:
    genes = _genes()[:120]
    _, text = await call(
        http, after.base_url, "elink", post=True, dbfrom="gene", db="snp",
        cmd="neighbor_history", id=",".join(map(str, genes)),
    )  # fmt: skip
    doc = xml(text)
    webenv, key = doc.findtext(".//WebEnv"), doc.findtext(".//QueryKey")
    members = await _esearch_ids(http, after, "snp", f"#{key}", WebEnv=webenv)
    changed = await _esearch_ids(
        http, after, "snp", f"#{key}", WebEnv=webenv,
        datetype="mdat", mindate="2026/09/16", maxdate="2026/10/15",
    )  # fmt: skip
    truth = record_changes("tiny", "snp", map(int, members), BEFORE, AFTER)
    assert truth.modified and truth.added
    assert {int(u) for u in changed} == truth.changed
    by_field = await _esearch_ids(
        http, after, "snp", f"#{key} AND 2026/09/16:2026/10/15[MDAT]", WebEnv=webenv
    )
    assert set(by_field) == set(changed)


async def test_without_as_of_the_dataset_is_the_last_day_undated(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    genes = _genes()[:60]
    async with _served(REFERENCE.isoformat()) as last_day:
        assert await _links(http, emulator, genes) == await _links(http, last_day, genes)
        assert await _count(http, emulator, "snp") == await _count(http, last_day, "snp")
    snp = (await _esearch_ids(http, emulator, "snp", "1[CHR]"))[0]
    _, text = await call(http, emulator.base_url, "efetch", db="snp", id=snp)
    assert "<UPDATEDATE>2024/11/02 07:15</UPDATEDATE>" in text  # the fixed text of before
    _, text = await call(http, emulator.base_url, "efetch", db="gene", id=genes[0])
    assert "Gene-track_update-date" not in text


async def test_the_same_day_twice_serves_the_same_bytes(http: aiohttp.ClientSession) -> None:
    answers = []
    for _ in range(2):
        async with _served(AFTER) as emu:
            ids, base = [str(g) for g in _genes()[:40]], emu.base_url
            dates = {"datetype": "mdat", "mindate": "2026/01/01", "maxdate": "2026/12/31"}
            got = [
                await call(http, base, "efetch", post=True, db="gene", id=",".join(ids)),
                await call(http, base, "elink", post=True, dbfrom="gene", db="snp", id=ids),
                await call(http, base, "esearch", db="pubmed", term="cells", retmax=500, **dates),
            ]
            answers.append(got)
    assert answers[0] == answers[1]
    assert all(status == 200 for status, _ in answers[0])


def test_an_as_of_day_is_read_from_the_dataset_name_or_refused_in_one_sentence() -> None:
    assert load_spec("tiny@2026-10-15").as_of == "2026-10-15"
    assert load_spec("tiny", "2026/10/15").as_of == "2026-10-15"
    with pytest.raises(ConfigError, match="outside the emulator's history"):
        load_spec("tiny@2031-01-01")
    with pytest.raises(ConfigError, match="not a date of the form YYYY-MM-DD"):
        load_spec("tiny@last-week")


def test_snp_changes_only_on_release_days() -> None:
    days = release_days("snp", datetime.date(2026, 1, 1), REFERENCE)
    assert len(days) == 5 and datetime.date(2026, 10, 1) in days
    moved = record_changes("tiny", "snp", range(30_000_000, 30_050_000), "2026-10-02", "2026-12-30")
    assert not moved.changed  # no release between the two days


async def test_render_workers_serve_the_same_day(http: aiohttp.ClientSession) -> None:
    """`harvester serve` renders in worker processes: they must see the as-of day too."""
    ids = ",".join(str(g) for g in _genes()[:30])
    pages = []
    for workers in (0, 1):
        config = EmulatorConfig(dataset="tiny", as_of=AFTER, render_processes=workers)
        async with Emulator(config) as emu:
            pages.append(await call(http, emu.base_url, "efetch", post=True, db="gene", id=ids))
    assert pages[0] == pages[1] and "Gene-track_update-date" in pages[0][1]
