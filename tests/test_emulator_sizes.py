"""Records at NCBI's sizes (configs/datasets/large.yaml against the captures), the knobs that
scale or fill them without touching ids, links or counts, and an answer's time growing with
its bytes. Datasets here are small (a few hundred genes): sizes are drawn per record, so a
small dataset has the large one's distributions. Time is a clock the test moves."""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path

import aiohttp
import pytest
from eutils_helpers import HandClock
from lxml import etree
from multidict import MultiDict

from harvester.emulator.catalog import Catalog
from harvester.emulator.cli import config_from_args, register
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.fetch import RecordPage, efetch_body
from harvester.emulator.latency import MODELLED_BANDWIDTH, PRESETS, LatencyModel
from harvester.emulator.params import Params
from harvester.emulator.render_records import compact, snp_exchangeset_record, snp_nodes
from harvester.emulator.sendpace import SendPacer
from harvester.emulator.server import Emulator, build_state
from harvester.emulator.spec import DatasetSpec, load_spec, sized
from harvester.errors import ConfigError
from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import Record

SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def large_like(**changes: object) -> DatasetSpec:
    """large.yaml's record sizes over 300 genes (its 20,000 would only take longer)."""
    changes.setdefault("genes", 300)
    return dataclasses.replace(load_spec("large"), **changes)  # type: ignore[arg-type]


def record_sizes(spec: DatasetSpec, db: str, fmt: str, n: int) -> list[int]:
    catalog = Catalog(Dataset(spec))
    out = []
    for uid in catalog.ds.uids(db):
        text = catalog.efetch(fmt, db, uid) if catalog.ds.index(db, uid) is not None else None
        if text is not None:
            out.append(len(text.encode()))
        if len(out) == n:
            break
    return out


def captured_sizes(path: Path, tag: str) -> list[int]:
    """Bytes of each record element in a capture, as sent (the text between its tags)."""
    raw = path.read_bytes()
    root = etree.fromstring(raw, SAFE)
    count = sum(1 for e in root.iter() if etree.QName(e).localname == tag)
    opener = f"<{tag}".encode()
    closer = f"</{tag}>".encode()
    starts = [i for i in range(len(raw)) if raw.startswith(opener, i)][:count]
    return [raw.index(closer, s) + len(closer) - s for s in starts]


def quantile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- sizes per db -------------------------------------------------------------------------------
def test_large_snp_docsums_are_the_size_of_ncbis(samples: Path) -> None:
    captured = captured_sizes(
        samples / "biocommons_eutils" / "efetch_snp_2031_14181.xml", "DocumentSummary"
    )
    assert sorted(captured) == [1856, 2208]
    sizes = record_sizes(large_like(), "snp", "snp_exchangeset", 2000)
    assert quantile(sizes, 0.1) < min(captured) and max(captured) < quantile(sizes, 0.9)
    assert 1500 < statistics.median(sizes) < 2500 and max(sizes) < 4000


def test_large_pubmed_articles_are_5_to_40_kb_beside_the_bare_captures(samples: Path) -> None:
    bare = captured_sizes(samples / "biopython" / "pubmed1.xml", "PubmedArticle")
    bare += captured_sizes(
        samples / "biocommons_eutils" / "efetch_pubmed_1234567.xml", "PubmedArticle"
    )
    assert all(3000 < b < 5000 for b in bare)  # no ReferenceList in any capture
    sizes = record_sizes(large_like(), "pubmed", "pubmed", 600)
    assert quantile(sizes, 0.1) > 5000 and quantile(sizes, 0.9) < 40_000
    assert 12_000 < statistics.mean(sizes) < 30_000  # ~21 KB a record on average [report]


def test_large_gene_records_run_from_kilobytes_to_the_captured_megabyte(samples: Path) -> None:
    (captured,) = captured_sizes(
        samples / "biocommons_eutils" / "efetch_gene_4747.xml", "Entrezgene"
    )
    sizes = record_sizes(large_like(genes=2000), "gene", "entrezgene", 2000)
    assert 10_000 < statistics.median(sizes) < 60_000
    assert captured / 2 < max(sizes) < captured * 1.2


def test_the_tiny_dataset_keeps_small_records() -> None:
    assert max(record_sizes(DatasetSpec(), "snp", "snp_exchangeset", 500)) < 1100
    catalog = Catalog(Dataset())
    for uid in list(catalog.ds.uids("pubmed"))[:300]:
        text = catalog.efetch("pubmed", "pubmed", uid) or ""
        assert 'IdType="doi"' not in text and "<MeshHeadingList>" not in text


