"""A History entry's page size is planned from the bytes a record is expected to hold: gene
records of ~100 KB are not fetched 500 to a page, SNP docsums of ~2 KB still are, the output is
the same as with small or large pages, and the size is kept so a run killed in the middle
resumes paging alike."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harvester.config import MB, JobConfig
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.requestlog import LogEntry, pages_asked_twice, read_log
from harvester.emulator.spec import load_spec
from harvester.workflow.page_plan import MIN_PAGE, PAGE_BYTES, planned_page_size
from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import make_job, read_jsonl

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


def pubmed_gene_job(tmp: Path, dataset: Path, **overrides: Any) -> JobConfig:
    pubmed = list(Dataset(load_spec(dataset)).uids("pubmed"))
    return make_job(
        tmp,
        pubmed,
        dbfrom="pubmed",
        db="gene",
        linkname="pubmed_gene",
        fields=GENE_FIELDS,
        elink_batch=250,
        job_dir=str(tmp / "job"),
        **overrides,
    )


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
