"""The harvest end to end against the emulator: whole outputs compared with ground truth for
several jobs, page sizes and batch sizes, with and without faults."""

from __future__ import annotations

import csv
import sqlite3

import orjson
import pytest
from harvest_helpers import TINY, assert_matches_ground_truth, make_job, read_jsonl

from harvester.emulator.config import EmulatorConfig
from harvester.errors import StoreError
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job

ALL_GENES = [3718, 7157, 672, 653635] + [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)]
SOME_GENES = ALL_GENES[:100]
"""Where small pages or batches are the point, not the job's size: still dozens of batches,
pages and History entries, and withdrawn SNPs among the targets."""


async def test_seed_jak3_example_yields_the_three_snps_with_the_seeds_fields(tmp_path):
    job = make_job(tmp_path, [3718])
    summary = await run_job(job, RunOptions(quiet=True))
    rows = read_jsonl(job.output.path)
    assert [(link["id"], link["record"]) for link in rows[0]["links"]] == [
        (
            "867174",
            {
                "SNP_ID": "867174",
                "CHRPOS": "19:17813929",
                "GENE": "JAK3",
                "FXN_CLASS": "intron",
                "SNP_CLASS": "snp",
                "TAX_ID": "9606",
            },
        ),
        (
            "11888",
            {
                "SNP_ID": "11888",
                "CHRPOS": "19:17796625",
                "GENE": "JAK3",
                "FXN_CLASS": "locus-region",
                "SNP_CLASS": "snp",
                "TAX_ID": "9606",
            },
        ),
        (
            "3008",
            {
                "SNP_ID": "3008",
                "CHRPOS": "19:17798428",
                "GENE": "JAK3",
                "FXN_CLASS": "mrna-utr",
                "SNP_CLASS": "snp",
                "TAX_ID": "9606",
            },
        ),
    ]
    assert summary["counts"]["targets_fetched"] == 3
    assert summary["history_size_mismatches"] == 0


@pytest.mark.parametrize(
    ("page_size", "batch", "genes"),
    [(500, 100, ALL_GENES), (7, 13, SOME_GENES), (50, 1, SOME_GENES)],
    ids=["500-100-all", "7-13-some", "50-1-some"],
)
async def test_whole_output_matches_ground_truth(tmp_path, page_size, batch, genes):
    sources = [*genes, 99_999_999]  # plus one id the dataset does not have
    job = make_job(tmp_path, sources, fetch={"page_size": page_size}, elink_batch=batch)
    summary = await run_job(job, RunOptions(quiet=True))
    assert_matches_ground_truth(read_jsonl(job.output.path), sources)
    counts = summary["counts"]
    assert counts["targets_fetched"] + counts["targets_missing"] == counts["targets"]
    assert counts["targets_missing"] > 0  # the tiny dataset withdraws some SNPs
    # pages placed in their entries name the ids they lacked before the entry is done; none
    # of those may be an id with a record (that would be a page placed wrongly)
    assert 0 < summary["page_gaps_placed"] <= counts["targets_missing"]


async def test_faults_change_nothing_in_the_output(tmp_path, quick_retries):
    clean = make_job(tmp_path / "clean", ALL_GENES, fetch={"page_size": 100})
    await run_job(clean, RunOptions(quiet=True))
    faulty = make_job(tmp_path / "faulty", ALL_GENES, fetch={"page_size": 100})
    summary = await run_job(
        faulty,
        RunOptions(
            quiet=True, emulator=EmulatorConfig(faults="mixed:0.08", seed=11, stall_seconds=0.0)
        ),
    )
    assert faulty.output.path.read_bytes() == clean.output.path.read_bytes()
    assert sum(summary["retries"].values()) > 0