def test_snp_bulk_says_the_same_in_efetch_and_esummary() -> None:
    catalog = Catalog(Dataset(large_like()))
    checked = bulky = 0
    for uid in list(catalog.ds.uids("snp"))[:300]:
        snp = catalog.records.snp(uid)
        nodes = catalog.summary_v2("snp", uid)
        if snp is None or nodes is None:
            continue
        text = catalog.efetch("snp_exchangeset", "snp", uid)
        assert text == f'<DocumentSummary uid="{uid}">{compact(nodes)}</DocumentSummary>\n'
        bulky += text != snp_exchangeset_record(snp) and nodes != snp_nodes(snp)
        checked += 1
    assert checked > 250 and bulky > 0.9 * checked


# -- the knobs ----------------------------------------------------------------------------------
async def _job_answers(spec: DatasetSpec) -> tuple[bytes, bytes, list[tuple[str, str, str]], int]:
    """elink gene->snp, its History count and a 200-record snp efetch page of it, by loopback."""
    async with (
        Emulator(EmulatorConfig(), Dataset(spec)) as emu,
        aiohttp.ClientSession() as s,
    ):
        genes = [g for g in emu.state.dataset.uids("gene")][:40]
        form = {"dbfrom": "gene", "db": "snp", "id": ",".join(map(str, genes))}
        async with s.post(emu.base_url + "elink.fcgi", data=form) as r:
            links = await r.read()
        form |= {"cmd": "neighbor_history"}
        async with s.post(emu.base_url + "elink.fcgi", data=form) as r:
            history = await r.read()
        root = etree.fromstring(history, SAFE)
        webenv, key = root.findtext(".//WebEnv"), root.findtext(".//QueryKey")
        params = {"db": "snp", "WebEnv": webenv or "", "query_key": key or ""}
        async with s.get(emu.base_url + "esearch.fcgi", params=params | {"rettype": "count"}) as r:
            count = await r.read()
        async with s.get(emu.base_url + "efetch.fcgi", params=params | {"retmax": "200"}) as r:
            page = await r.read()
    fields = [
        (
            rec.uid,
            rec.findtext("CHRPOS"),
            ",".join(
                e.text or "" for e in rec.element.iter() if etree.QName(e).localname == "GENE_ID"
            ),
        )
        for rec in parse_bytes(page)
        if isinstance(rec, Record) and rec.element is not None
    ]
    return links, count, fields, len(page)


async def test_record_scale_and_bytes_change_sizes_but_not_ids_links_or_counts() -> None:
    minimal = await _job_answers(large_like(record_scale=0.0))
    natural = await _job_answers(large_like())
    filled = await _job_answers(large_like(record_bytes=21_000))
    assert minimal[:3] == natural[:3] == filled[:3]  # elink body, count, uids and fields
    assert len(minimal[2]) > 190  # a withdrawn SNP or two leave no record
    per_record = [answer[3] / 200 for answer in (minimal, natural, filled)]
    assert per_record[0] < 1100 < 1500 < per_record[1] < 2500
    assert per_record[2] == pytest.approx(21_000, rel=0.05)


def test_record_bytes_fills_genes_and_articles_too_and_never_shrinks() -> None:
    spec = large_like(record_bytes=21_000)
    for db, fmt in (("gene", "entrezgene"), ("pubmed", "pubmed")):
        sizes = record_sizes(spec, db, fmt, 200)
        assert statistics.median(sizes) == pytest.approx(21_000, rel=0.05), db
    small = record_sizes(large_like(record_bytes=500), "snp", "snp_exchangeset", 100)
    assert small == record_sizes(large_like(record_scale=0.0), "snp", "snp_exchangeset", 100)


def test_serve_flags_and_yaml_keys_set_the_record_size(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--record-bytes", "21000", "--record-scale", "0"])
    config = config_from_args(args)
    assert (config.record_bytes, config.record_scale) == (21_000, 0.0)
    async_free = Emulator(config)  # builds its state (and dataset) without serving
    assert async_free.state.dataset.spec.record_bytes == 21_000
    yaml = tmp_path / "large21k.yaml"
    yaml.write_text("name: large21k\ngenes: 50\nrecord_bytes: 21000\nrecord_scale: 0.5\n")
    assert (load_spec(yaml).record_bytes, load_spec(yaml).record_scale) == (21_000, 0.5)
    variant = tmp_path / "large21k_based.yaml"
    variant.write_text("base: large\nname: large21k\nrecord_bytes: 21000\n")
    assert load_spec(variant) == dataclasses.replace(
        load_spec("large"), name="large21k", record_bytes=21_000
    )
    looped = tmp_path / "loop.yaml"
    looped.write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="at most"):
        load_spec(looped)
    with pytest.raises(ConfigError, match="0 or more"):
        config_from_args(parser.parse_args(["serve", "--record-bytes", "-1"]))
    with pytest.raises(ConfigError, match="0 or more"):
        sized(DatasetSpec(), record_scale=-0.5)


