"""Several link names per job, on the real emulator over loopback and the real store: every link
in the output carries its name, each name's History entry is size-checked on its own, and a
resumed job fetches again only what one name still lacks."""

from __future__ import annotations

import asyncio
import csv
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from harvest_helpers import TINY, read_jsonl

from harvester.cli import main
from harvester.config import JobConfig, load_job
from harvester.emulator.requestlog import read_log
from harvester.emulator.server import EmulatorConfig, EmulatorThread
from harvester.workflow.runner import RunOptions, run_job

JOBS = Path(__file__).resolve().parents[1] / "configs" / "jobs"
FAST = {"policy": "custom", "rate": 1000}


def example(name: str, tmp: Path, **overrides: object) -> JobConfig:
    """An example job of configs/jobs/, its output (and job directory) in `tmp`."""
    return load_job(
        JOBS / name, {"output.path": str(tmp / f"{Path(name).stem}.jsonl"), **FAST, **overrides}
    )


def links_by_name(row: dict[str, Any]) -> dict[str, list[int]]:
    by_name: dict[str, list[int]] = {}
    for link in row["links"]:
        by_name.setdefault(link["linkname"], []).append(int(link["id"]))
    return by_name


def assert_each_name_matches_the_dataset(job: JobConfig) -> list[dict[str, Any]]:
    rows = read_jsonl(job.output.path)
    sources = [int(i) for i in job.source.ids]
    assert [int(r["source"]) for r in rows] == sources
    for name in job.linknames:
        truth = TINY.ground_truth(name, sources)
        for row in rows:
            got = links_by_name(row).get(name, [])
            assert got == [link.target for link in truth[int(row["source"])]], (name, row["source"])
    return rows


def test_pubmed_job_with_three_link_names_labels_each_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = example("pubmed_citations.yaml", tmp_path)
    assert job.linknames == ("pubmed_pubmed", "pubmed_pubmed_citedin", "pubmed_pubmed_refs")
    summary = asyncio.run(run_job(job, RunOptions(quiet=True)))
    rows = assert_each_name_matches_the_dataset(job)
    names = [link["linkname"] for row in rows for link in row["links"]]
    assert summary["links_by_name"] == {name: names.count(name) for name in job.linknames}
    assert all(summary["links_by_name"].values())
    assert main(["status", str(job.job_dir)]) == 0
    shares = ", ".join(f"{k} {v}" for k, v in summary["links_by_name"].items())
    assert f"by name        {shares}\n" in capsys.readouterr().out
    assert all(link["record"] for row in rows for link in row["links"])
    tsv = example("pubmed_citations.yaml", tmp_path, **{"output.path": str(tmp_path / "c.tsv")})
    asyncio.run(run_job(tsv, RunOptions(quiet=True)))
    with tsv.output.path.open(newline="") as fh:
        table = list(csv.DictReader(fh, delimiter="\t"))
    pairs = {(r["source"], r["linkname"], r["target"]) for r in table}
    assert pairs == {
        (row["source"], link["linkname"], link["id"]) for row in rows for link in row["links"]
    }


def test_gene_to_nucleotide_runs_as_nuccore(tmp_path: Path) -> None:
    job = example("gene_nucleotide.yaml", tmp_path)
    assert (job.db, job.linknames) == ("nuccore", ("gene_nuccore",))
    summary = asyncio.run(run_job(job, RunOptions(quiet=True)))
    rows = assert_each_name_matches_the_dataset(job)
    assert summary["counts"]["links"] > 0
    assert {link["linkname"] for row in rows for link in row["links"]} == {"gene_nuccore"}


def test_each_name_gets_its_own_entry_and_size_check_and_resumes_alone(tmp_path: Path) -> None:
    """One paper cited by many and citing a few (11, 33 and 5 links), in pages of 5 so that
    each name's targets fill a page (fewer would be pooled into one epost): one History entry
    per name, each checked. Then one name's entry is left as a crash would leave it (open, no
    pages, no records): the resumed run fetches that entry's pages again and nothing of the
    other's."""
    log = tmp_path / "requests.jsonl"
    with EmulatorThread(EmulatorConfig(request_log=log)) as emu:
        job = load_job(
            JOBS / "pubmed_citations.yaml",
            {
                "output.path": str(tmp_path / "c.jsonl"),
                "endpoint": emu.base_url,
                "source.ids": [20000046],
                "fetch.page_size": 5,
                **FAST,
            },
        )
        asyncio.run(run_job(job, RunOptions(quiet=True)))
        clean = job.output.path.read_bytes()
        store = job.job_dir / "state.sqlite"
        with sqlite3.connect(store) as db:
            entries = db.execute(
                "SELECT link, query_key, expected, reported FROM entries"
            ).fetchall()
            assert sorted(e[0] for e in entries) == [0, 1, 2]  # one per name
            (webenv,) = {w for (w,) in db.execute("SELECT webenv FROM entries")}
            # elink was asked for every name to pubmed (no linkname: NCBI documents one name),
            # so the WebEnv holds a key per name the paper has links under, not just the three
            history = emu.emulator.state.history
            assert sum(1 for k in range(1, 20) if history.get(webenv, k)) > 3
            assert all(expected == reported for _, _, expected, reported in entries)
            (key,) = [e[1] for e in entries if e[0] == 2]  # pubmed_pubmed_refs
            db.execute("UPDATE entries SET state='open' WHERE link=2")
            db.execute("DELETE FROM pages WHERE entry IN (SELECT entry FROM entries WHERE link=2)")
            db.execute("DELETE FROM records WHERE uid IN (SELECT uid FROM targets WHERE link=2)")
            db.execute("UPDATE targets SET state=0 WHERE link=2")
        seen = len(read_log(log))
        job.output.path.unlink()
        asyncio.run(run_job(job, RunOptions(quiet=True)))
        again = read_log(log)[seen:]
    assert {e.endpoint for e in again} == {"esummary"}
    assert {e.page.split("@")[0].rpartition("#")[2] for e in again if e.page} == {key}
    assert job.output.path.read_bytes() == clean


@pytest.mark.parametrize(
    ("name", "links"),
    [
        ("pubmed_citations.yaml", "pubmed -> pubmed: pubmed_pubmed, pubmed_pubmed_citedin, "),
        ("gene_nucleotide.yaml", "gene -> nuccore: gene_nuccore (as the endpoint's einfo"),
    ],
)
def test_the_examples_plan_on_the_embedded_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, links: str
) -> None:
    assert main(["plan", str(JOBS / name), "--output", str(tmp_path / "out.jsonl")]) == 0
    assert f"links          {links}" in capsys.readouterr().out
    assert (tmp_path / "out.jsonl.harvest" / "einfo.json").is_file()