async def test_shared_targets_are_fetched_once(tmp_path):
    pmids = [TINY.maps["pubmed"].uid(i) for i in range(0, 400, 3)]
    job = make_job(
        tmp_path,
        pmids,
        dbfrom="pubmed",
        db="gene",
        linkname="pubmed_gene",
        fields={"NAME": "Entrezgene_gene/Gene-ref/Gene-ref_locus"},
        fetch={"page_size": 20},
        elink_batch=10,
    )
    summary = await run_job(job, RunOptions(quiet=True))
    rows = read_jsonl(job.output.path)
    targets = {link["id"] for row in rows for link in row["links"]}
    links = sum(len(row["links"]) for row in rows)
    assert links > len(targets)  # genes really are shared between articles
    assert summary["counts"]["targets"] == len(targets)
    assert summary["records_fetched_this_run"] == len(targets)
    for row in rows:
        truth = [t for t, _ in TINY.links("pubmed_gene", int(row["source"]))]
        assert [int(link["id"]) for link in row["links"]] == truth
        for link in row["links"]:
            gene = TINY.maps["gene"].index(int(link["id"]))
            assert (
                link["record"]["NAME"]
                .lower()
                .startswith(
                    (
                        "znf",
                        "slc",
                        "krt",
                        "or",
                        "tmem",
                        "ccdc",
                        "fam",
                        "ank",
                        "col",
                        "rpl",
                        "abc",
                        "cdh",
                        "pcdh",
                        "wdr",
                        "lrrc",
                        "klhl",
                    )
                )
            )
            assert gene is not None


async def test_esummary_with_scores_and_tsv_output(tmp_path):
    job = make_job(
        tmp_path,
        [12345678],
        dbfrom="pubmed",
        db="gene",
        linkname="pubmed_gene",
        cmd="neighbor_score",
        fetch={"via": "esummary"},
        fields={"NAME": "Name", "DESCRIPTION": "Description"},
        output={"path": str(tmp_path / "out.tsv")},
    )
    await run_job(job, RunOptions(quiet=True))
    with job.output.path.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [(r["target"], r["score"], r["NAME"]) for r in rows] == [
        ("7157", "1000", "TP53"),
        ("672", "800", "BRCA1"),
    ]


async def test_a_changed_job_is_refused_and_restart_starts_over(tmp_path):
    job = make_job(tmp_path, [3718])
    await run_job(job, RunOptions(quiet=True))
    changed = make_job(tmp_path, [3718, 7157])
    with pytest.raises(StoreError, match="--restart"):
        await run_job(changed, RunOptions(quiet=True))
    summary = await run_job(changed, RunOptions(quiet=True, restart=True))
    assert summary["counts"]["sources"] == 2


async def test_a_finished_job_run_again_sends_nothing_and_writes_the_same(tmp_path):
    job = make_job(tmp_path, ALL_GENES[:40])
    await run_job(job, RunOptions(quiet=True))
    first = job.output.path.read_bytes()
    summary = await run_job(job, RunOptions(quiet=True))
    assert summary["requests_total"] == 0
    assert job.output.path.read_bytes() == first


async def test_size_checks_wait_for_queued_pages_and_every_neighbor_history_entry_gets_one(
    tmp_path,
):
    log = tmp_path / "requests.jsonl"
    job = make_job(tmp_path, SOME_GENES, fetch={"page_size": 5}, elink_batch=8)
    summary = await run_job(job, RunOptions(quiet=True, emulator=EmulatorConfig(request_log=log)))
    assert_matches_ground_truth(read_jsonl(job.output.path), SOME_GENES)
    sent = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    endpoints = [e["endpoint"] for e in sorted(sent, key=lambda e: e["t"])]
    pages = [i for i, e in enumerate(endpoints) if e == "efetch"]
    checks = [i for i, e in enumerate(endpoints) if e == "esearch"]
    with sqlite3.connect(job.job_dir / STORE_NAME) as db:
        (by_elink,) = db.execute("SELECT count(*) FROM entries WHERE link IS NOT NULL").fetchone()
    assert summary["counts"]["entries"] > by_elink  # some targets were pooled and posted ...
    assert len(checks) == by_elink > 1  # ... and an epost's size is known: no check
    assert checks[0] > pages[0]  # the first entry's pages went out before its check
