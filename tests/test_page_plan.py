"""A History entry's page size is planned from the bytes a record is expected to hold: gene
records of ~100 KB are not fetched 500 to a page, SNP docsums of ~2 KB still are, the output is
the same as with small or large pages, and the size is kept so a run killed in the middle
resumes paging alike."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from harvester.config import MB, JobConfig, job_from_mapping
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.requestlog import LogEntry, pages_asked_twice, read_log
from harvester.emulator.spec import load_spec
from harvester.stats import Stats
from harvester.workflow.history import OpenEntries
from harvester.workflow.page_plan import MIN_PAGE, PAGE_BYTES, planned_page_size
from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.scheduler import Scheduler
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import job_mapping, make_job, read_jsonl
from tests.processes import reaped, served, start_run

GENE_FIELDS = {
    "GENE_ID": "Entrezgene_track-info/Gene-track/Gene-track_geneid",
    "SYMBOL": "Entrezgene_gene/Gene-ref/Gene-ref_locus",
}
HEAVY_GENES = """\
name: heavy-genes
seed: 7
genes: 260
gene_pubmed:
  degree: {median: 3, sigma: 0.5, zero_fraction: 0.0, max: 10}
  window: 2
gene_comments: {median: 140, sigma: 0.1, zero_fraction: 0.0, max: 200}
"""
"""Genes whose Entrezgene records are ~100 KB each (140 GeneRIFs of ~700 bytes)."""


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dataset") / "heavy.yaml"
    path.write_text(HEAVY_GENES)
    return path


def pubmed_gene_mapping(tmp: Path, dataset: Path, **overrides: Any) -> dict[str, Any]:
    """Every PubMed id of `dataset` -> its genes' Entrezgene records (~250 genes)."""
    pubmed = list(Dataset(load_spec(dataset)).uids("pubmed"))
    data = job_mapping(
        tmp,
        pubmed,
        dbfrom="pubmed",
        db="gene",
        linkname="pubmed_gene",
        elink_batch=250,
        job_dir=str(tmp / "job"),
        **overrides,
    )
    data["fields"] = GENE_FIELDS  # in place of the gene -> snp job's
    return data


def pubmed_gene_job(tmp: Path, dataset: Path, **overrides: Any) -> JobConfig:
    return job_from_mapping(pubmed_gene_mapping(tmp, dataset, **overrides), base_dir=tmp)


def run(job: JobConfig, dataset: Path, log: Path) -> bytes:
    """The job's output, byte for byte, run on the embedded emulator serving `dataset`."""
    options = RunOptions(quiet=True, emulator=EmulatorConfig(dataset=dataset, request_log=log))
    asyncio.run(run_job(job, options))
    return job.output.path.read_bytes()


def efetch_pages(log: Path) -> list[LogEntry]:
    return [e for e in read_log(log) if e.endpoint == "efetch" and e.page is not None]


def entry_page_sizes(job: JobConfig) -> list[int | None]:
    with sqlite3.connect(job.job_dir / STORE_NAME) as db:
        return [r[0] for r in db.execute("SELECT page_size FROM entries ORDER BY entry")]


# -- the plan ---------------------------------------------------------------------------------
def test_large_records_get_pages_of_about_8_mb_and_small_ones_the_job_size(tmp_path: Path) -> None:
    gene = make_job(tmp_path, db="gene", linkname="gene_gene", fields=GENE_FIELDS)
    assert planned_page_size(gene, None) == PAGE_BYTES // 72_000  # the prior: ~72 KB a record
    assert planned_page_size(gene, 100_000) == 80  # observed this run
    assert planned_page_size(gene, 1_000_000) == MIN_PAGE  # never below it
    assert planned_page_size(gene, 2_000) == 500  # the job's size is the upper bound
    snp = make_job(tmp_path)
    assert planned_page_size(snp, None) == 500  # ~2 KB SNP docsums fill pages as before


def test_a_page_size_the_job_sets_is_kept_and_a_small_budget_gets_smaller_pages(
    tmp_path: Path,
) -> None:
    gene = make_job(tmp_path, db="gene", linkname="gene_gene", fields=GENE_FIELDS)
    assert not gene.fetch.page_size_set
    explicit = make_job(
        tmp_path, db="gene", linkname="gene_gene", fields=GENE_FIELDS, fetch={"page_size": 500}
    )
    assert explicit.fetch.page_size_set
    assert planned_page_size(explicit, 1_000_000) == 500
    small = replace(gene, fetch=replace(gene.fetch, memory_mb=16))  # 2 MB a page
    assert planned_page_size(small, 50_000) == 16 * MB // 8 // 50_000


# -- against the emulator ---------------------------------------------------------------------
def test_heavy_gene_records_are_paged_below_500_with_the_output_of_small_and_large_pages(
    tmp_path: Path, heavy: Path
) -> None:
    planned_job = pubmed_gene_job(tmp_path / "planned", heavy)
    planned = run(planned_job, heavy, tmp_path / "planned.log")
    sizes = entry_page_sizes(planned_job)
    assert sizes and all(s is not None and MIN_PAGE <= s < 500 for s in sizes), sizes
    asked = efetch_pages(tmp_path / "planned.log")
    assert len(asked) > 1  # the ~250 genes would fit one page of 500
    assert pages_asked_twice(read_log(tmp_path / "planned.log")) == 0

    small_job = pubmed_gene_job(tmp_path / "small", heavy, fetch={"page_size": 20})
    large_job = pubmed_gene_job(tmp_path / "large", heavy, fetch={"page_size": 500})
    assert run(small_job, heavy, tmp_path / "small.log") == planned
    assert run(large_job, heavy, tmp_path / "large.log") == planned
    assert entry_page_sizes(large_job) == [500] * len(entry_page_sizes(large_job))
    assert len(efetch_pages(tmp_path / "large.log")) < len(asked)
    assert len(read_jsonl(planned_job.output.path)) > 200