# -- latency grows with bytes -------------------------------------------------------------------
def test_a_page_of_big_records_takes_longer_by_its_bytes_over_the_bandwidth() -> None:
    model = LatencyModel(PRESETS["realistic"])
    small, big = 500 * 1_000, 500 * 21_000
    assert model.send_seconds(big) - model.send_seconds(small) == pytest.approx(
        (big - small) / MODELLED_BANDWIDTH
    )
    assert model.send_seconds(big) == pytest.approx(7.0)  # 10.5 MB at 1.5 MB/s
    assert LatencyModel(PRESETS["slow"], speedup=2).send_seconds(big) == pytest.approx(10.5)
    assert LatencyModel(PRESETS["zero"]).send_seconds(big) == 0.0
    assert LatencyModel(PRESETS["zero"]).bandwidth() == 0.0


async def test_the_pacer_waits_only_for_bytes_that_are_early() -> None:
    clock = HandClock()
    pacer = SendPacer(1_000_000.0, clock, clock.sleep)
    await pacer.wrote(500_000)
    clock.now += 2.0  # the writer was slow itself: these bytes are already late
    await pacer.wrote(500_000)
    await pacer.wrote(3_000_000)
    assert clock.slept == pytest.approx([0.5, 1.5])  # 4 MB at 1 MB/s: 4 s from the first


async def _timed_fetch(spec: DatasetSpec, endpoint: str) -> tuple[list[float], int]:
    clock = HandClock()
    config = EmulatorConfig(latency="realistic", rate_limit=False, seed=5)
    async with (
        Emulator(config, Dataset(spec), clock=clock, sleep=clock.sleep) as emu,
        aiohttp.ClientSession() as s,
    ):
        snps = [u for u in emu.state.dataset.uids("snp")][:500]
        form = {"db": "snp", "id": ",".join(map(str, snps))}
        async with s.post(emu.base_url + f"{endpoint}.fcgi", data=form) as r:
            assert r.status == 200
            body = await r.read()
    return clock.slept, len(body)


@pytest.mark.parametrize("endpoint", ["efetch", "esummary"])
async def test_an_answer_is_held_the_same_before_its_first_byte_then_sent_at_the_bandwidth(
    endpoint: str,
) -> None:
    small_slept, small_bytes = await _timed_fetch(large_like(record_scale=0.0), endpoint)
    big_slept, big_bytes = await _timed_fetch(large_like(record_bytes=5_000), endpoint)
    assert big_bytes > 4 * small_bytes > 1_000_000
    assert small_slept[0] == big_slept[0]  # the wait before the first byte ignores the size
    assert sum(big_slept[1:]) == pytest.approx(big_bytes / MODELLED_BANDWIDTH)
    assert sum(small_slept[1:]) == pytest.approx(small_bytes / MODELLED_BANDWIDTH)
    assert len(big_slept) > 3  # spread over the body as it streams, not one wait up front


def test_pages_of_big_records_stream_in_smaller_chunks() -> None:
    """A rendered chunk is held while it streams: it stays near 2 MB, not 100 records whatever
    their size."""

    def chunks(spec: DatasetSpec, db: str) -> list[int]:
        state = build_state(EmulatorConfig(), Dataset(spec))
        uids = [u for u in state.dataset.uids(db) if state.dataset.index(db, u) is not None]
        ids = ",".join(map(str, uids[:300]))
        page, _ = efetch_body(state, Params(MultiDict({"db": db, "id": ids, "retmode": "xml"})))
        assert isinstance(page, RecordPage)
        return [len(s) for s in page.slices()]

    assert chunks(large_like(), "snp") == [100, 100, 100]
    assert chunks(large_like(record_bytes=21_000), "snp") == [95, 95, 95, 15]
    assert set(chunks(large_like(), "gene")) == {10}  # Entrezgene records reach ~1 MB
