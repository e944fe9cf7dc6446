"""Targets fetched once per job (issue 26): a chunk's new targets too few to fill a page are
pooled across chunks and put on the History server by one epost, fetched in full pages with no
size check; the pool survives a kill (it is the store's pending targets on no entry)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import yaml
from harvest_helpers import TINY, job_mapping, linked_chunks, read_jsonl
from processes import child_env, reaped, run_command

from harvester.config import job_from_mapping, load_job
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import EmulatorThread
from harvester.workflow.plan import page_count
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job

GENE_FIELDS = {"NAME": "Entrezgene_gene/Gene-ref/Gene-ref_locus"}


def _linked_snps() -> list[int]:
    """The tiny dataset's SNPs that genes link to, ascending: each links back to few genes,
    shared by many SNPs (the issue's snp -> gene job)."""
    snps = {snp for gene in TINY.uids("gene") for snp, *_ in TINY.links("gene_snp", gene)}
    return sorted(snps)


SNPS = _linked_snps()[:2670]


def _snp_gene(tmp: Path, page_size: int, batch: int, **overrides: Any) -> dict[str, Any]:
    data = job_mapping(tmp, SNPS, dbfrom="snp", db="gene", linkname="snp_gene", **overrides)
    data["fields"] = GENE_FIELDS
    return {**data, "fetch": {"page_size": page_size}, "elink_batch": batch}


def _run(tmp: Path, page_size: int, batch: int, log: Path) -> tuple[dict[str, Any], bytes]:
    tmp.mkdir(exist_ok=True)
    job = job_from_mapping(_snp_gene(tmp, page_size, batch), base_dir=tmp)
    options = RunOptions(quiet=True, emulator=EmulatorConfig(request_log=log))
    summary = asyncio.run(run_job(job, options))
    return summary, job.output.path.read_bytes()


def _endpoints(log: Path) -> Counter[str]:
    return Counter(orjson.loads(line)["endpoint"] for line in log.read_bytes().splitlines())


def _assert_links_as_the_dataset_says(output: Path) -> None:
    rows = read_jsonl(output)
    truth = TINY.ground_truth("snp_gene", SNPS)
    assert [int(row["source"]) for row in rows] == SNPS
    for row in rows:
        links = truth[int(row["source"])]
        assert [int(link["id"]) for link in row["links"]] == [g.target for g in links]
        for got, want in zip(row["links"], links, strict=True):
            assert (got["record"] is not None) == want.has_record, want.target


def test_snp_to_gene_posts_its_targets_once_and_fetches_them_in_full_pages(tmp_path: Path) -> None:
    """2,670 SNPs in 27 chunks link to 150 genes, a few new ones per chunk: one epost and one
    page for all of them (it was 27 size checks, 19 eposts and 23 pages), the same output as
    with pages and chunks so small that most chunks post on their own."""
    big, small = tmp_path / "big", tmp_path / "small"
    summary, output = _run(big, 500, 100, big / "requests.jsonl")
    sent = _endpoints(big / "requests.jsonl")
    chunks, targets = -(-len(SNPS) // 100), summary["counts"]["targets"]
    assert 100 < targets < 500
    assert sent["epost"] == 1 and sent["esearch"] == 0
    assert sent["efetch"] == page_count(targets, 500)
    assert sent["elink"] <= chunks + 1  # the first chunk's neighbor_history, sent blind
    assert sum(sent.values()) <= 35, sent
    assert summary["floor_requests"] == chunks + 1 + page_count(targets, 500)
    _assert_links_as_the_dataset_says(big / "out.jsonl")
    _, small_output = _run(small, 7, 13, small / "requests.jsonl")
    assert small_output == output


def test_gene_to_snp_chunks_that_fill_pages_keep_their_neighbor_history_entries(
    tmp_path: Path,
) -> None:
    """Chunks of genes bring hundreds of new SNPs each: their own History entries (checked),
    and no more requests than a chunk's elink, neighbor_history, check and pages."""
    genes = list(TINY.uids("gene"))[:200]
    data = job_mapping(tmp_path, genes, fetch={"page_size": 100}, elink_batch=50)
    job = job_from_mapping(data, base_dir=tmp_path)
    log = tmp_path / "requests.jsonl"
    summary = asyncio.run(
        run_job(job, RunOptions(quiet=True, emulator=EmulatorConfig(request_log=log)))
    )
    sent = _endpoints(log)
    with sqlite3.connect(job.job_dir / STORE_NAME) as db:
        (by_elink,) = db.execute("SELECT count(*) FROM entries WHERE link IS NOT NULL").fetchone()
    assert by_elink > 0 and sent["esearch"] == by_elink
    assert sum(sent.values()) - sent["einfo"] <= summary["floor_requests"] + 8, sent


def _unposted(store: Path) -> tuple[int, int]:
    """(pending targets on no History entry, entries) in a store."""
    with sqlite3.connect(store) as db:
        (pooled,) = db.execute(
            "SELECT count(*) FROM targets WHERE entry IS NULL AND state=0"
        ).fetchone()
        (entries,) = db.execute("SELECT count(*) FROM entries").fetchone()
    return pooled, entries


def test_a_kill_between_pooling_and_posting_posts_the_pool_on_resume(tmp_path: Path) -> None:
    """SIGKILL while chunks are linked and their targets pooled, none posted yet: the pool is
    in the store (pending targets on no entry), and the resumed run posts and fetches it,
    ending in the clean run's bytes."""
    _, clean = _run(tmp_path / "clean", 500, 100, tmp_path / "clean.jsonl")
    with EmulatorThread(EmulatorConfig()) as emu:
        data = _snp_gene(tmp_path, 500, 100, endpoint=emu.base_url, rate=10, concurrency=2)
        job_file = tmp_path / "job.yaml"
        job_file.write_text(yaml.safe_dump(data))
        store = load_job(job_file).job_dir / STORE_NAME
        child = subprocess.Popen(run_command(job_file), env=child_env(), stderr=subprocess.PIPE)
        with reaped(child) as (proc,):
            deadline = time.monotonic() + 60
            while proc.poll() is None and linked_chunks(store) < 3:
                assert time.monotonic() < deadline, "the run linked nothing for a minute"
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL
        assert 3 <= linked_chunks(store) < 27
        pooled, entries = _unposted(store)
        assert pooled > 0 and entries <= 1  # pooled, not posted (an entry: chunk 0's, blind)
        resumed = load_job(job_file, {"rate": 1000})
        asyncio.run(run_job(resumed, RunOptions(quiet=True)))
    assert resumed.output.path.read_bytes() == clean
    assert _unposted(store)[0] == 0


def _short_pages(store: Path, log: Path) -> tuple[list[tuple[int, int]], list[str]]:
    """The pooled entries as (targets, page size), in the order posted, and the pages the
    request log shows asked of them that hold fewer records than their entry's page size."""
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT webenv, query_key, expected, page_size FROM entries WHERE link IS NULL "
            "ORDER BY entry"
        ).fetchall()
    sizes = {f"{w}#{k}": (n, size) for w, k, n, size in rows}
    short = []
    for line in log.read_bytes().splitlines():
        page = orjson.loads(line).get("page")
        if page and page.split("@")[0] in sizes:
            targets, size = sizes[page.split("@")[0]]
            if int(page.split("@")[1]) + size > targets:
                short.append(page)
    return [(n, size) for _, _, n, size in rows], short


def test_pooled_posts_are_cut_in_whole_pages_of_the_planned_size(tmp_path: Path) -> None:
    """gene -> pubmed with a budget of 8 MB: before any page is in, a PubMed page is planned
    at ~1 MB of ~21 KB articles (49 records), not the job's 500. Chunks of 20 genes pool their
    articles, posted in whole pages of the size planned when each post is cut, its entry paged
    at that size: no page of a pooled entry is short but the last of the job's."""
    genes = list(TINY.uids("gene"))
    data = job_mapping(tmp_path, genes, db="pubmed", linkname="gene_pubmed", fetch={"memory_mb": 8})
    data = {**data, "fields": {"PMID": "MedlineCitation/PMID"}, "elink_batch": 20}
    job = job_from_mapping(data, base_dir=tmp_path)
    log = tmp_path / "requests.jsonl"
    summary = asyncio.run(
        run_job(job, RunOptions(quiet=True, emulator=EmulatorConfig(request_log=log)))
    )
    posted, short = _short_pages(job.job_dir / STORE_NAME, log)
    targets = summary["counts"]["targets"]
    assert targets > 500 and 1 < len(posted) <= page_count(targets, 500)  # eposts as before
    assert any(size < 500 for _, size in posted)
    assert all(n % size == 0 for n, size in posted[:-1])
    assert len(short) <= 1