def test_snp_docsums_are_still_paged_500_at_a_time(tmp_path: Path) -> None:
    job = make_job(tmp_path, [3718, 7157], job_dir=str(tmp_path / "job"))
    asyncio.run(run_job(job, RunOptions(quiet=True)))
    assert set(entry_page_sizes(job)) <= {500}
    assert entry_page_sizes(job)


# -- resuming ---------------------------------------------------------------------------------
def test_a_run_killed_mid_paging_resumes_at_the_same_page_size_asking_no_done_page_again(
    tmp_path: Path, heavy: Path
) -> None:
    """SIGKILL once some pages are in (pages of 20: ~100 KB records, a 1 MB share of an 8 MB
    budget); the rerun keeps the entry's size, asks none of the done pages again and writes
    the output of an uninterrupted run."""
    reference = pubmed_gene_job(tmp_path / "whole", heavy, fetch={"page_size": 20})
    expected = run(reference, heavy, tmp_path / "whole.log")
    log = tmp_path / "requests.jsonl"
    serving = ("--dataset", str(heavy), "--request-log", str(log), "--no-rate-limit")
    with served(*serving) as url:
        job_file = tmp_path / "job.yaml"
        mapping = pubmed_gene_mapping(
            tmp_path, heavy, fetch={"memory_mb": 8}, endpoint=url, rate=8, concurrency=1
        )
        job_file.write_text(yaml.safe_dump(mapping))
        store = tmp_path / "job" / STORE_NAME
        first = start_run(job_file)
        with reaped(first):
            while first.poll() is None and _done_pages(store) < 3:
                time.sleep(0.01)  # polling for progress, not timing anything
            assert first.poll() is None, "the run ended before it could be killed"
            first.send_signal(signal.SIGKILL)
            first.wait()
        done = _done_page_names(store)
        sizes = dict(_sizes(store))
        assert len(done) >= 3 and set(sizes.values()) == {MIN_PAGE}
        second = start_run(job_file)
        with reaped(second):
            _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
    assert dict(_sizes(store)) | sizes == dict(_sizes(store))  # the sizes were kept
    answered = Counter(
        e.page for e in read_log(log) if e.endpoint == "efetch" and e.page and e.status == 200
    )
    assert done <= set(answered) and all(answered[page] == 1 for page in done)  # none again
    # a page NCBI answered while the kill landed, before its records were committed, is not
    # done: the rerun asks it once more (that once only)
    assert max(answered.values()) <= 2
    assert all(int(page.rsplit("@", 1)[1]) % MIN_PAGE == 0 for page in answered)
    assert (tmp_path / "out.jsonl").read_bytes() == expected


def _done_pages(store: Path) -> int:
    if not store.exists():
        return 0
    with contextlib.closing(sqlite3.connect(store, timeout=5)) as db:
        try:
            return int(db.execute("SELECT count(*) FROM pages").fetchone()[0])
        except sqlite3.OperationalError:  # not made yet
            return 0


def _done_page_names(store: Path) -> set[str]:
    """The done pages as the request log names them: WebEnv#query_key@retstart."""
    with contextlib.closing(sqlite3.connect(store)) as db:
        rows = db.execute(
            "SELECT e.webenv, e.query_key, p.retstart FROM pages p JOIN entries e USING(entry)"
        )
        return {f"{webenv}#{key}@{retstart}" for webenv, key, retstart in rows}


def _sizes(store: Path) -> list[tuple[int, int | None]]:
    with contextlib.closing(sqlite3.connect(store)) as db:
        return list(db.execute("SELECT entry, page_size FROM entries"))


def test_an_older_store_pages_its_paged_entries_at_the_job_size_and_plans_the_others(
    tmp_path: Path,
) -> None:
    """A store made before entries planned their pages gets the column; an entry with done
    pages (at the job's size, as it was paged) keeps that size, a fresh one is planned."""
    path = tmp_path / "state.sqlite"
    store = Store(path)
    store.initialise("hash", [1, 2], batch=1)
    store.commit_links(0, {}, [(1, 0, 0, 10, None)])
    store.commit_links(1, {}, [(2, 0, 0, 11, None)])
    store.add_entries([(0, 0, "W", "1", 1), (1, 0, "W", "2", 1)])
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("ALTER TABLE entries DROP COLUMN page_size")
        db.execute("INSERT INTO pages VALUES(1, 0)")  # entry 1 paged by the older run
    store = Store(path)
    try:
        assert [e.page_size for e in store.entries()] == [None, None]
        entries = OpenEntries(store, Scheduler(1, 500), 500, Stats(), plan=lambda: 111)
        paged, fresh = (entries.sized(e) for e in store.entries())
        assert (paged.page_size, fresh.page_size) == (500, 111)
        assert [e.page_size for e in store.entries()] == [500, 111]  # kept for the next run
    finally:
        store.close()
